"""`python -m dr.metrics --max-seconds N --project P`: measure the copy's lag and write it to Cloud Monitoring.

Runs every minute as the gcp-dr lag CronJob. It runs `python -m dr lag --json --max-seconds N`
(endpoints from the environment, as every `dr` command) and reads `seconds` from its JSON record
(the true lag, measured with a probe heartbeat through the primary); it writes it as the gauge
`custom.googleapis.com/crm/replication_lag_seconds` on the `global` resource, which the gcp-dr
alert policy watches. No sample is written when lag cannot be measured: the policy's absence
condition reports that. Credentials come from the GKE metadata server (Workload Identity); the
standard library is enough, so the image needs nothing more than the `dr` tool itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request

METRIC_TYPE = "custom.googleapis.com/crm/replication_lag_seconds"
TOKEN_URL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
API = "https://monitoring.googleapis.com/v3/projects/{project}/timeSeries"


def time_series(project: str, lag_seconds: float, now: float | None = None) -> dict:
    """The CreateTimeSeries request body for one gauge sample."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now if now is not None else time.time()))
    return {
        "timeSeries": [
            {
                "metric": {"type": METRIC_TYPE},
                "resource": {"type": "global", "labels": {"project_id": project}},
                "metricKind": "GAUGE",
                "valueType": "DOUBLE",
                "points": [{"interval": {"endTime": stamp}, "value": {"doubleValue": float(lag_seconds)}}],
            }
        ]
    }


def measured_lag(report: str) -> float | None:
    """The lag in seconds from `dr lag --json` output, or None when it reports no measurement."""
    try:
        data = json.loads(report)
    except ValueError:
        return None
    value = data.get("seconds") if isinstance(data, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _token() -> str:
    request = urllib.request.Request(TOKEN_URL, headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["access_token"]


def push(project: str, lag_seconds: float) -> None:
    body = json.dumps(time_series(project, lag_seconds)).encode()
    request = urllib.request.Request(
        API.format(project=project),
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {_token()}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dr.metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, required=True, help="the lag threshold passed to `dr lag`")
    parser.add_argument("--project", required=True, help="the GCP project the metric is written to")
    args = parser.parse_args(argv)
    # `dr lag` exits non-zero above the threshold; its JSON still carries the measurement.
    result = subprocess.run(
        [sys.executable, "-m", "dr", "lag", "--json", "--max-seconds", str(args.max_seconds)], capture_output=True, text=True, timeout=40
    )
    lag = measured_lag(result.stdout)
    if lag is None:
        print(f"lag not measured (dr lag exit {result.returncode}): {result.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    push(args.project, lag)
    print(f"replication lag {lag:.3f} s written to {METRIC_TYPE}")
    return 0 if lag <= args.max_seconds else 2


if __name__ == "__main__":
    sys.exit(main())
