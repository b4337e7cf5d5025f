"""Two real PostgreSQL 15 servers on 127.0.0.1: a publisher with TLS (standing in for RDS) and a subscriber (Cloud SQL).

The servers start once per session; each test gets a fresh database on both (and a server a test
stopped is started again), so a test pays for two CREATE DATABASE, not two initdb.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from dr import localpg
from dr.endpoint import Endpoint, connect

PASSWORD = "s3cret-'quoted\\pw"
_numbers = itertools.count(1)


@dataclass
class TestServer:
    """One test's view of a session server: its own database, and stop() for "the primary is lost"."""

    server: localpg.Server
    dbname: str

    def endpoint(self, sslmode: str = "disable", password: str | None = None, user: str = "postgres") -> Endpoint:
        return self.server.endpoint(dbname=self.dbname, sslmode=sslmode, password=password, user=user)

    def stop(self) -> None:
        self.server.stop("fast")


# Tests on the servers are dealt, in turn, into this many pytest-xdist groups (`--dist loadgroup` keeps a group on
# one worker): each group's worker starts its own two servers, so a run starts at most two per group, and on a
# two-core machine both workers share the tests on the servers instead of one worker taking them all.
POSTGRES_GROUPS = 2


# First among the hooks: pytest-xdist reads the groups in its own hook, and this conftest registers before it when the
# command line names a file under tests/dr/.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    on_servers = (item for item in items if "postgres_servers" in getattr(item, "fixturenames", ()))
    for number, item in enumerate(on_servers):
        item.add_marker(pytest.mark.xdist_group(f"postgres-{number % POSTGRES_GROUPS}"))


ON_DISK = "CRM_TEST_POSTGRES_ON_DISK"
SERVERS_PARENT: list[Path | None] = [None]  # where this worker's servers were put (None: the temporary directory)


@pytest.fixture(scope="session")
def postgres_servers():
    bin_dir = localpg.bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 server binaries are missing; .ci/run installs postgresql-15")
        pytest.skip("PostgreSQL 15 server binaries are not installed (apt-get install postgresql-15)")
    servers = []
    try:
        # The estate's logging (pgAudit with DDL, where installed), so a test can search the servers' logs.
        # fsync off: these servers never outlive a crash of the machine, and every DROP DATABASE, checkpoint
        # and commit would otherwise wait for the disk.
        settings = {**localpg.audited(bin_dir), "fsync": "off"}
        # Their data in memory where the machine has room: the two CREATE DATABASE of every test were most of the
        # servers' CPU time on a disk. CRM_TEST_POSTGRES_ON_DISK=1 keeps them on disk (a container whose memory
        # limit the file system does not show).
        SERVERS_PARENT[0] = None if os.environ.get(ON_DISK) else localpg.memory_directory()
        servers.append(localpg.start(bin_dir, ssl=True, password=PASSWORD, settings=settings, parent=SERVERS_PARENT[0]))
        servers.append(localpg.start(bin_dir, password=PASSWORD, settings=settings, parent=SERVERS_PARENT[0]))
        for server in servers:
            server.audited = "pgaudit" in settings.get("shared_preload_libraries", "")
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.remove()


def _admin(server: localpg.Server):
    return connect(server.endpoint(dbname="postgres"))


def _reset(servers) -> None:
    for server in servers:
        if not server.running():
            server.start()
    for server in servers:
        with _admin(server) as conn:
            for (dbname,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'crm\\_%'").fetchall():
                with connect(server.endpoint(dbname=dbname)) as db:
                    for (sub,) in db.execute(
                        "SELECT subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()"
                    ).fetchall():
                        db.execute(f'ALTER SUBSCRIPTION "{sub}" DISABLE')
                        db.execute(f'ALTER SUBSCRIPTION "{sub}" SET (slot_name = NONE)')
                        db.execute(f'DROP SUBSCRIPTION "{sub}"')
    for server in servers:
        with _admin(server) as conn:
            conn.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL")
            for _ in range(50):
                slots = conn.execute("SELECT slot_name, active FROM pg_replication_slots").fetchall()
                for slot, active in slots:
                    if not active:
                        conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                if all(not active for _slot, active in slots):
                    break  # every slot dropped (or none was left)
                conn.execute("SELECT pg_sleep(0.1)")  # a terminated walsender lets go of its slot in a moment
            for (dbname,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'crm\\_%'").fetchall():
                conn.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'crm_app'").fetchone():
                conn.execute("ALTER ROLE crm_app LOGIN")
                conn.execute("ALTER ROLE crm_app RESET ALL")


@pytest.fixture
def postgres_pair(postgres_servers):
    _reset(postgres_servers)
    dbname = f"crm_{next(_numbers)}"
    for server in postgres_servers:
        with _admin(server) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    yield TestServer(postgres_servers[0], dbname), TestServer(postgres_servers[1], dbname)  # the next test resets
