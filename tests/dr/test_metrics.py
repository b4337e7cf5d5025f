"""The lag exporter's pure parts: what it reads from `dr lag --json` and the sample it writes."""

from __future__ import annotations

from components.gcp.monitoring import LAG_METRIC
from dr import metrics


def test_reads_the_lag_in_seconds():
    assert metrics.measured_lag('{"seconds": 0.42, "bytes": 1024, "ok": true, "problems": []}') == 0.42


def test_no_measurement_when_lag_is_unknown():
    assert metrics.measured_lag('{"seconds": null, "problems": ["no heartbeat on the copy"]}') is None
    assert metrics.measured_lag("replication is not running") is None


def test_writes_the_metric_the_alert_policy_watches():
    body = metrics.time_series("crm-dr-project", 1.5, now=0)
    series = body["timeSeries"][0]
    assert series["metric"]["type"] == LAG_METRIC
    assert series["resource"] == {"type": "global", "labels": {"project_id": "crm-dr-project"}}
    assert series["points"][0] == {"interval": {"endTime": "1970-01-01T00:00:00Z"}, "value": {"doubleValue": 1.5}}
    assert (series["metricKind"], series["valueType"]) == ("GAUGE", "DOUBLE")
