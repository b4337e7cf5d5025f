"""Setup verifies the initial copy; lag is true lag (a heartbeat timed through the replication stream)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import psycopg
import pytest

from dr import replication
from dr.endpoint import DrError, connect
from dr.replication import Lag

from .helpers import SCHEMA, app, count, create_app_role, env_for, replicated_pair, run_dr, wait_for


def test_setup_copies_schema_and_data_then_reports_every_table_ready(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(sub) as conn:
        assert set(replication.sync_states(conn).values()) == {"r"}
        assert set(replication.sync_states(conn)) == {"public.customers", "public.orders", "dr.heartbeat", "dr.promotion"}
    assert count(sub, "orders") == 100 and count(sub, "customers") == 50
    # The subscription reaches the publisher over TLS (sslmode=require) through the slot named in the spec.
    with connect(pub) as conn:
        assert conn.execute("SELECT plugin FROM pg_replication_slots WHERE slot_name = 'crm_slot'").fetchone() == ("pgoutput",)
        wait_for(lambda: conn.execute("SELECT bool_or(ssl) FROM pg_stat_ssl JOIN pg_stat_replication USING (pid)").fetchone()[0] is True)


def test_setup_run_again_changes_nothing_and_says_so(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    steps = replication.setup(pub, sub)
    assert steps[1:4] == [
        "schema already on the subscriber",
        "publication crm_replication already there",
        "subscription crm_subscription already there (enabled)",
    ]
    assert steps[4].startswith("initial copy finished")
    assert count(sub, "orders") == 100  # not copied twice


def test_setup_refuses_a_table_without_primary_key(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    with connect(pub) as conn:
        conn.execute("CREATE TABLE audit_log (at timestamptz, what text); CREATE TABLE ok (id int PRIMARY KEY)")
    with pytest.raises(DrError, match=r"without a primary key on the publisher: public\.audit_log\."):
        replication.setup(pub, sub)
    with connect(sub) as conn:
        assert conn.execute("SELECT count(*) FROM pg_subscription").fetchone()[0] == 0


def test_setup_refuses_to_copy_into_tables_that_already_hold_rows(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    for endpoint in (pub, sub):
        with connect(endpoint) as conn:
            conn.execute(SCHEMA)
            conn.execute("INSERT INTO customers (name) VALUES ('x')")
    with pytest.raises(DrError, match=r"already hold rows: public\.customers"):
        replication.setup(pub, sub)


def test_setup_fails_when_the_initial_copy_fails(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    with connect(pub) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'long value')")
    with connect(sub) as conn:  # a schema that cannot take the rows
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v varchar(2))")
    with pytest.raises(DrError, match=r"initial copy of subscription crm_subscription failed: .*public\.t="):
        replication.setup(pub, sub, wait_s=30)


def test_the_initial_copy_is_asked_about_soon_then_at_most_five_times_a_second(monkeypatch):
    answers = iter([{}, {"public.orders": "d"}, *[{"public.orders": "s"}] * 5, {"public.orders": "r"}])
    monkeypatch.setattr(replication, "sync_states", lambda conn, name: next(answers))
    monkeypatch.setattr(replication, "_sync_errors", lambda conn, name: 0)
    pauses: list[float] = []
    monkeypatch.setattr(replication, "time", SimpleNamespace(monotonic=time.monotonic, sleep=pauses.append))
    assert replication.wait_until_copied(None, ["public.orders"]).startswith("initial copy finished")  # type: ignore[arg-type]
    assert len(pauses) == 7 and pauses[0] <= 0.05  # a small copy is seen done within tens of milliseconds
    assert pauses == sorted(pauses) and max(pauses) <= 0.2


def test_lag_is_near_zero_when_idle(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    time.sleep(1.0)
    with connect(sub) as s, connect(pub) as p:
        lag = replication.measure_lag(s, p)
    assert 0 <= lag.seconds < 0.5 and lag.primary_reachable and lag.subscription_running


def test_lag_grows_while_the_copy_applies_a_blocked_transaction(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    holder = psycopg.connect(**sub.params())
    holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")  # the apply worker waits behind this transaction
    try:
        with connect(pub) as conn:
            conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 1)")
        with connect(sub) as s, connect(pub) as p:
            lag = replication.measure_lag(s, p, probe_timeout_s=0.5)
        assert lag.seconds >= 0.5
        assert lag.bytes > 0  # the copy has not confirmed the WAL either
    finally:
        holder.rollback()
        holder.close()
    with connect(sub) as s, connect(pub) as p:
        assert replication.measure_lag(s, p).seconds < 1.5


def test_lag_command_exits_non_zero_over_its_threshold_while_apply_is_paused(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    env = env_for(pub, sub)
    ok = run_dr("lag", "--max-seconds", "2", "--json", env=env)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    with connect(sub) as conn:
        conn.execute("ALTER SUBSCRIPTION crm_subscription DISABLE")
    over = run_dr("lag", "--max-seconds", "0.5", "--json", env=env)
    report = json.loads(over.stdout)
    assert over.returncode == 1 and report["seconds"] >= 0.5 and report["ok"] is False


def test_lag_without_the_primary_is_the_age_of_the_copys_newest_heartbeat(postgres_pair):
    publisher, subscriber = postgres_pair
    _pub, sub = replicated_pair(publisher, subscriber)
    publisher.stop()
    time.sleep(1.2)
    with connect(sub) as s:
        lag = replication.measure_lag(s, None)
    assert lag.seconds >= 1.2 and not lag.primary_reachable and lag.bytes is None


def test_lag_text_never_shows_negative_zero():
    lag = Lag(seconds=-0.0, bytes=0, slot_wal_bytes=0, method="probe", primary_reachable=True, subscription_running=True, last_beat_at=None)
    assert replication.format_lag(lag).startswith("0.000 s behind")


def test_heartbeat_measures_the_primarys_id_rate(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(pub) as conn:
        replication.beat(conn, 0.5)  # opens a rate window
        time.sleep(0.6)
        conn.execute("INSERT INTO orders (customer_id, total) SELECT 1, g FROM generate_series(1, 600) g")
        replication.beat(conn, 0.5)
        rate = float(conn.execute("SELECT id_rates ->> 'public.orders_id_seq' FROM dr.heartbeat").fetchone()[0])
    assert 100 < rate < 1000  # 600 ids in a bit more than 0.6 s
    wait_for(lambda: _replicated_rate(sub) == rate)


def _replicated_rate(sub):
    with connect(sub) as conn:
        value = conn.execute("SELECT id_rates ->> 'public.orders_id_seq' FROM dr.heartbeat").fetchone()[0]
        return None if value is None else float(value)


def test_heartbeat_does_not_beat_on_a_database_that_subscribes(postgres_pair):
    publisher, subscriber = postgres_pair
    _pub, sub = replicated_pair(publisher, subscriber)
    with connect(sub) as conn:
        assert replication.beat(conn) is None


def test_heartbeat_command_on_both_databases_beats_only_on_the_primary(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(pub) as conn:
        before = conn.execute("SELECT seq FROM dr.heartbeat").fetchone()[0]
    result = run_dr("heartbeat", "--target", "both", "--count", "2", "--interval", "0.1", "--verbose", env=env_for(pub, sub))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("subscriber: not the primary") == 2
    with connect(pub) as conn:
        assert conn.execute("SELECT seq FROM dr.heartbeat").fetchone()[0] == before + 2


def test_setup_command_leaves_the_application_read_only_on_the_copy(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    create_app_role(pub, sub)
    with connect(pub) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text)")
    with connect(sub) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text); GRANT ALL ON customers TO crm_app")
    result = run_dr("setup", env=env_for(pub, sub))
    assert result.returncode == 0, result.stderr
    with connect(app(sub)) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)  # reads work
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO customers (name) VALUES ('x')")
