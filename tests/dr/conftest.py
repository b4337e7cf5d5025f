"""Two real PostgreSQL 15 servers on 127.0.0.1: a publisher with TLS (standing in for RDS) and a subscriber (Cloud SQL)."""
from __future__ import annotations

import os

import pytest

from dr import localpg

PASSWORD = "s3cret-'quoted\\pw"


@pytest.fixture
def postgres_pair():
    bin_dir = localpg.bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 server binaries are missing; .ci/run installs postgresql-15")
        pytest.skip("PostgreSQL 15 server binaries are not installed (apt-get install postgresql-15)")
    servers = []
    try:
        servers.append(localpg.start(bin_dir, ssl=True, password=PASSWORD))
        servers.append(localpg.start(bin_dir, password=PASSWORD))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.remove()
