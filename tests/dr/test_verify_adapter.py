"""verify's replication check reads lag through dr's own functions, against real PostgreSQL servers."""

from __future__ import annotations

from dr import replication
from tools.live.verify import dr_replication_lag


def lag_of(server):
    endpoint = server.endpoint()
    return dr_replication_lag(
        host=endpoint.host,
        port=endpoint.port,
        dbname=endpoint.dbname,
        user=endpoint.user,
        password=endpoint.password,
        sslmode=endpoint.sslmode,
    )


def test_a_copy_without_a_subscription_reports_no_lag(postgres_pair):
    _, copy = postgres_pair
    assert lag_of(copy) is None


def test_a_running_subscription_reports_its_lag_in_seconds(postgres_pair):
    primary, copy = postgres_pair
    with replication.connect(primary.endpoint()) as conn:
        conn.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes (body) VALUES ('a')")
    replication.setup(primary.endpoint(), copy.endpoint())
    lag = lag_of(copy)
    # From the copy alone dr reports the age of the newest primary heartbeat it applied: known, and
    # bounded right after setup.
    assert isinstance(lag, float) and 0 <= lag < 60
