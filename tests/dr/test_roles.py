"""The stacks' role script (components/postgres/roles.py) and `dr promote`'s grant, on real PostgreSQL 15."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from components.postgres.roles import roles_sql
from components.postgres.scram import scram_sha_256
from dr import failover, localpg, replication
from tests.helpers import HANG_TIMEOUT_S

APP_PASSWORD, REPLICATION_PASSWORD = "AppPassw0rdFromTheStack", "Replicati0nPasswordFromTheStack"


def run_script(server, script: str) -> None:
    """What the Job does: psql with the PG* and *_PASSWORD_VERIFIER environment, the script as a file."""
    admin = server.endpoint(sslmode="prefer")
    path = server.server.root / f"roles-{server.dbname}.sql"
    path.write_text(script)
    path.chmod(0o644)
    env = {
        **os.environ,
        "PGHOST": admin.host,
        "PGPORT": str(admin.port),
        "PGDATABASE": server.dbname,
        "PGUSER": admin.user,
        "PGPASSWORD": admin.password,
        "APP_PASSWORD_VERIFIER": scram_sha_256(APP_PASSWORD),
        "REPLICATION_PASSWORD_VERIFIER": scram_sha_256(REPLICATION_PASSWORD),
    }
    subprocess.run(
        [str(server.server.bin / "psql"), "--no-psqlrc", "--file", str(path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT_S,
    )


def as_role(server, user: str, password: str) -> psycopg.Connection:
    return replication.connect(server.endpoint(user=user, password=password, sslmode="prefer"))


@pytest.fixture
def pair(postgres_pair):
    publisher, subscriber = postgres_pair
    with replication.connect(publisher.endpoint()) as conn:
        # RDS ships this role; vanilla PostgreSQL does not (the servers live for the session: create it once)
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication') THEN CREATE ROLE rds_replication NOLOGIN; END IF; END $$"
        )
    return publisher, subscriber


def test_writer_roles_read_write_and_replication_select_only(pair):
    publisher, _ = pair
    script = roles_sql("read-write", publisher.dbname, "postgres", "crm_app", "crm_replication")
    run_script(publisher, script)
    run_script(publisher, script)  # idempotent
    with replication.connect(publisher.endpoint()) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text)")  # created by the admin after the roles
    with as_role(publisher, "crm_app", APP_PASSWORD) as conn:
        conn.execute("INSERT INTO customers (name) VALUES ('a')")
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY)")  # the application's migrations
    with as_role(publisher, "crm_replication", REPLICATION_PASSWORD) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        assert conn.execute("SELECT pg_has_role('crm_replication', 'rds_replication', 'MEMBER')").fetchone() == (True,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO customers (name) VALUES ('b')")


def test_reader_role_only_reads_until_promotion_grants_writes(pair):
    _, subscriber = pair
    script = roles_sql("read-only", subscriber.dbname, "postgres", "crm_app")
    run_script(subscriber, script)
    with replication.connect(subscriber.endpoint(sslmode="disable")) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text)")  # `dr setup` copies the schema as the admin
        conn.execute("INSERT INTO customers (name) VALUES ('replicated')")
    with as_role(subscriber, "crm_app", APP_PASSWORD) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO customers (name) VALUES ('diverging write')")

    with replication.connect(subscriber.endpoint(sslmode="disable")) as conn:
        replication.install_heartbeat(conn)  # `dr setup` brings the dr schema over with the rest
    failover.promote(subscriber.endpoint(sslmode="disable"), None, app_role="crm_app", margin=10)
    run_script(subscriber, script)  # a later `pulumi up` reruns the Job: writes stay granted
    with as_role(subscriber, "crm_app", APP_PASSWORD) as conn:
        assert conn.execute("INSERT INTO customers (name) VALUES ('after failover') RETURNING id").fetchone()[0] > 10


def test_the_script_sends_verifiers_so_no_password_reaches_the_server_or_its_statistics(pair):
    publisher, _ = pair
    run_script(publisher, roles_sql("read-write", publisher.dbname, "postgres", "crm_app", "crm_replication"))
    with replication.connect(publisher.endpoint()) as conn:
        stored = conn.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('crm_app', 'crm_replication')").fetchall()
    statements = localpg.tracked_statements(publisher.server)
    assert dict(stored) == {"crm_app": scram_sha_256(APP_PASSWORD), "crm_replication": scram_sha_256(REPLICATION_PASSWORD)}
    assert "PASSWORD" in statements.upper() and APP_PASSWORD not in statements and REPLICATION_PASSWORD not in statements
    with as_role(publisher, "crm_app", APP_PASSWORD) as conn:  # the verifier is PostgreSQL's own: the password signs in
        assert conn.execute("SELECT current_user").fetchone() == ("crm_app",)
