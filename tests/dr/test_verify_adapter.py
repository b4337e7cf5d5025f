"""verify's replication check and the game day read lag through dr's own functions, against real PostgreSQL servers."""

from __future__ import annotations

from dr import gameday, replication
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


def replicating(postgres_pair):
    """The pair with a table replicated from the primary to the copy."""
    primary, copy = postgres_pair
    with replication.connect(primary.endpoint()) as conn:
        conn.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes (body) VALUES ('a')")
    replication.setup(primary.endpoint(), copy.endpoint())
    return primary, copy


def test_a_running_subscription_reports_its_lag_in_seconds(postgres_pair):
    _, copy = replicating(postgres_pair)
    lag = lag_of(copy)
    # From the copy alone dr reports the age of the newest primary heartbeat it applied: known, and
    # bounded right after setup.
    assert isinstance(lag, float) and 0 <= lag < 60


def test_the_game_days_lag_is_dr_lags_probe(postgres_pair):
    primary, copy = replicating(postgres_pair)
    lag = gameday.replication_lag(copy.endpoint(), primary.endpoint(), timeout=10)
    assert isinstance(lag, float) and 0 <= lag < 5  # a probe written on the primary and seen on the copy, on one machine
