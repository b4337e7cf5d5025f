"""Two real PostgreSQL 15 servers on 127.0.0.1: a publisher with TLS (standing in for RDS) and a subscriber (Cloud SQL)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dr.replication import Endpoint

PASSWORD = "s3cret-'quoted\\pw"


def _bin_dir() -> Path | None:
    for candidate in (Path("/usr/lib/postgresql/15/bin"), Path(shutil.which("initdb") or "/nonexistent").parent):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    root: Path
    port: int
    bin: Path

    def run(self, *args: str) -> None:
        # initdb and postgres refuse to run as root; run them as the postgres user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + list(args), check=True, capture_output=True, text=True, timeout=60)

    def endpoint(self, dbname: str = "crm", sslmode: str = "require") -> Endpoint:
        return Endpoint(host="127.0.0.1", port=self.port, dbname=dbname, user="postgres", password=PASSWORD, sslmode=sslmode)

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")


def _start(bin_dir: Path, ssl: bool) -> Server:
    root = Path(tempfile.mkdtemp(prefix="crm-pg-"))
    server = Server(root, _free_port(), bin_dir)
    (root / "pw").write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(root / "pw", "postgres", "postgres")
    server.run(str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--pwfile", str(root / "pw"),
               "--auth-local=trust", "--auth-host=scram-sha-256")
    options = [f"-p {server.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={root}", "-c wal_level=logical"]
    if ssl:
        server.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                   "-keyout", str(root / "server.key"), "-out", str(root / "server.crt"))
        options += ["-c ssl=on", f"-c ssl_cert_file={root / 'server.crt'}", f"-c ssl_key_file={root / 'server.key'}"]
    server.run(str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-o", " ".join(options), "-w", "start")
    server.run(str(bin_dir / "psql"), "-h", str(root), "-p", str(server.port), "-U", "postgres", "-c", "CREATE DATABASE crm")
    return server


@pytest.fixture
def postgres_pair():
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 server binaries are missing; .ci/run installs postgresql-15")
        pytest.skip("PostgreSQL 15 server binaries are not installed (apt-get install postgresql-15)")
    servers = []
    try:
        servers.append(_start(bin_dir, ssl=True))
        servers.append(_start(bin_dir, ssl=False))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            try:
                server.stop()
            except subprocess.CalledProcessError:
                pass  # already stopped by the test
            shutil.rmtree(server.root, ignore_errors=True)
