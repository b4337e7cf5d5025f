"""Throwaway PostgreSQL 15 servers on 127.0.0.1, for the drill and the tests."""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .endpoint import Endpoint, connect


def bin_dir() -> Path | None:
    for candidate in (Path("/usr/lib/postgresql/15/bin"), Path(shutil.which("initdb") or "/nonexistent").parent):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


# A file system in memory, for servers whose data may go with the machine (the test suite's): each CREATE DATABASE
# writes some 300 files, which takes about 30 ms there against 100-250 ms of kernel time on a disk's ext4. It needs
# room to spare: a container's /dev/shm is often 64 MiB.
MEMORY_DIRECTORIES = (Path("/dev/shm"),)
MEMORY_MIN_FREE_BYTES = 2 * 1024**3


def memory_directory() -> Path | None:
    """The first of MEMORY_DIRECTORIES this process can write in, with MEMORY_MIN_FREE_BYTES free; None if none is."""
    for candidate in MEMORY_DIRECTORIES:
        try:
            stats = os.statvfs(candidate)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK) and stats.f_bavail * stats.f_frsize >= MEMORY_MIN_FREE_BYTES:
            return candidate
    return None


def has_pgaudit(bin_path: Path) -> bool:
    """Whether this PostgreSQL has pgAudit (Debian: postgresql-15-pgaudit), which RDS and Cloud SQL run."""
    lib = subprocess.run([str(bin_path / "pg_config"), "--pkglibdir"], capture_output=True, text=True)
    return lib.returncode == 0 and (Path(lib.stdout.strip()) / "pgaudit.so").exists()


def audited(bin_path: Path) -> dict:
    """The estate's logging settings (components/postgres/logging.py, what RDS and Cloud SQL are given),
    with pg_stat_statements preloaded, and pgAudit where it is installed; server settings for `start`."""
    from components.postgres.logging import audit_settings

    settings = {s.name: s.value for s in audit_settings()}
    # RDS preloads pg_stat_statements (Performance Insights reads it), and its view keeps statements' text.
    if not has_pgaudit(bin_path):
        return {"shared_preload_libraries": "pg_stat_statements", **{k: v for k, v in settings.items() if not k.startswith("pgaudit.")}}
    return {"shared_preload_libraries": "pg_stat_statements,pgaudit", **settings}


def run_as_job(server: Server, dbname: str, script: str, environment: dict) -> None:
    """Runs a psql script the way the roles Job does (components/postgres/roles.py): psql --file, the
    connection and the passwords in the environment (PG*, *_PASSWORD), nothing on the command line."""
    path = server.root / f"job-{dbname}-{secrets.token_hex(4)}.sql"
    path.write_text(script)
    path.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGHOST="127.0.0.1", PGPORT=str(server.port), PGDATABASE=dbname, PGUSER="postgres", PGPASSWORD=server.password, PGSSLMODE="prefer"
    )
    env.update(environment)
    try:
        result = subprocess.run(
            [str(server.bin / "psql"), "--no-psqlrc", "--file", str(path)], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        path.unlink()
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, ["psql"], result.stdout, result.stderr.strip()[-500:])


# RDS ships the role `rds_replication`; a member may open replication connections. Vanilla PostgreSQL
# has neither the role nor inheritance of REPLICATION, so a stand-in: the role, and the attribute for its members.
RDS_REPLICATION_STAND_IN = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_replication') THEN CREATE ROLE rds_replication NOLOGIN; END IF; END $$"


def grant_rds_replication_members(conn) -> list[str]:
    """What membership of rds_replication confers on RDS: the REPLICATION attribute, on this stand-in."""
    members = [
        r[0]
        for r in conn.execute(
            "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
            "WHERE r.rolname = 'rds_replication'"
        ).fetchall()
    ]
    for member in members:
        conn.execute(f'ALTER ROLE "{member}" REPLICATION')
    return members


def password_traces(password: str) -> list[str]:
    """What of a password survives a log's quoting (SQL literals double quotes, CSV doubles them again,
    backslashes are escaped): each run of 6 or more letters, digits, '-' and '_' in it, or the whole
    password when it has none. A log holding one of these most likely holds the password."""
    runs = [run for run in re.findall(r"[A-Za-z0-9_-]+", password) if len(run) >= 6]
    return runs or [password]


def tracked_statements(server: Server) -> str:
    """Every statement text pg_stat_statements holds on this server (all databases; empty where it is not preloaded)."""
    with connect(server.endpoint(dbname="postgres")) as conn:
        if conn.execute("SELECT current_setting('pg_stat_statements.track', true)").fetchone()[0] is None:
            return ""
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return conn.execute("SELECT coalesce(string_agg(query, E'\\n'), '') FROM pg_stat_statements").fetchone()[0]


def reset_tracked_statements(server: Server, matching: str = "%") -> None:
    """Forgets pg_stat_statements' entries whose text is LIKE `matching` (all of them by default)."""
    with connect(server.endpoint(dbname="postgres")) as conn:
        if conn.execute("SELECT current_setting('pg_stat_statements.track', true)").fetchone()[0] is not None:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute(
                "SELECT count(pg_stat_statements_reset(userid, dbid, queryid)) FROM pg_stat_statements WHERE query ILIKE %s", (matching,)
            )


