"""The drill's own checks can fail: a divergent row and a missed target are reported."""

from __future__ import annotations

from types import SimpleNamespace

from dr import drill
from dr.endpoint import connect


def test_consistency_check_counts_a_row_that_differs_and_a_row_missing_on_one_side(postgres_pair):
    publisher, subscriber = postgres_pair
    for server in (publisher, subscriber):
        with connect(server.endpoint()) as conn:
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, total int); INSERT INTO orders VALUES (1, 10), (2, 20)")
    with connect(subscriber.endpoint()) as conn:
        conn.execute("UPDATE orders SET total = 21 WHERE id = 2; INSERT INTO orders VALUES (3, 30)")
    with connect(publisher.endpoint()) as a, connect(subscriber.endpoint()) as g:
        check = drill.consistency(a, g)
    figures = check["tables"]["public.orders"]
    assert check["divergent_rows"] == 2
    assert (figures["rows_aws"], figures["rows_gcp"]) == (2, 3) and figures["checksum_aws"] != figures["checksum_gcp"]


FRIENDLY = {
    "tps": 1500.0,
    "lag_p99_s": 0.4,
    "promotion_s": 2.0,
    "collisions": 0,
    "divergent_rows": 0,
    "unreported_rows": 0,
    "balance_invariant_off_by": 0,
    "subscription_login_after_failback": "crm_replication",
    "leftover_replication_objects": {},
}
ARGS = SimpleNamespace(min_tps=1000, max_lag_p99=1.0, max_promotion=10.0)


def _missed(report: dict) -> list[str]:
    return [name for name, _target, met in drill.targets(report, ARGS) if not met]


def test_a_missed_target_is_reported_as_missed():
    assert _missed({**FRIENDLY, "lag_p99_s": 1.4}) == ["lag_p99_s"]


def test_a_split_transaction_or_an_unreported_lost_row_misses_its_target():
    assert _missed({**FRIENDLY, "balance_invariant_off_by": 1_033_729, "unreported_rows": 20}) == [
        "unreported_rows",
        "balance_invariant_off_by",
    ]


def test_each_adversarial_case_misses_its_target_when_the_promise_breaks():
    report = {
        "savepoint_across_cut": {"savepoint_rows_kept": False},
        "rejected_login": {"refused": False, "copy_still_subscribed": False, "split_brain": True},
        "big_transaction": {"bound": "exact", "lower_bound_holds": True, "beyond_the_timeout": False},
        "burst_after_idle": {"margin": 1_000, "ids_aws_handed_out_after_the_cut": 13_912, "collisions": 13_912},
        "slot_lost": {
            "wal_status": "lost",
            "status_reports_it": False,
            "lag_problems": [],
            "setup_names_the_reseed_command": False,
            "rows_match_after_reseed": False,
        },
        "passwords_in_logs": {"aws": ["gcp admin"], "gcp": ["replication role"]},
        "passwords_in_pg_stat_statements": {"aws": ["gcp admin"], "gcp": []},
    }
    assert _missed(report) == [
        "savepoint_across_cut",
        "rejected_login",
        "big_transaction",
        "burst_after_idle",
        "slot_lost",
        "passwords_in_logs",
        "passwords_in_pg_stat_statements",
    ]
