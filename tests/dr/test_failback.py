"""Failback: recover the old primary's lost writes, rebuild it from the promoted copy, switch back, leave only AWS -> GCP."""

from __future__ import annotations

import psycopg
import pytest

from dr import failover, replication
from dr.endpoint import DrError, connect

from .helpers import app, count, env_for, replicated_pair, run_dr, wait_for


def _failed_over(publisher, subscriber):
    """Replicating pair; the link dies; AWS takes two more orders; GCP is promoted without reaching AWS and takes one."""
    pub, sub = replicated_pair(publisher, subscriber)
    with connect(sub) as conn:
        replication.drop_subscription(conn, "crm_subscription", keep_remote_slot=True)  # the link is cut: nothing more arrives
    with connect(app(pub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 101), (2, 102)")  # lost at the cut
    failover.promote(sub, None, margin=1000)
    with connect(app(sub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (3, 103)")
    return pub, sub


def test_failback_recovers_lost_writes_and_ends_with_identical_data(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    prepare = failover.failback_prepare(pub, sub)
    assert prepare.data["recovered_rows"] == 2 and prepare.data["collisions"] == 0
    with connect(app(sub)) as conn:  # the application keeps writing on GCP until the pause
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (4, 104)")
    failover.failback_switch(pub, sub)
    for table in ("orders", "customers"):
        with connect(pub) as a, connect(sub) as g:
            query = f"SELECT count(*), md5(string_agg(md5(t::text), '' ORDER BY id)) FROM {table} t"
            assert a.execute(query).fetchone() == g.execute(query).fetchone()
    assert count(pub, "orders", "total IN (101, 102, 103, 104)") == 4


def test_failback_leaves_only_the_aws_to_gcp_slot_and_subscription(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    failover.failback_prepare(pub, sub)
    switch = failover.failback_switch(pub, sub)
    assert switch.data["leftovers"] == {}
    with connect(pub) as a, connect(sub) as g:
        assert failover.replication_objects(a, g, expected=False) == {
            "aws": {"slots": ["crm_slot"], "subscriptions": [], "publications": ["crm_replication"]},
            "gcp": {"slots": [], "subscriptions": ["crm_subscription"], "publications": []},
        }


def test_failback_moves_sequences_so_aws_continues_after_gcps_keys(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    failover.failback_prepare(pub, sub)
    failover.failback_switch(pub, sub)
    with connect(sub) as g:
        highest_on_gcp = g.execute("SELECT max(id) FROM orders").fetchone()[0]
    with connect(app(pub)) as conn:
        new_id = conn.execute("INSERT INTO orders (customer_id, total) VALUES (5, 105) RETURNING id").fetchone()[0]
    assert new_id == highest_on_gcp + 1
    wait_for(lambda: count(sub, "orders", f"id = {new_id}") == 1)  # and it replicates to GCP again


def test_failback_steps_are_safe_to_run_again(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    env = env_for(pub, sub)
    for phase in ("prepare", "prepare", "switch", "switch"):
        result = run_dr("failback", phase, env=env)
        assert result.returncode == 0, result.stderr
    assert count(pub, "orders") == count(sub, "orders") == 103


def test_failback_prepare_refuses_once_gcp_is_a_copy_again(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    failover.failback_prepare(pub, sub)
    failover.failback_switch(pub, sub)
    result = run_dr("failback", "prepare", env=env_for(pub, sub))
    assert result.returncode == 2 and "nothing to fail back" in result.stderr
    with connect(app(pub)) as conn:  # AWS was left alone: not fenced, not emptied
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 103


def test_failback_switch_fences_gcp_and_leaves_it_read_only(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    failover.failback_prepare(pub, sub)
    failover.failback_switch(pub, sub)
    with connect(app(sub)) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (6, 106)")
    with connect(app(pub)) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (6, 106)")


def test_failback_refuses_a_table_without_primary_key(postgres_pair):
    pub, sub = _failed_over(*postgres_pair)
    with connect(sub) as conn:
        conn.execute("CREATE TABLE notes (body text)")
    with pytest.raises(DrError, match=r"without a primary key on the promoted copy: public\.notes"):
        failover.failback_prepare(pub, sub)
    with connect(pub) as conn:  # nothing was emptied
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 102


def test_failback_recovers_rows_a_transaction_open_across_the_cut_wrote_in_a_savepoint(postgres_pair):
    """Rows written in a subtransaction carry the subtransaction's xid, which no snapshot lists as in progress."""
    pub, sub = replicated_pair(*postgres_pair)
    for endpoint in (pub, sub):  # DDL does not replicate
        with connect(endpoint) as conn:
            conn.execute("ALTER TABLE customers ADD COLUMN balance bigint NOT NULL DEFAULT 0")
    open_across_cut = psycopg.connect(**app(pub).params())
    try:
        open_across_cut.execute("INSERT INTO orders (customer_id, total) VALUES (1, 301)")
        open_across_cut.execute("SAVEPOINT nested")
        open_across_cut.execute("INSERT INTO orders (customer_id, total) VALUES (2, 302)")
        open_across_cut.execute("UPDATE customers SET balance = balance + 302 WHERE id = 2")
        open_across_cut.execute("RELEASE SAVEPOINT nested")
        with connect(app(pub)) as conn:  # another transaction commits meanwhile
            conn.execute("INSERT INTO customers (name) VALUES ('other')")
        with connect(pub) as a, connect(sub) as g:
            failover.wait_caught_up(a, g, replication.SUBSCRIPTION, replication.SLOT, 60)  # the last beat the copy applies
        failover.promote(sub, None, margin=1000)
        open_across_cut.commit()  # on the cut-off old primary
    finally:
        open_across_cut.close()
    prepare = failover.failback_prepare(pub, sub)
    assert prepare.data["recovered_rows"] == 3
    with connect(sub) as g:
        assert g.execute("SELECT total FROM orders WHERE total IN (301, 302) ORDER BY total").fetchall() == [(301,), (302,)]
        assert g.execute("SELECT balance FROM customers WHERE id = 2").fetchone()[0] == 302


def test_a_failback_switch_interrupted_after_dropping_the_failback_subscription_resumes(postgres_pair, monkeypatch):
    pub, sub = _failed_over(*postgres_pair)
    failover.failback_prepare(pub, sub)
    create = replication.create_subscription

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while gcp's subscription to aws is being created

    monkeypatch.setattr(replication, "create_subscription", interrupted)
    with pytest.raises(KeyboardInterrupt):
        failover.failback_switch(pub, sub)
    monkeypatch.setattr(replication, "create_subscription", create)
    again = failover.failback_switch(pub, sub)
    assert any("resuming the switch" in step["did"] for step in again.steps)
    assert again.data["leftovers"] == {}
    with connect(app(pub)) as conn:  # the application writes on aws again, and it replicates to gcp
        new_id = conn.execute("INSERT INTO orders (customer_id, total) VALUES (7, 107) RETURNING id").fetchone()[0]
    wait_for(lambda: count(sub, "orders", f"id = {new_id}") == 1)
    with connect(pub) as a, connect(sub) as g:
        assert (
            a.execute("SELECT count(*) FROM dr.promotion").fetchone()[0]
            == g.execute("SELECT count(*) FROM dr.promotion").fetchone()[0]
            == 0
        )
