"""verify's replication check reads lag through dr's own functions, against real PostgreSQL servers."""
from __future__ import annotations

import time

from dr import replication
from stacks.offline.verify import dr_replication_lag
from tests.dr.conftest import PASSWORD


def lag_of(server):
    return dr_replication_lag(host="127.0.0.1", port=server.port, dbname="crm", user="postgres", password=PASSWORD)


def test_a_copy_without_a_subscription_reports_no_lag(postgres_pair):
    copy, _ = postgres_pair  # the TLS server: the check connects with sslmode=require, as to Cloud SQL
    assert lag_of(copy) is None


def test_a_running_subscription_reports_its_lag_in_seconds(postgres_pair):
    copy, primary = postgres_pair
    with replication.connect(primary.endpoint(sslmode="disable")) as conn:
        conn.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes (body) VALUES ('a')")
    replication.setup(primary.endpoint(sslmode="disable"), copy.endpoint())
    deadline = time.monotonic() + 60
    while (lag := lag_of(copy)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    # dr measures time since the copy last heard from the primary; an idle primary only sends keepalives, so no upper bound here.
    assert isinstance(lag, float) and lag >= 0
