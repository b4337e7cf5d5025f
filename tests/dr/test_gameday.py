"""`python -m dr gameday`: the AWS-outage test run against local fakes of FIS, CloudWatch, EC2 (moto) and Cloudflare.

The stacks' outputs and the FIS templates come from the real programs' previews; the game day's
own code (sampling, phases, safety stops, figures, report, plot) runs unchanged, with `tools
verify`'s checks and Cloudflare client as its preflight and pool reader.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.aws.experiments import SCENARIOS as COMPONENT_SCENARIOS
from dr import __main__ as dr_main
from dr import gameday
from tests.dr.gameday_fakes import ACCOUNT, CLOUDFLARE_ACCOUNT, POOLS, REGION, AwsEstate, EdgeBehaviour, FakeEdge, FisEngine
from tools.engine.engine import map_markers
from tools.live import verify

PROJECT = Path(__file__).resolve().parents[2]
FAST = gameday.Options(
    interval=0.05,
    pool_interval=0.1,
    lag_interval=0.1,
    poll_interval=0.1,
    guard_interval=0.2,
    settle_seconds=0.3,
    hold_seconds=0.3,
    recovery_seconds=5.0,
    request_timeout=2.0,
    max_seconds=30.0,
)

# Its tests mostly wait (on the fake FIS and Cloudflare threads, and on the clocks they sample): on one pytest-xdist
# worker they leave the other workers' cores to tests that compute, instead of every worker waiting at once.
pytestmark = pytest.mark.xdist_group("gameday")


def plain(outputs: dict) -> dict:
    return map_markers(outputs, secret=lambda inner: inner, unknown=lambda: None, other=lambda v: v)


@pytest.fixture
def aws_credentials(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # moto otherwise builds its thousands of sample AMIs for the region at every start; the game day reads none.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@dataclasses.dataclass
class World:
    aws: AwsEstate
    engine: FisEngine
    edge: FakeEdge
    outputs_dir: Path
    outputs: dict

    def experiments(self) -> list[dict]:
        return boto3.client("fis", region_name=REGION).list_experiments()["experiments"]

    def clients(self, **changes) -> gameday.Clients:
        edge, outputs = self.edge, self.outputs
        api = verify.CloudflareApi(token="test-token", base_url=edge.base + "/client/v4")
        sources = verify.Sources(outputs=lambda stack: outputs[stack], cloudflare=lambda: api, url=edge.base + "/{host}{path}")

        def preflight():
            return [(f"{c.name} {c.target}", c.ok, c.detail) for c in verify.verify_stack("global", sources)]

        def http(url, headers, timeout):
            answer = verify.http_get(url, headers, timeout)
            return gameday.Response(answer.status, answer.headers)

        base = gameday.Clients(
            aws=lambda service, region: boto3.client(service, region_name=region),
            pool_health=api.pool_health,
            http=http,
            preflight=preflight,
            lag=lambda: 0.6,
        )
        return dataclasses.replace(base, **changes)


def args(world: World, *extra: str):
    return dr_main.parser().parse_args(["gameday", "aws-outage", "--outputs", str(world.outputs_dir), *extra])


# The shipped stacks' previews, copied once for the module: a world only reads them (its outputs are rebuilt by plain()).
_previews: dict[tuple[str, bool], Any] = {}


@pytest.fixture
def world(shipped, tmp_path, aws_credentials):
    """moto with aws-dr's templates and guard, the FIS engine, the fake edge, and the three stacks' outputs on disk."""

    def previewed(stack: str, preview: bool = True):
        if (stack, preview) not in _previews:
            _previews[stack, preview] = shipped(stack, preview=preview)
        return _previews[stack, preview]

    def build(behaviour: EdgeBehaviour | None = None, duration: float = 60.0, sla: dict | None = None, environment: str = "dr") -> World:
        preview = previewed("aws-dr", preview=False)
        estate = AwsEstate.create(preview)
        engine = FisEngine(estate, duration)
        engine.start()
        aws = plain(preview.outputs)
        for scenario, plan in aws["faultInjection"]["scenarios"].items():
            plan["templateId"], plan["durationSeconds"] = estate.templates[scenario], int(duration)
        aws["faultInjection"]["guard"]["dimensions"]["Environment"] = environment
        aws["vpcId"] = estate.vpc_id
        aws["sla"].update(sla or {})
        glob = plain(previewed("global").outputs)
        glob.update(accountId=CLOUDFLARE_ACCOUNT, pools=dict(POOLS))
        edge = FakeEdge(engine, glob["hostname"], glob["originHosts"], behaviour or EdgeBehaviour())
        outputs = {"aws-dr": aws, "gcp-dr": plain(previewed("gcp-dr").outputs), "global": glob}
        folder = tmp_path / "outputs"
        folder.mkdir(exist_ok=True)
        for stack, values in outputs.items():
            (folder / f"{stack}.json").write_text(json.dumps(values))
        built.append(World(estate, engine, edge, folder, outputs))
        return built[-1]

    built: list[World] = []
    # One boto3 session for the module's worlds, instead of the fresh one moto makes at every start: a fresh session
    # parses botocore's service models again for every client. Each world still gets moto's data afresh.
    saved, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, _session()
    try:
        with mock_aws(config={"core": {"reset_boto3_session": False}}):
            yield build
            for w in built:
                w.engine.stopping.set()
                w.edge.close()
            for w in built:
                w.engine.join(timeout=5)  # its last calls land on this world's moto, not on the next test's
    finally:
        boto3.DEFAULT_SESSION = saved


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


class Lines(list):
    """The run's echoed lines; a test's fake can wait for one to be said."""

    def __init__(self) -> None:
        super().__init__()
        self._said = threading.Condition()

    def append(self, line: str) -> None:
        with self._said:
            super().append(line)
            self._said.notify_all()

    def wait_for(self, text: str, timeout: float = 60.0) -> bool:
        with self._said:
            return self._said.wait_for(lambda: any(text in line for line in self), timeout)


def run_main(world: World, *extra: str, options: gameday.Options = FAST, lines: Lines | None = None, **clients) -> tuple[int, list[str]]:
    lines = Lines() if lines is None else lines
    options = dataclasses.replace(options, url=world.edge.base + "/{host}{path}", database_switch="--database-switch" in extra)
    code = gameday.main(args(world, *extra), clients=world.clients(**clients), echo=lines.append, options=options)
    return code, lines


def test_the_scenarios_are_the_templates_aws_dr_defines():
    assert set(gameday.SCENARIOS) == set(COMPONENT_SCENARIOS)


def test_a_fake_backed_aws_outage_measures_the_failover_and_writes_the_report_and_plot(world, tmp_path):
    w = world()
    report, picture = tmp_path / "gameday.json", tmp_path / "gameday.png"
    code, lines = run_main(w, "--execute", "--report", str(report), "--plot", str(picture))
    document = json.loads(report.read_text())
    f = document["figures"]
    assert code == 0, "\n".join(lines)
    assert document["outcome"] == "completed" and document["passed"] is True
    # the order of events a user would see: AWS fails, its pool turns, everything on GCP, stop, AWS back
    # (the pool is read every pool_interval, so it may be seen turned a read after the turn; and the first GCP-only
    # answer may come a request before it: the request that steering sent to GCP in turn just before the turn)
    assert 0 <= f["aws_origin_failing_s"] <= f["aws_pool_unhealthy_s"] <= f["all_on_gcp_s"] + FAST.interval + FAST.pool_interval
    assert f["all_on_gcp_s"] < f["stopped_s"]
    assert f["failed_before_all_on_gcp"] >= 1 and f["failed_before_all_on_gcp"] == f["failed_requests"]
    assert f["served_by_aws"] >= 1 and f["served_by_gcp"] >= 1
    assert f["aws_answering_again_s"] is not None and f["aws_pool_healthy_again_s"] is not None
    assert f["max_lag_s"] == 0.6 and f["lag_samples"] >= 1
    assert document["fis_acls_left"] == 0 and document["targets"]["fis_acls_left"]["met"] is True
    assert {t["met"] for t in document["targets"].values()} == {True}
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    [experiment] = w.experiments()
    assert experiment["experimentTemplateId"] == w.aws.templates["aws-outage"] and experiment["state"]["status"] == "stopped"
    assert boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace="CRM/GameDay")["Metrics"]
    assert any("every target met" in line for line in lines)


def test_each_figure_is_judged_against_the_sla_and_the_computed_detection_time(world, tmp_path):
    w = world()
    report = tmp_path / "r.json"
    run_main(w, "--execute", "--report", str(report))
    targets = json.loads(report.read_text())["targets"]
    sla = w.outputs["aws-dr"]["sla"]
    assert targets["aws_pool_unhealthy_s"]["target"] == f"<= {w.outputs['global']['detectionSeconds'] + FAST.pool_interval:g}"
    assert targets["all_on_gcp_s"]["target"] == f"<= {w.outputs['global']['detectionBudgetSeconds']:g}"
    assert targets["recovery_s"]["target"] == f"<= {sla['rtoSeconds']:g}"
    assert targets["downtime_s"]["target"] == f"<= {sla['downtimeBudgetSeconds']:g}"
    assert targets["p95_latency_ms"]["target"] == f"< {sla['latencyP95Ms']:g}"
    assert targets["max_lag_s"]["target"] == f"< {sla['rpoSeconds']:g}"


def test_a_missed_sla_figure_fails_the_run(world, tmp_path):
    # GCP takes over after 0.8 s; an RTO of 0.2 s cannot be met.
    w = world(behaviour=EdgeBehaviour(detect=0.8), sla={"rtoSeconds": 0.2})
    report = tmp_path / "r.json"
    code, lines = run_main(w, "--execute", "--report", str(report))
    document = json.loads(report.read_text())
    assert code == 1 and document["passed"] is False
    assert document["targets"]["recovery_s"]["met"] is False and document["targets"]["downtime_s"]["met"] is True
    assert any("targets missed: recovery_s" in line for line in lines)


def test_slow_answers_miss_the_latency_target(world, tmp_path):
    w = world(behaviour=EdgeBehaviour(gcp_ms=300, aws_ms=300))
    report = tmp_path / "r.json"
    # Answers this slow fill the whole run; a second of them (some twenty answers) already misses the target.
    code, _ = run_main(w, "--execute", "--report", str(report), options=dataclasses.replace(FAST, max_seconds=1.5))
    targets = json.loads(report.read_text())["targets"]
    assert code == 1 and targets["p95_latency_ms"]["met"] is False and targets["p95_latency_ms"]["value"] >= 300


def test_sigterm_stops_the_experiment(world, tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread")
    w = world(behaviour=EdgeBehaviour(detect=10**6))

    def interrupt():
        deadline = time.monotonic() + 20
        while not w.experiments() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=interrupt, daemon=True)
    killer.start()
    report = tmp_path / "r.json"
    code, lines = run_main(w, "--execute", "--report", str(report))
    killer.join()
    [experiment] = w.experiments()
    assert code == 130 and json.loads(report.read_text())["outcome"] == "interrupted"
    assert experiment["state"]["status"] in ("stopping", "stopped")
    assert any("interrupted (SIGTERM)" in line for line in lines)


def test_production_is_refused_without_the_flag_and_nothing_starts(world, capsys):
    w = world(environment="production")
    code = dr_main.main(["gameday", "aws-outage", "--outputs", str(w.outputs_dir), "--execute"])
    assert code == 2 and "needs --allow-production" in capsys.readouterr().err
    assert w.experiments() == []


def test_production_with_the_flag_runs(world):
    w = world(environment="production")
    code, lines = run_main(w, "--execute", "--allow-production")
    assert code == 0, "\n".join(lines)
    assert len(w.experiments()) == 1


class FakeClock(gameday.Clock):
    """Time that moves only when the game day sleeps."""

    def __init__(self) -> None:
        self.t = 10_000.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        time.sleep(0.001)  # let the samplers' threads run


def test_the_run_is_bounded_in_time_and_the_experiment_stopped(world, tmp_path):
    # Cloudflare never notices: the failover does not happen, the bound ends the run.
    w = world(behaviour=EdgeBehaviour(detect=10**6))
    report = tmp_path / "r.json"
    options = dataclasses.replace(
        FAST, interval=1.0, pool_interval=5.0, poll_interval=5.0, guard_interval=10.0, settle_seconds=5.0, max_seconds=45.0
    )
    code, _lines = run_main(w, "--execute", "--report", str(report), options=options, clock=FakeClock())
    document = json.loads(report.read_text())
    [experiment] = w.experiments()
    assert code == 1 and document["outcome"] == "timed-out"
    assert document["events"]["stopped"] >= 45.0 and experiment["state"]["status"] in ("stopping", "stopped")
    assert document["targets"]["all_on_gcp_s"]["met"] is False


def test_when_users_see_only_errors_past_the_failover_budget_the_run_aborts_and_pulls_the_guard(world, tmp_path):
    # GCP fails with AWS: there is nothing to fail over to, so the game day gives up rather than wait for its bound.
    w = world(behaviour=EdgeBehaviour(detect=10**6, gcp_fails_with_aws=True))
    report = tmp_path / "r.json"
    options = dataclasses.replace(
        FAST, interval=1.0, pool_interval=5.0, poll_interval=5.0, guard_interval=10.0, settle_seconds=5.0, max_seconds=600.0
    )
    code, _lines = run_main(w, "--execute", "--report", str(report), options=options, clock=FakeClock())
    document = json.loads(report.read_text())
    [experiment] = w.experiments()
    assert code == 1 and document["outcome"] == "aborted" and experiment["state"]["status"] in ("stopping", "stopped")
    budget = w.outputs["global"]["detectionBudgetSeconds"]
    assert budget + 30 <= document["events"]["stopped"] < options.max_seconds
    guard = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="CRM/GameDay",
        MetricName="Abort",
        Dimensions=[{"Name": "Environment", "Value": "dr"}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=60,
        Statistics=["Maximum"],
    )
    assert max(p["Maximum"] for p in guard["Datapoints"]) == 1.0


def test_an_unhealthy_estate_starts_nothing(world):
    w = world(behaviour=EdgeBehaviour(gcp_healthy=False))
    with pytest.raises(gameday.Refused, match="not healthy"):
        run_main(w, "--execute")
    assert w.experiments() == []


def test_the_database_side_runs_after_the_switch_and_before_the_stop(world, tmp_path):
    calls = []

    def switch(echo):
        calls.append(time.monotonic())
        echo("promote, then fail back")
        return {"promotion_s": 0.1, "failback_s": 0.2}

    w = world()
    report = tmp_path / "r.json"
    code, _ = run_main(w, "--execute", "--database-switch", "--report", str(report), database_switch=switch)
    document = json.loads(report.read_text())
    events, figures_ = document["events"], document["figures"]
    assert code == 0 and len(calls) == 1 and document["database"] == {"promotion_s": 0.1, "failback_s": 0.2}
    assert figures_["all_on_gcp_s"] <= events["database_switch_started"] <= events["database_switch_done"] <= events["stopped"]
    assert figures_["recovery_s"] == max(figures_["all_on_gcp_s"], events["database_switch_done"])


def test_an_error_on_the_database_side_stops_the_experiment(world, tmp_path):
    def switch(echo):
        raise RuntimeError("the copy did not answer")

    w = world()
    report = tmp_path / "r.json"
    code, lines = run_main(w, "--execute", "--database-switch", "--report", str(report), database_switch=switch)
    [experiment] = w.experiments()
    assert code == 2 and json.loads(report.read_text())["outcome"] == "error"
    assert experiment["state"]["status"] in ("stopping", "stopped")
    assert any("the copy did not answer" in line for line in lines)


def test_the_dry_run_prints_the_plan_and_calls_nothing(world):
    w = world()
    lines: list[str] = []
    code = gameday.main(args(w, "--dry-run"), clients=None, echo=lines.append)
    plan = "\n".join(lines)
    assert code == 0 and w.experiments() == []
    assert w.aws.templates["aws-outage"] in plan and "aws:network:disrupt-connectivity" in plan
    assert "detection <= 75 s" in plan and "RTO <= 300 s" in plan and "add --execute" in plan


def test_the_dry_run_against_the_offline_preview_runs_as_a_user_runs_it():
    done = subprocess.run(
        [sys.executable, "-m", "dr", "gameday", "aws-outage", "--dry-run", "--outputs", "offline"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Game day 'aws-outage' on aws-dr (dr)" in done.stdout and "PT10M" in done.stdout
    assert "Traceback" not in done.stderr


def test_figures_take_the_final_run_of_gcp_answers_and_count_failures_before_it():
    timeline = gameday.Timeline()
    answers = [
        (0.0, 200, "aws"),
        (1.0, 503, None),
        (2.0, 200, "gcp"),
        (3.0, 503, None),
        (4.0, 200, "gcp"),
        (5.0, 200, "gcp"),
        (6.0, 200, "gcp"),
    ]
    for t, status, cloud in answers:
        timeline.add("http", {"t": t, "target": "public", "status": status, "served_by": cloud, "ms": 10.0 * (t + 1)})
    timeline.add("pools", {"t": 2.5, "aws": False, "gcp": True})
    timeline.event("injected", 0.0)
    timeline.event("stopped", 7.0)
    estate = gameday.Estate(
        stacks={"aws": "aws-dr", "gcp": "gcp-dr", "global": "global"},
        environment="dr",
        region=REGION,
        scenario="aws-outage",
        template_id="EXT1",
        action_id="aws:network:disrupt-connectivity",
        summary="",
        parameters={},
        duration_seconds=600,
        expects_failover=True,
        stop_alarms=[],
        guard={},
        host="crm.example.com",
        aws_origin_host="crm-dr-aws.example.com",
        account_id=CLOUDFLARE_ACCOUNT,
        pools=dict(POOLS),
        detection_seconds=75,
        detection_budget_seconds=120,
        sla={"downtimeBudgetSeconds": 259.2, "rtoSeconds": 300, "latencyP95Ms": 200, "rpoSeconds": 5, "availabilityPercent": 99.99},
    )
    f = gameday.figures(timeline, estate, dataclasses.replace(FAST, interval=1.0, settle_seconds=2.0))
    assert (f["all_on_gcp_s"], f["failed_requests"], f["failed_before_all_on_gcp"], f["aws_pool_unhealthy_s"]) == (4.0, 2, 2, 2.5)
    assert f["downtime_s"] == 2.0 and f["error_budget_spent_percent"] == round(2 / 259.2 * 100, 2)
    assert f["p95_latency_ms"] == 70.0  # of the five answered requests, 10 ... 70 ms


def test_the_images_commands_import_none_of_the_game_days_dependencies():
    # dr/Dockerfile installs only the dr group (psycopg): the database commands must not need the tooling, boto3 or matplotlib.
    probe = "import sys, dr.__main__; print(sorted(m for m in ('tools', 'boto3', 'botocore', 'matplotlib', 'pulumi', 'stacks') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_account_of_the_fakes_is_motos():
    assert ACCOUNT == "123456789012"


def test_the_real_clients_are_tools_verifys_checks_and_dr_lags_probe(world, monkeypatch):
    w = world()
    checked, measured = [], []
    monkeypatch.setattr(verify, "verify_stack", lambda stack, sources: checked.append((stack, sources.rpo_seconds)) or [])
    monkeypatch.setattr(gameday, "replication_lag", lambda copy, primary, timeout: measured.append((copy, primary, timeout)) or 1.5)
    estate = gameday.estate_from_outputs("aws-outage", w.outputs, {"aws": "aws-dr", "gcp": "gcp-dr", "global": "global"})
    w.outputs["gcp-dr"].update(databasePrivateIp="10.23.0.5", databasePassword="copy-pw")
    clients = gameday.default_clients(estate, w.outputs, args(w, "--database-host", "127.0.0.1:6543"))
    clients.preflight()
    assert checked == [("aws-dr", 5.0), ("gcp-dr", 5.0), ("global", 5.0)]
    assert clients.lag is not None and clients.lag() == 1.5
    [(copy, primary, timeout)] = measured
    assert (copy.host, copy.port, copy.password) == ("127.0.0.1", 6543, "copy-pw")
    assert (primary.host, primary.password) == (w.outputs["aws-dr"]["databaseAddress"], w.outputs["aws-dr"]["databasePassword"])
    assert timeout == 10.0 and clients.aws is verify.boto3_client and clients.database_switch is None


def test_an_experiment_fis_already_stopped_is_not_a_failure_to_stop(world, tmp_path):
    # The guard or the lag alarm stopped it first: FIS then refuses StopExperiment, which the game day reads as done.
    w = world()
    from moto.fis.models import fis_backends

    class StoppedByFis:
        def __init__(self, client):
            self.client = client

        def __getattr__(self, name):
            return getattr(self.client, name)

        def stop_experiment(self, id):
            fis_backends[ACCOUNT][REGION].experiments[id].status = "stopping"  # as its stop condition does; the engine undoes the cut
            raise RuntimeError("ConflictException: the experiment is not running")

    def aws(service, region):
        client = boto3.client(service, region_name=region)
        return StoppedByFis(client) if service == "fis" else client

    report = tmp_path / "r.json"
    code, lines = run_main(w, "--execute", "--report", str(report), aws=aws)
    assert code == 0, "\n".join(lines)
    assert json.loads(report.read_text())["outcome"] == "completed"
    # The fake FIS turns "stopping" into "stopped" 20 ms later: on a busy machine the game day may read either.
    assert any(re.search(r"experiment already stopp(ing|ed)$", line) for line in lines), "\n".join(lines)
    assert not any("could not stop" in line for line in lines)


class FailingStops:
    """FIS whose StopExperiment is throttled the first `failures` times (every time: None)."""

    def __init__(self, client, failures: int | None):
        self.client, self.failures, self.calls = client, failures, 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def stop_experiment(self, id):
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise RuntimeError("ThrottlingException: Rate exceeded")
        return self.client.stop_experiment(id=id)


def _guard_maximum() -> float:
    guard = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="CRM/GameDay",
        MetricName="Abort",
        Dimensions=[{"Name": "Environment", "Value": "dr"}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=60,
        Statistics=["Maximum"],
    )
    return max(p["Maximum"] for p in guard["Datapoints"])


def _run_with_failing_stops(world, tmp_path, failures: int | None):
    w = world(behaviour=EdgeBehaviour(detect=10**6))
    fis: list[FailingStops] = []

    def aws(service, region):
        client = boto3.client(service, region_name=region)
        if service != "fis":
            return client
        fis.append(FailingStops(client, failures))
        return fis[-1]

    report = tmp_path / "r.json"
    options = dataclasses.replace(
        FAST, interval=1.0, pool_interval=5.0, poll_interval=5.0, guard_interval=10.0, settle_seconds=5.0, max_seconds=45.0
    )
    code, lines = run_main(w, "--execute", "--report", str(report), options=options, clock=FakeClock(), aws=aws)
    [experiment] = w.experiments()
    return code, lines, json.loads(report.read_text()), experiment, fis[0].calls


def test_a_stop_that_fails_once_is_tried_again_and_pulls_the_guard(world, tmp_path):
    code, _lines, document, experiment, calls = _run_with_failing_stops(world, tmp_path, failures=1)
    assert calls == 2 and experiment["state"]["status"] in ("stopping", "stopped")
    assert code == 1 and document["outcome"] == "timed-out"
    assert _guard_maximum() == 1.0


def test_a_stop_that_keeps_failing_says_so_and_leaves_the_guard_pulled(world, tmp_path):
    code, lines, document, _experiment, calls = _run_with_failing_stops(world, tmp_path, failures=None)
    assert calls == gameday.STOP_ATTEMPTS
    assert code == 2 and "STOP FAILED" in (document.get("error") or "")
    assert any("could not stop experiment" in line for line in lines)
    assert _guard_maximum() == 1.0


def test_a_signal_while_the_experiment_starts_still_stops_it(world, tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread")
    w = world(behaviour=EdgeBehaviour(detect=10**6))

    class SignalledDuringStart:
        def __init__(self, client):
            self.client = client

        def __getattr__(self, name):
            return getattr(self.client, name)

        def start_experiment(self, **kwargs):
            response = self.client.start_experiment(**kwargs)
            os.kill(os.getpid(), signal.SIGTERM)  # CI cancels the job before the answer is read
            return response

    def aws(service, region):
        client = boto3.client(service, region_name=region)
        return SignalledDuringStart(client) if service == "fis" else client

    report = tmp_path / "r.json"
    code, _lines = run_main(w, "--execute", "--report", str(report), aws=aws)
    [experiment] = w.experiments()
    assert code == 130 and json.loads(report.read_text())["outcome"] == "interrupted"
    assert experiment["state"]["status"] in ("stopping", "stopped")


class SkippingClock(gameday.Clock):
    """Real time, plus the stretches a test skips (a long wait without waiting for it)."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped


def test_the_run_waits_for_a_database_side_still_running_at_the_bound(world, tmp_path):
    finished: list[float] = []
    clock, lines = SkippingClock(), Lines()

    def slow_switch(echo):
        clock.skipped += FAST.max_seconds  # a failback that outlasts the run's bound
        assert lines.wait_for("database side still running")  # the run reached its bound and ended with this still running
        time.sleep(0.5)  # and it goes on a while longer
        finished.append(time.monotonic())
        return {"promotion_s": 1.0, "failback_s": 7.0}

    w = world()
    report = tmp_path / "r.json"
    _code, lines = run_main(
        w, "--execute", "--database-switch", "--report", str(report), lines=lines, database_switch=slow_switch, clock=clock
    )
    returned = time.monotonic()
    document = json.loads(report.read_text())
    assert document["outcome"] == "timed-out" and "database_switch_started" in document["events"]
    assert finished and finished[0] <= returned  # the report was written after the database side finished
    assert document["database"] == {"promotion_s": 1.0, "failback_s": 7.0}
    assert any("database side still running" in line for line in lines)
    assert document["events"]["stopped"] <= document["events"]["database_switch_done"]
