"""Promotion: fencing a reachable old primary, sequence margins from the measured write rate, writes for the app role."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from dr import failover, replication
from dr.endpoint import DrError, connect
from dr.failover import DEFAULT_WINDOW_S, FLOOR_MARGINS, MIN_MARGIN, margin_for

from .helpers import app, count, env_for, replicated_pair, run_dr, wait_for


def test_margin_is_rate_times_window_times_safety_above_the_floor_of_the_key_type():
    assert margin_for(50_000.0, 120) == 50_000 * 120 * 2
    assert margin_for(0.4, 75, "bigint") == FLOOR_MARGINS["bigint"]  # never below the floor
    assert margin_for(None, 120, "integer") == FLOOR_MARGINS["integer"]  # no heartbeat: the floor


def test_a_rate_measured_while_idle_does_not_shrink_the_margin_below_a_burst_before_the_cut():
    # The last closed rate window saw 2 ids/s; a burst of 1,300 ids/s started 12 s before the cut and
    # the old primary kept writing for the 120 s window: the margin must hold what it handed out.
    assert margin_for(2.0, DEFAULT_WINDOW_S, "bigint") > 1_300 * DEFAULT_WINDOW_S
    assert margin_for(2.0, DEFAULT_WINDOW_S, "integer") > 1_300 * DEFAULT_WINDOW_S


def test_default_window_is_cloudflare_detection_plus_the_promotion_window():
    from components.cloudflare.health import HealthCheck

    assert HealthCheck().detection_seconds == failover.DETECTION_S
    assert HealthCheck().detection_seconds + failover.PROMOTION_WINDOW_S == DEFAULT_WINDOW_S


def test_promote_after_losing_the_primary_moves_sequences_by_the_measured_rate(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(pub) as conn:  # as if the heartbeat had measured 100,000 ids/s on orders
        conn.execute("""UPDATE dr.heartbeat SET id_rates = '{"public.orders_id_seq": 100000}'""")
    wait_for(lambda: count(sub, "dr.heartbeat", "id_rates ? 'public.orders_id_seq'") == 1)
    publisher.stop()  # AWS is lost

    # Sequences do not replicate: without promotion the copy's first insert collides with a replicated key.
    with connect(sub) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO customers (name) VALUES ('first after failover')")

    record = failover.promote(sub, pub, window_s=60)
    moves = {m["sequence"]: m for m in record.data["sequences"]}
    assert record.data["old_primary_reachable"] is False
    assert moves["public.orders_id_seq"]["margin"] == 100_000 * 60 * 2
    assert moves["public.orders_id_seq"]["next_value"] == 100 + 100_000 * 60 * 2 + 1
    assert moves["public.customers_id_seq"]["margin"] == FLOOR_MARGINS["integer"]  # serial: no rate measured for it
    assert record.data["unowned_sequences"] == ["public.invoice_numbers"]
    with connect(app(sub)) as conn:  # the application's role may now write
        assert conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 1) RETURNING id").fetchone()[0] == 12_000_101
    with connect(sub) as conn:
        assert conn.execute("SELECT count(*) FROM pg_subscription").fetchone()[0] == 0


def test_promote_twice_moves_nothing_the_second_time(postgres_pair):
    publisher, subscriber = postgres_pair
    _pub, sub = replicated_pair(publisher, subscriber)
    publisher.stop()
    failover.promote(sub, None, margin=1000)
    again = failover.promote(sub, None, margin=1000)
    assert "sequences" not in again.data
    assert any("already moved" in s["did"] for s in again.steps)
    with connect(sub) as conn:
        assert conn.execute("SELECT last_value FROM orders_id_seq").fetchone()[0] == 1100


def test_promote_fences_a_reachable_old_primary_and_drops_its_slot(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    session = psycopg.connect(**app(pub).params(), autocommit=True)  # the app, still connected to AWS
    session.execute("INSERT INTO orders (customer_id, total) VALUES (1, 2)")
    record = failover.promote(sub, pub)
    assert record.data["old_primary_reachable"] is True
    with pytest.raises(psycopg.OperationalError):  # its open session was ended
        session.execute("INSERT INTO orders (customer_id, total) VALUES (1, 3)")
    with pytest.raises(DrError, match="not permitted to log in"):  # and it cannot come back
        connect(app(pub))
    with connect(pub) as conn:
        assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone()[0] == 0
        aws_next = conn.execute("SELECT last_value FROM orders_id_seq").fetchone()[0]
    moves = {m["sequence"]: m for m in record.data["sequences"]}
    assert moves["public.orders_id_seq"]["next_value"] == aws_next + MIN_MARGIN + 1
    assert "fenced old primary" in moves["public.orders_id_seq"]["basis"]
    assert count(sub, "orders") == 101  # the copy caught up before it was detached


def test_promote_command_records_what_it_did_as_json(postgres_pair, tmp_path):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    publisher.stop()
    record_file = tmp_path / "promote.json"
    result = run_dr("promote", "--record", str(record_file), env=env_for(pub, sub))
    assert result.returncode == 0, result.stderr
    record = json.loads(record_file.read_text())
    assert record["command"] == "promote" and record["old_primary_reachable"] is False
    assert any("granted writes" in step["did"] for step in record["steps"])
    assert "- copy: subscription crm_subscription detached from its slot and dropped" in result.stdout


def test_drop_slot_refuses_an_active_slot_unless_forced(postgres_pair):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(pub) as conn:
        wait_for(lambda: replication.slot_state(conn, "crm_slot")["active"])
        with pytest.raises(DrError, match="in use by walsender"):
            replication.drop_slot(conn, "crm_slot")
    with connect(sub) as conn:  # the subscriber dies without dropping its slot
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)
    result = run_dr("drop-slot", "--force", env=env_for(pub, None))
    assert result.returncode == 0 and "slot crm_slot: dropped" in result.stdout
    with connect(pub) as conn:
        assert replication.slot_state(conn, "crm_slot") is None


def _behind(publisher, subscriber):
    """A replicating pair whose copy stopped applying, with 500 orders on the primary it lacks."""
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(sub) as conn:
        conn.execute("ALTER SUBSCRIPTION crm_subscription DISABLE")  # apply stalled
    with connect(app(pub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) SELECT 1, g FROM generate_series(1, 500) g")
    return pub, sub


def test_a_planned_switch_whose_copy_is_still_behind_stops_and_changes_nothing_on_the_copy(postgres_pair):
    pub, sub = _behind(*postgres_pair)
    result = run_dr("promote", "--catchup-seconds", "1", env=env_for(pub, sub), timeout=60)
    assert result.returncode == 2 and "still behind" in result.stderr and "--accept-behind" in result.stderr
    with connect(sub) as conn:  # not promoted: still a copy, the application still read-only there
        assert replication.subscription_exists(conn)
        assert conn.execute("SELECT to_regclass('dr.promotion') IS NULL OR NOT EXISTS (SELECT 1 FROM dr.promotion)").fetchone()[0]
    with pytest.raises(DrError, match="not permitted to log in"):  # and the old primary stays fenced
        connect(app(pub))


def test_accept_behind_promotes_a_copy_that_is_behind_and_records_it(postgres_pair, tmp_path):
    pub, sub = _behind(*postgres_pair)
    record_file = tmp_path / "promote.json"
    result = run_dr("promote", "--catchup-seconds", "1", "--accept-behind", "--record", str(record_file), env=env_for(pub, sub), timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(record_file.read_text())["behind_at_promotion"].startswith("at least")
    assert count(sub, "orders") == 100 and count(pub, "orders") == 600


@pytest.mark.parametrize("command", ["promote", "lag"])
def test_a_missing_publisher_host_is_an_error_not_a_lost_primary(postgres_pair, command):
    pub, sub = replicated_pair(*postgres_pair)
    result = run_dr(command, env=env_for(None, sub), timeout=60)
    assert result.returncode == 2 and "PUBLISHER_HOST is not set" in result.stderr and "--no-primary" in result.stderr
    with connect(sub) as conn:  # nothing was promoted
        assert replication.subscription_exists(conn)
    with connect(app(pub)) as conn:  # and the primary was neither reached nor fenced
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 1)")


def test_no_primary_promotes_without_contacting_the_primary(postgres_pair):
    pub, sub = replicated_pair(*postgres_pair)
    result = run_dr("promote", "--no-primary", env=env_for(None, sub), timeout=60)
    assert result.returncode == 0, result.stderr
    with connect(sub) as conn:
        assert not replication.subscription_exists(conn)
    with connect(app(pub)) as conn:  # not contacted, so not fenced: `dr fence` is for when it is reachable again
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 1)")


def _freeze(server) -> list[int]:
    """SIGSTOP every process of the server: it keeps its connections open (the kernel still answers TCP) and says nothing."""
    postmaster = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    pids = [postmaster, *(int(c) for c in children)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


def test_promote_is_bounded_when_the_old_primary_stops_answering_after_the_login(postgres_pair, monkeypatch):
    publisher, subscriber = postgres_pair
    pub, sub = replicated_pair(publisher, subscriber)
    frozen: list[int] = []
    login = failover.reachable

    def answers_then_freezes(endpoint, **kwargs):
        conn = login(endpoint, **kwargs)
        frozen.extend(_freeze(publisher.server))
        return conn

    monkeypatch.setattr(failover, "reachable", answers_then_freezes)
    monkeypatch.setattr(failover, "OLD_PRIMARY_S", 1.0, raising=False)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["record"] = failover.promote(sub, pub, catchup_s=0.5)
        except DrError as exc:
            outcome["error"] = str(exc)

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        worker.join(30)
        elapsed = time.monotonic() - started
        still_running = worker.is_alive()
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        worker.join(30)
    assert frozen and not still_running and elapsed < 15
    assert "stopped answering" in outcome["error"] and "fence state is unknown" in outcome["error"]
    with connect(sub) as conn:  # the copy was left as it was
        assert replication.subscription_exists(conn)


def test_a_second_promote_while_one_runs_stops_with_a_clear_message(postgres_pair):
    _pub, sub = replicated_pair(*postgres_pair)
    with connect(sub) as first:  # the first operator's promote holds the lock
        first.execute("SELECT pg_advisory_lock(hashtext('dr.failover'))")
        with pytest.raises(DrError, match="another promote or failback is running"):
            failover.promote(sub, None)
        with connect(sub) as conn:  # the second did nothing
            assert replication.subscription_exists(conn)
    failover.promote(sub, None, margin=1000)  # once it is released, a promote runs
