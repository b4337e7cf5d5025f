"""The DR tool under the cases that broke its promises: the estate's own roles, a rejected login, a burst
after idle time, passwords in the servers' logs, transactions split by failback, big transactions, a lost
slot, the subscription's login after failback, and another database's subscription."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from dr import failover, localpg, replication
from dr.endpoint import Endpoint, connect, unreachable

from .conftest import PASSWORD
from .helpers import (
    MONITOR_PASSWORD,
    REPLICATION_PASSWORD,
    SCHEMA,
    app,
    count,
    env_for,
    estate_roles,
    replicated_pair,
    run_dr,
    wait_for,
)


def _schema_and_rows(pub: Endpoint) -> None:
    with connect(pub) as conn:
        conn.execute(SCHEMA)
        conn.execute("ALTER TABLE customers ADD COLUMN balance bigint NOT NULL DEFAULT 0")
        conn.execute("INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 20) g")
        conn.execute("INSERT INTO orders (customer_id, total) SELECT 1 + g % 20, g FROM generate_series(1, 40) g")


def test_setup_runs_with_the_roles_the_roles_job_creates(postgres_pair):
    publisher, subscriber = postgres_pair
    login, _ = estate_roles(publisher, subscriber)
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    _schema_and_rows(pub)
    env = env_for(pub, sub, REPLICATION_USER=login.user, REPLICATION_PASSWORD=REPLICATION_PASSWORD)
    result = run_dr("setup", "--wait", "30", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert count(sub, "dr.heartbeat") == 1 and count(sub, "orders") == 40
    with connect(sub) as conn:
        assert (
            conn.execute("SELECT subconninfo FROM pg_subscription WHERE subname = 'crm_subscription'")
            .fetchone()[0]
            .count("user='crm_replication'")
            == 1
        )


def test_the_lag_monitor_role_beats_and_reads_without_any_write_grant(postgres_pair):
    publisher, subscriber = postgres_pair
    login, monitor = estate_roles(publisher, subscriber)
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    _schema_and_rows(pub)
    replication.setup(pub, sub, replication_login=login, monitor_role="crm_monitor")
    sub_monitor = Endpoint(sub.host, sub.dbname, "crm_monitor", MONITOR_PASSWORD, sub.port, sub.sslmode)
    result = run_dr("lag", "--max-seconds", "5", "--json", env=env_for(monitor, sub_monitor))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["bound"] == "exact"
    with connect(monitor) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE dr.heartbeat SET seq = seq + 1")


def test_only_timeouts_refusals_and_no_route_are_unreachable():
    assert unreachable(
        'connection failed: connection to server at "10.0.0.1", port 5432 failed: Connection refused\n\tIs the server running'
    )
    assert unreachable("connection timeout expired")
    assert unreachable('connection to server at "h", port 5432 failed: No route to host')
    assert not unreachable('connection to server at "h", port 5432 failed: FATAL:  password authentication failed for user "crmadmin"')
    assert not unreachable('connection to server at "h", port 5432 failed: FATAL:  role "crm_app" is not permitted to log in')
    assert not unreachable("failed to resolve host 'rds.example': [Errno -2] Name or service not known")
    both = (
        'connection to server at "a" failed: Connection refused\nconnection to server at "b" failed: FATAL:  password authentication failed'
    )
    assert not unreachable(both)


def test_promote_stops_when_the_old_primary_rejects_the_login(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    rotated = Endpoint(pub.host, pub.dbname, pub.user, "Stale-" + PASSWORD, pub.port, pub.sslmode)
    result = run_dr("promote", env=env_for(rotated, sub), timeout=60)
    assert result.returncode == 2
    assert "answered but the connection" in result.stderr and "password authentication failed" in result.stderr
    assert "Stale-" not in result.stdout + result.stderr
    with connect(sub) as conn:  # nothing was done: the copy still subscribes, RDS keeps its role
        assert replication.subscription_exists(conn)
    with connect(app(pub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 1)")


def test_lag_stops_when_the_primary_rejects_the_login(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    rotated = Endpoint(pub.host, pub.dbname, pub.user, "Stale-" + PASSWORD, pub.port, pub.sslmode)
    result = run_dr("lag", "--max-seconds", "4", "--json", env=env_for(rotated, sub))
    assert result.returncode == 2 and "password authentication failed" in result.stderr and result.stdout == ""


def test_passwords_of_subscriptions_stay_out_of_both_servers_logs(postgres_pair, postgres_servers):
    if not postgres_servers[0].audited:
        pytest.skip("pgAudit is not installed (postgresql-15-pgaudit)")
    publisher, subscriber = postgres_pair
    login, _ = estate_roles(publisher, subscriber)
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    _schema_and_rows(pub)
    for endpoint in (pub, sub):
        with connect(endpoint) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgaudit")
    replication.setup(pub, sub, replication_login=login)
    with connect(sub) as conn:
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)
    failover.promote(sub, None)
    failover.failback_prepare(pub, sub, discard=True)
    failover.failback_switch(pub, sub, replication_login=login)
    with connect(pub) as conn:
        conn.execute("CREATE TABLE audit_probe (id int PRIMARY KEY)")
    logs = "".join((server.root / "log").read_text(errors="replace") for server in postgres_servers)
    assert "CREATE TABLE audit_probe" in logs  # pgAudit logs DDL text on these servers
    found = localpg.logged_passwords(list(postgres_servers), {"replication": REPLICATION_PASSWORD, "admin": PASSWORD})
    assert found == {server.root.name: [] for server in postgres_servers}


def test_passwords_of_subscriptions_stay_out_of_pg_stat_statements(postgres_pair, postgres_servers):
    """RDS preloads pg_stat_statements; its view keeps DDL text verbatim, and pg_monitor members read it."""
    publisher, subscriber = postgres_pair
    login, _ = estate_roles(publisher, subscriber)
    for server in postgres_servers:  # what the roles Job and earlier tests left is not this test's
        localpg.reset_tracked_statements(server)
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    _schema_and_rows(pub)
    replication.setup(pub, sub, replication_login=login)
    with connect(sub) as conn:
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)
    failover.promote(sub, None)
    failover.failback_prepare(pub, sub, discard=True)  # a subscription on RDS with the Cloud SQL admin's password
    failover.failback_switch(pub, sub, replication_login=login)
    tracked = {server.root.name: localpg.tracked_statements(server) for server in postgres_servers}
    assert all("ALTER ROLE" in text for text in tracked.values())  # it tracks DDL here (the fences)
    found = localpg.tracked_passwords(list(postgres_servers), {"replication": REPLICATION_PASSWORD, "admin": PASSWORD})
    assert found == {server.root.name: [] for server in postgres_servers}


def test_failback_recovers_the_old_primarys_transactions_whole(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(pub) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN balance bigint NOT NULL DEFAULT 0")
    with connect(sub) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN balance bigint NOT NULL DEFAULT 0")
    replication.beat(connect(pub))
    wait_for(lambda: count(sub, "dr.heartbeat", "seq >= 2") == 1)
    with connect(sub) as conn:
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)  # the cut
    with connect(app(pub)) as conn:  # the application's transactions after the cut: a balance and its order
        for customer, amount in ((3, 1030), (4, 1040)):
            with conn.transaction():
                conn.execute("UPDATE customers SET balance = balance + %s WHERE id = %s", (amount, customer))
                conn.execute("INSERT INTO orders (customer_id, total) VALUES (%s, %s)", (customer, amount))
    failover.promote(sub, None)
    with connect(app(sub)) as conn, conn.transaction():
        conn.execute("UPDATE customers SET balance = balance + 1005 WHERE id = 9")
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (9, 1005)")
    with connect(sub) as conn:  # the new primary beats: its heartbeat row is its own from now on
        replication.beat(conn)
    prepare = failover.failback_prepare(pub, sub)
    assert prepare.data["recovered_rows"] == 4
    with connect(sub) as conn:
        balances, totals = conn.execute(
            "SELECT (SELECT sum(balance) FROM customers), (SELECT sum(total) FROM orders WHERE total > 1000)"
        ).fetchone()
    assert balances == totals == 3075


def test_failback_stops_and_keeps_both_versions_when_a_row_changed_on_both_sides(postgres_pair, tmp_path):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(sub) as conn:
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)
    failover.promote(sub, None, margin=1)  # a margin too small for what the old primary does next
    with connect(app(pub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 111), (1, 112)")  # ids 101, 102 on RDS
    with connect(app(sub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (2, 221)")  # id 102 on the copy: taken twice
    record = tmp_path / "prepare.json"
    result = run_dr("failback", "prepare", "--record", str(record), env=env_for(pub, sub), timeout=120)
    assert result.returncode == 2 and "changed on both sides" in result.stderr
    changes = json.loads(record.read_text())["old_primary_changes"]["public.orders"]
    both = [r for r in changes["rows"] if r["copy"] is not None and r["old_primary"] is not None]
    assert [(r["key"], r["old_primary"]["total"], r["copy"]["total"]) for r in both] == [([102], 112, 221)]
    assert count(pub, "orders", "total IN (111, 112)") == 2  # RDS was not emptied
    assert count(sub, "orders", "total IN (111, 112)") == 0  # nothing half-applied on the copy
    again = run_dr("failback", "prepare", "--discard-old-primary-changes", env=env_for(pub, sub), timeout=180)
    assert again.returncode == 0, again.stderr


def test_lag_behind_a_transaction_longer_than_the_probe_timeout_is_a_lower_bound_from_the_oldest_unapplied_write(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    holder = psycopg.connect(**sub.params())
    holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")  # the apply worker waits behind this
    try:
        with connect(pub) as conn:
            conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 1)")
            blocked_at = time.monotonic()
            for _ in range(12):  # the heartbeat keeps beating meanwhile
                replication.beat(conn)
                time.sleep(0.1)
        result = run_dr("lag", "--timeout", "0.5", "--json", env=env_for(pub, sub))
        report = json.loads(result.stdout)
        waited = time.monotonic() - blocked_at
        assert report["bound"] == "at least" and report["seconds"] >= 1.2 > 0.5 and report["seconds"] <= waited
        assert report["ok"] is None  # no threshold given: no judgement
    finally:
        holder.rollback()
        holder.close()


def test_lag_with_a_beat_in_flight_is_not_read_as_the_interval_between_beats(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    time.sleep(1.5)  # the copy holds every beat; the newest is 1.5 s old
    holder = psycopg.connect(**sub.params())
    holder.execute("SELECT 1 FROM dr.heartbeat FOR UPDATE")  # the next beat waits a moment to be applied: in flight
    with connect(pub) as conn:
        replication.beat(conn)
    release = threading.Timer(0.3, holder.rollback)
    release.start()
    try:
        with connect(sub) as s, connect(pub) as p:
            lag = replication.measure_lag(s, p, probe_timeout_s=5)
    finally:
        release.join()
        holder.close()
    assert lag.seconds < 1.2 and lag.bound == "exact"  # the time the probe took, not the age of the older beat


def test_a_lost_slot_is_reported_with_the_command_that_reseeds_the_copy(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(sub) as conn:
        conn.execute("ALTER SUBSCRIPTION crm_subscription DISABLE")  # the copy stops reading
    try:
        with connect(pub) as conn:
            conn.execute("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("CREATE TABLE filler (id int PRIMARY KEY, pad text)")
            for _ in range(3):
                conn.execute(
                    "INSERT INTO filler SELECT g, repeat('x', 2000) FROM generate_series(1, 10000) g ON CONFLICT (id) DO UPDATE SET pad = excluded.pad"
                )
                conn.execute("SELECT pg_switch_wal()")
                conn.execute("CHECKPOINT")
            assert replication.slot_state(conn, "crm_slot")["wal_status"] == "lost"
            conn.execute("DROP TABLE filler")
        env = env_for(pub, sub)
        with connect(sub) as conn:
            conn.execute("ALTER SUBSCRIPTION crm_subscription ENABLE")
        status = run_dr("status", env=env)
        assert status.returncode == 1 and "python -m dr setup --reseed" in status.stderr
        lag = run_dr("lag", "--json", env=env)
        assert lag.returncode == 1 and any("re-seed" in p.lower() for p in json.loads(lag.stdout)["problems"])
        setup = run_dr("setup", env=env, timeout=60)
        assert setup.returncode == 2 and "python -m dr setup --reseed" in setup.stderr
        with connect(app(pub)) as conn:
            conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 7)")
        reseed = run_dr("setup", "--reseed", env=env, timeout=120)
        assert reseed.returncode == 0, reseed.stderr
        assert count(sub, "orders") == count(pub, "orders") == 101
    finally:
        with connect(pub) as conn:
            conn.execute("ALTER SYSTEM RESET max_slot_wal_keep_size")
            conn.execute("SELECT pg_reload_conf()")


def test_after_failback_the_subscription_signs_in_as_the_replication_role(postgres_pair):
    publisher, subscriber = postgres_pair
    login, _ = estate_roles(publisher, subscriber)
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    _schema_and_rows(pub)
    replication.setup(pub, sub, replication_login=login)
    with connect(sub) as conn:
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)
    failover.promote(sub, None)
    env = env_for(pub, sub, REPLICATION_USER=login.user, REPLICATION_PASSWORD=REPLICATION_PASSWORD)
    for phase in ("prepare", "switch"):
        result = run_dr("failback", phase, env=env, timeout=180)
        assert result.returncode == 0, result.stderr
    with connect(sub) as conn:
        conninfo = conn.execute("SELECT subconninfo FROM pg_subscription WHERE subname = 'crm_subscription'").fetchone()[0]
    assert "user='crm_replication'" in conninfo and "user='postgres'" not in conninfo


def test_setup_ignores_a_subscription_of_another_database_on_the_same_server(postgres_pair):
    publisher, subscriber = postgres_pair
    other = f"{subscriber.dbname}_other"
    with connect(subscriber.server.endpoint(dbname="postgres")) as conn:
        conn.execute(f'CREATE DATABASE "{other}"')
    with connect(subscriber.server.endpoint(dbname=other)) as conn:
        conn.execute(
            "CREATE SUBSCRIPTION crm_subscription CONNECTION 'host=127.0.0.1 port=1 dbname=x' PUBLICATION p WITH (connect = false)"
        )
    _pub, sub = replicated_pair(publisher, subscriber)  # setup into this database
    with connect(sub) as conn:
        assert replication.sync_states(conn) and set(replication.sync_states(conn).values()) == {"r"}
