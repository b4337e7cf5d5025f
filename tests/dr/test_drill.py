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


def test_a_missed_target_is_reported_as_missed():
    args = SimpleNamespace(min_tps=1000, max_lag_p99=1.0, max_promotion=10.0)
    report = {
        "tps": 1500.0,
        "lag_p99_s": 1.4,
        "promotion_s": 2.0,
        "collisions": 0,
        "recovery_collisions": 0,
        "divergent_rows": 0,
        "unrecovered_rows": 0,
        "leftover_replication_objects": {},
    }
    missed = [name for name, _target, met in drill.targets(report, args) if not met]
    assert missed == ["lag_p99_s"]