def tracked_passwords(servers: list[Server], passwords: dict[str, str]) -> dict[str, list[str]]:
    """Per server, the names of the passwords whose traces its pg_stat_statements holds."""
    found = {}
    for server in servers:
        text = tracked_statements(server)
        found[server.root.name] = sorted(name for name, password in passwords.items() if any(t in text for t in password_traces(password)))
    return found


def logged_passwords(servers: list[Server], passwords: dict[str, str]) -> dict[str, list[str]]:
    """Per server log, the names of the passwords whose traces it holds."""
    found = {}
    for server in servers:
        text = (server.root / "log").read_text(errors="replace")
        hits = sorted(name for name, password in passwords.items() if any(t in text for t in password_traces(password)))
        found[server.root.name] = hits
    return found


# How long a server command may take. initdb and a start take seconds on an idle machine; on a loaded
# one (CI runners, a machine the whole team's test suites share) many times that, and a timeout here
# fails every test on the servers at once. It only has to catch a command that hangs.
COMMAND_TIMEOUT_S = 300
# Starts of a server whose port another process took between choosing it and binding it.
START_ATTEMPTS = 5


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out on its own (to `bind(0)` and to every outgoing connection)."""
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A loopback port free now, below the kernel's ephemeral range.

    A port from `bind(0)` is one the kernel may give any process's next outgoing connection in the
    seconds before the server binds it (initdb runs in between); below the range only another server
    choosing the same number can collide, and `start` then takes another.
    """
    low = _ephemeral_range()[0]
    first = 10000 if low > 11000 else 1024
    rng = random.SystemRandom()
    for _ in range(100):
        port = rng.randrange(first, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # every pick taken: fall back to one the kernel chooses
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    root: Path
    port: int
    bin: Path
    password: str = field(repr=False)
    audited: bool = False  # pgAudit preloaded (the estate's logging settings)

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess:
        # initdb and postgres refuse to run as root; run them as the postgres user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(prefix + list(args), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, [Path(args[0]).name], result.stdout, result.stderr.strip()[-500:])
        return result

    def endpoint(self, dbname: str = "crm", sslmode: str = "disable", user: str = "postgres", password: str | None = None) -> Endpoint:
        return Endpoint(
            host="127.0.0.1",
            port=self.port,
            dbname=dbname,
            user=user,
            password=self.password if password is None else password,
            sslmode=sslmode,
        )

    def running(self) -> bool:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return (
            subprocess.run([*prefix, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "status"], capture_output=True).returncode
            == 0
        )

    def start(self) -> None:
        # -t: pg_ctl's own wait for the server to accept connections (60 s by default) is the same kind of bound.
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            str(COMMAND_TIMEOUT_S),
            "start",
        )

    def start_on_a_free_port(self) -> None:
        """Starts the server; when its port was taken meanwhile, moves it to another and starts again."""
        for attempt in range(START_ATTEMPTS):
            try:
                self.start()
                return
            except subprocess.CalledProcessError:
                log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
                if "could not bind" not in log or attempt == START_ATTEMPTS - 1:
                    raise
            self.port = free_port()
            with open(self.root / "data" / "postgresql.auto.conf", "a") as f:
                f.write(f"port = '{self.port}'\n")  # the last setting of a name wins
            (self.root / "log").unlink()

    def stop(self, mode: str = "fast") -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


def start(
    bin_path: Path, *, ssl: bool = False, settings: dict | None = None, password: str | None = None, parent: Path | None = None
) -> Server:
    """initdb + pg_ctl start with wal_level=logical and a `crm` database; password auth (scram) over TCP."""
    root = Path(tempfile.mkdtemp(prefix="crm-pg-", dir=parent))
    server = Server(root, free_port(), bin_path, password or secrets.token_urlsafe(18))
    (root / "pw").write_text(server.password)
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(root / "pw", "postgres", "postgres")
    server.run(
        str(bin_path / "initdb"),
        "-D",
        str(root / "data"),
        "-U",
        "postgres",
        "--pwfile",
        str(root / "pw"),
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-sync",
    )
    (root / "pw").unlink()
    options = {
        "port": server.port,
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(root),
        "wal_level": "logical",
        "max_wal_senders": 10,
        "max_replication_slots": 10,
        "wal_sender_timeout": "10s",
        "wal_receiver_timeout": "10s",
        # the launcher starts apply workers at most once per interval (5 s by default)
        "wal_retrieve_retry_interval": "200ms",
    }
    options.update(settings or {})
    if ssl:
        server.run(
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(root / "server.key"),
            "-out",
            str(root / "server.crt"),
        )
        options.update(ssl="on", ssl_cert_file=str(root / "server.crt"), ssl_key_file=str(root / "server.key"))
    conf = "".join(f"{k} = '{v}'\n" for k, v in options.items())
    with open(root / "data" / "postgresql.auto.conf", "a") as f:
        f.write(conf)
    server.start_on_a_free_port()
    server.run(str(bin_path / "psql"), "-h", str(root), "-p", str(server.port), "-U", "postgres", "-c", "CREATE DATABASE crm")
    return server
