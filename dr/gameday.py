"""`python -m dr gameday <scenario>`: the source documents' AWS-outage test, run against the deployed estate.

The documents' test 2 ("AWS failure: the AWS pool turns unhealthy and Cloudflare moves 100 % of
traffic to GCP within 30 s - 2 min") as one command, with the AWS Fault Injection Service doing the
breaking (aws-dr's experiment templates, components/aws/fault_injection.py):

1. reads the stacks' outputs (aws-dr: the templates, the guard, the SLA; global: the pools, the
   host, the computed detection time; gcp-dr: the copy, for the replication lag);
2. checks the estate first with `tools verify`'s own checks, and that the guard alarm is quiet;
3. starts the experiment and samples, every `--interval` seconds, the public host through
   Cloudflare and the AWS origin host (the aws stack's originHost) (status, X-Cloud-Provider, latency), every few seconds both
   Cloudflare pools' health (Cloudflare's API) and the copy's replication lag;
4. records when the AWS pool turned unhealthy, from when every sampled request was served by GCP,
   how many failed in between; optionally runs the database side (`--database-switch`: the planned
   promotion of the copy, then the failback), stops the experiment and records when AWS served
   again and that FIS left no network ACL behind;
5. writes a JSON report and a plot, and compares each figure with the SLA (crm:monitoring, exported
   as aws-dr's `sla`) and the detection time the global stack computes from its monitor settings
   (`detectionSeconds`, `detectionBudgetSeconds`).

It is safe by construction: a dry run unless `--execute` (the plan is printed from the outputs,
nothing is called); production only with `--allow-production`; bounded by `--max-minutes`; and any
error, SIGINT or SIGTERM stops the experiment before the command ends. The guard alarm is the
second brake: the command publishes `Abort` = 0 while it supervises and 1 when users see errors
beyond the failover budget, and FIS stops every experiment of the environment when it fires.

Where it runs: from a checkout of this repository with `python3 dev.py install` (the scheduled
workflow, an operator's machine, a runner inside the GCP DR network for the lag). It reads outputs
through the Pulumi CLI and reuses `tools verify` (its checks, Cloudflare and HTTP clients) and boto3,
and dr's own lag measurement and promotion; the image built from dr/Dockerfile runs the database
commands only and carries none of the tooling, so this module imports it only when a real run
builds its clients.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .endpoint import DrError

# The scenarios of components/aws/experiments.py (aws-dr exports their templates; a test keeps the lists equal).
SCENARIOS = ("aws-outage", "rds-failover", "eks-nodes")
TERMINAL = ("completed", "stopped", "failed", "cancelled")
CLOUDS = ("aws", "gcp")
UNKNOWN_TEXT = "[unknown until deploy]"


class GameDayError(DrError):
    """The game day cannot run (missing output, bad option): nothing was started."""


class Refused(GameDayError):
    """A safety check said no (production without the flag, an unhealthy estate, the guard in alarm)."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; the experiment is stopped on the way out."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Clock:
    """Time as the game day reads it; tests pass another."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# ---------------------------------------------------------------- what the outputs say


@dataclass
class Estate:
    stacks: dict[str, str]  # role (aws, gcp, global) -> stack name
    environment: str
    region: str
    scenario: str
    template_id: str
    action_id: str
    summary: str
    parameters: dict[str, str]
    duration_seconds: int
    expects_failover: bool
    stop_alarms: list[str]
    guard: dict[str, Any]
    host: str
    aws_origin_host: str  # the proxied name that reaches only AWS (aws stack's originHost)
    account_id: str
    pools: dict[str, str]
    detection_seconds: float
    detection_budget_seconds: float
    sla: dict[str, Any]
    vpc_id: str | None = None

    @property
    def production(self) -> bool:
        return self.environment == "production"


def _shown(value: Any) -> Any:
    return UNKNOWN_TEXT if value is None else value


def estate_from_outputs(scenario: str, outputs: Mapping[str, Mapping[str, Any]], stacks: Mapping[str, str]) -> Estate:
    """The game day's view of the three stacks' outputs; every missing output is named at once."""
    aws, glob = outputs.get(stacks["aws"]) or {}, outputs.get(stacks["global"]) or {}
    missing = [f"{stacks['aws']}: {key}" for key in ("faultInjection", "region", "sla", "originHost") if key not in aws]
    missing += [
        f"{stacks['global']}: {key}"
        for key in ("hostname", "accountId", "pools", "detectionSeconds", "detectionBudgetSeconds")
        if key not in glob
    ]
    if missing:
        hint = " (crm:faultInjection.enabled is false there?)" if any(m.endswith("faultInjection") for m in missing) else ""
        raise GameDayError("stack output(s) missing: " + ", ".join(missing) + hint)
    plan = aws["faultInjection"]
    scenarios = plan.get("scenarios") or {}
    if scenario not in scenarios:
        raise GameDayError(
            f"{stacks['aws']} has no experiment template for '{scenario}' (it has: {', '.join(sorted(scenarios)) or 'none'})"
        )
    chosen = scenarios[scenario]
    guard = plan.get("guard") or {}
    return Estate(
        stacks=dict(stacks),
        environment=str((guard.get("dimensions") or {}).get("Environment") or stacks["aws"].rsplit("-", 1)[-1]),
        region=aws["region"],
        scenario=scenario,
        template_id=chosen.get("templateId"),
        action_id=chosen.get("actionId", "?"),
        summary=chosen.get("summary", ""),
        parameters=dict(chosen.get("parameters") or {}),
        duration_seconds=int(chosen.get("durationSeconds") or 0),
        expects_failover=bool(chosen.get("expectsFailover")),
        stop_alarms=list(chosen.get("stopAlarms") or []),
        guard=guard,
        host=glob["hostname"],
        aws_origin_host=aws["originHost"],
        account_id=glob["accountId"],
        pools=dict(glob["pools"] or {}),
        detection_seconds=float(glob["detectionSeconds"]),
        detection_budget_seconds=float(glob["detectionBudgetSeconds"]),
        sla=dict(aws["sla"]),
        vpc_id=aws.get("vpcId"),
    )


# ---------------------------------------------------------------- options and clients


@dataclass
class Options:
    interval: float = 1.0  # seconds between requests to the host (each request its own sample)
    pool_interval: float = 5.0  # Cloudflare's API allows 1,200 requests in 5 minutes per user
    lag_interval: float = 5.0
    poll_interval: float = 5.0  # the experiment's state
    guard_interval: float = 10.0  # the guard metric's heartbeat (its alarm's period)
    settle_seconds: float = 5.0  # this long of GCP-only answers counts as "everything on GCP"
    hold_seconds: float = 60.0  # after the switch, keep watching before the database side and the stop
    recovery_seconds: float = 600.0  # after the stop, how long to wait for AWS to answer again
    request_timeout: float = 20.0  # a request still unanswered then counts as failed (Cloudflare's 522 comes after 15 s)
    max_seconds: float = 1800.0  # the whole run, after which the experiment is stopped whatever the phase
    database_switch: bool = False
    url: str = "https://{host}{path}"  # tests point this at a local server
    path: str = "/health"


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]


@dataclass
class Clients:
    aws: Callable[[str, str], Any]  # (service, region) -> a boto3 client
    pool_health: Callable[[str, str], dict]  # (account, pool id) -> Cloudflare's pool health result
    http: Callable[[str, Mapping[str, str], float], Response]
    preflight: Callable[[], list[tuple[str, bool, str]]]  # (check, ok, detail)
    lag: Callable[[], float | None] | None = None
    database_switch: Callable[[Callable[[str], None]], dict] | None = None
    clock: Clock = field(default_factory=Clock)


# ---------------------------------------------------------------- the timeline


@dataclass
class Timeline:
    http: list[dict] = field(default_factory=list)  # {"t", "target": "public"|"aws", "status", "served_by", "ms", "error"}
    pools: list[dict] = field(default_factory=list)  # {"t", "aws": bool|None, "gcp": bool|None}
    lag: list[dict] = field(default_factory=list)  # {"t", "seconds"}
    experiment: list[dict] = field(default_factory=list)  # {"t", "status", "reason"}
    guard: list[dict] = field(default_factory=list)  # {"t", "value"}
    events: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, series: str, sample: dict) -> None:
        with self._lock:
            getattr(self, series).append(sample)

    def samples(self, series: str) -> list[dict]:
        with self._lock:
            return sorted(getattr(self, series), key=lambda s: s["t"])

    def event(self, name: str, t: float) -> None:
        self.events.setdefault(name, round(t, 3))


def ok(sample: dict) -> bool:
    return sample.get("status") is not None and 200 <= sample["status"] < 400


def on_gcp(sample: dict) -> bool:
    return ok(sample) and sample.get("served_by") == "gcp"


def _pool_down(health: dict) -> bool | None:
    regions = health.get("pop_health") or {}
    if not regions:
        return None
    return not any((r or {}).get("healthy") for r in regions.values())


# ---------------------------------------------------------------- the run


@dataclass
class Outcome:
    status: str = "completed"  # completed | timed-out | aborted | interrupted | error | refused
    experiment_id: str | None = None
    error: str | None = None
    preflight: list[dict] = field(default_factory=list)
    database: dict | None = None
    fis_acls_left: int | None = None
    started_at: str | None = None
    stop_failed: bool = False  # the experiment may still be running: a person must stop it


# Attempts at StopExperiment before the game day tells a person to stop it (the guard is pulled after each failure).
STOP_ATTEMPTS = 5


class _Run:
    def __init__(self, estate: Estate, clients: Clients, options: Options, echo: Callable[[str], None]):
        self.estate, self.clients, self.options, self.echo = estate, clients, options, echo
        self.clock = clients.clock
        self.timeline = Timeline()
        self.outcome = Outcome()
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="gameday")
        self.pending: list[Future] = []
        self.t0 = 0.0
        self.due: dict[str, float] = {}
        self.fis = clients.aws("fis", estate.region)
        self.cloudwatch = clients.aws("cloudwatch", estate.region)
        self.stopped = False
        self.switch: Future | None = None  # the database side, once started
        self.experiment_status: str | None = None
        self.sequence = 0

    # -- time
    def now(self) -> float:
        return self.clock.monotonic() - self.t0

    def _due(self, key: str, every: float, t: float) -> bool:
        if t >= self.due.get(key, -math.inf):
            self.due[key] = t + every
            return True
        return False

    # -- samplers (each runs in the executor; a slow answer never holds up the next sample)
    def _request(self, target: str, sequence: int) -> None:
        t = self.now()  # when it is sent, not when it was scheduled
        host = self.estate.host if target == "public" else self.estate.aws_origin_host
        url = self.options.url.format(host=host, path=f"{self.options.path}?gameday={sequence}")
        started = self.clock.monotonic()
        sample: dict[str, Any] = {"t": round(t, 3), "target": target}
        try:
            response = self.clients.http(url, {"Cache-Control": "no-cache", "Host": host}, self.options.request_timeout)
            sample.update(status=response.status, served_by=(response.headers.get("x-cloud-provider") or "").lower() or None)
        except Exception as error:
            sample.update(status=None, served_by=None, error=f"{type(error).__name__}: {str(error)[:120]}")
        sample["ms"] = round((self.clock.monotonic() - started) * 1000, 1)
        self.timeline.add("http", sample)

    def _pools(self) -> None:
        t = self.now()
        sample: dict[str, Any] = {"t": round(t, 3)}
        for cloud in CLOUDS:
            try:
                down = _pool_down(self.clients.pool_health(self.estate.account_id, self.estate.pools[cloud]))
                sample[cloud] = None if down is None else not down
            except Exception as error:
                sample[cloud] = None
                sample[f"{cloud}_error"] = f"{type(error).__name__}: {str(error)[:120]}"
        self.timeline.add("pools", sample)

    def _lag(self) -> None:
        t = self.now()
        try:
            seconds = self.clients.lag() if self.clients.lag else None
        except Exception as error:
            seconds = None
            self.timeline.notes.append(f"lag at {t:.0f} s: {type(error).__name__}")
        self.timeline.add("lag", {"t": round(t, 3), "seconds": seconds})

    def _poll(self, t: float) -> None:
        experiment = self.fis.get_experiment(id=self.outcome.experiment_id)["experiment"]
        state = experiment.get("state") or {}
        status = state.get("status")
        if status != self.experiment_status:
            self.experiment_status = status
            self.timeline.add("experiment", {"t": round(t, 3), "status": status, "reason": state.get("reason")})
            self.echo(f"[{t:7.1f}s] experiment {status}: {state.get('reason', '')}")

    def _publish_guard(self, value: int) -> None:
        guard = self.estate.guard
        self.cloudwatch.put_metric_data(
            Namespace=guard["namespace"],
            MetricData=[
                {
                    "MetricName": guard["metric"],
                    "Dimensions": [{"Name": k, "Value": v} for k, v in (guard.get("dimensions") or {}).items()],
                    "Value": float(value),
                    "StorageResolution": 1,
                }
            ],
        )
        self.timeline.add("guard", {"t": round(self.now(), 3) if self.t0 else 0.0, "value": value})

    def _submit(self, fn: Callable, *args: Any) -> None:
        self.pending = [f for f in self.pending if not f.done()]
        self.pending.append(self.executor.submit(fn, *args))

    def _tick(self, t: float) -> None:
        o = self.options
        if self._due("http", o.interval, t):
            self.sequence += 1
            self._submit(self._request, "public", self.sequence)
            self._submit(self._request, "aws", self.sequence)
        if self._due("pools", o.pool_interval, t):
            self._submit(self._pools)
        if self.clients.lag and self._due("lag", o.lag_interval, t):
            self._submit(self._lag)
        if self._due("poll", o.poll_interval, t):
            self._poll(t)
        if self._due("guard", o.guard_interval, t):
            self._publish_guard(0)

    # -- phases
    def _settled_on_gcp(self) -> bool:
        """The last settle_seconds of answered public requests were all served by GCP."""
        window = self.options.settle_seconds
        now = self.now()
        recent = [s for s in self.timeline.samples("http") if s["target"] == "public" and s["t"] >= now - window - self.options.interval]
        span = (recent[-1]["t"] - recent[0]["t"]) if recent else 0
        return bool(recent) and span >= window * 0.8 and all(on_gcp(s) for s in recent)

    def _users_failing(self) -> bool:
        """Every public request of the last 30 s failed, past the failover budget: the failover is not happening."""
        now = self.now()
        if now < self.estate.detection_budget_seconds + 30:
            return False
        recent = [s for s in self.timeline.samples("http") if s["target"] == "public" and s["t"] >= now - 30]
        return len(recent) >= 3 and not any(ok(s) for s in recent)

    def _aws_back(self, since: float) -> bool:
        answered = any(s["t"] >= since and ok(s) for s in self.timeline.samples("http") if s["target"] == "aws")
        pool = any(s["t"] >= since and s.get("aws") is True for s in self.timeline.samples("pools"))
        return answered and pool

    def _sleep_until_next(self) -> None:
        self.clock.sleep(min(self.options.interval, self.options.pool_interval) / 4)

    def run(self) -> tuple[Timeline, Outcome]:
        previous = _install_signal_handlers()
        try:
            self._start()
            self._observe()
        except Interrupted as stop:
            self.outcome.status = "interrupted"
            self.timeline.notes.append(f"interrupted by {signal.Signals(stop.signum).name}")
            self.echo(f"interrupted ({signal.Signals(stop.signum).name}): stopping the experiment")
        except Refused:
            self.outcome.status = "refused"
            raise
        except Exception as error:
            self.outcome.status = "error"
            self.outcome.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
            self.echo(f"error: {self.outcome.error}: stopping the experiment")
        finally:
            _hold_signals()  # a second Ctrl-C must not skip the stop
            try:
                self._finish()
            finally:
                _restore_signal_handlers(previous)
                self.executor.shutdown(wait=False, cancel_futures=True)
        return self.timeline, self.outcome

    def _start(self) -> None:
        checks = self.clients.preflight()
        self.outcome.preflight = [{"check": name, "ok": passed, "detail": detail} for name, passed, detail in checks]
        for name, passed, detail in checks:
            self.echo(f"preflight  {'ok  ' if passed else 'FAIL'}  {name}: {detail}")
        if not checks or not all(passed for _, passed, _ in checks):
            raise Refused("the estate is not healthy (preflight above); nothing was started")
        alarm = self.estate.guard.get("alarmName")
        found = self.cloudwatch.describe_alarms(AlarmNames=[alarm]).get("MetricAlarms") or []
        if not found:
            raise Refused(f"the guard alarm {alarm} does not exist: deploy {self.estate.stacks['aws']} first")
        if found[0].get("StateValue") == "ALARM":
            raise Refused(f"the guard alarm {alarm} is in ALARM: someone asked to stop game days (docs/runbooks/gameday.md)")
        self._publish_guard(0)
        self.outcome.started_at = self.clock.now().isoformat(timespec="seconds")
        with _deferred_signals():  # a Ctrl-C while the start is in flight is obeyed once its id is known, so it is stopped
            response = self.fis.start_experiment(
                clientToken=str(uuid.uuid4()),
                experimentTemplateId=self.estate.template_id,
                tags={"gameday": self.estate.scenario, "started": self.outcome.started_at},
            )
            self.outcome.experiment_id = response["experiment"]["id"]
        self.t0 = self.clock.monotonic()
        self.timeline.event("injected", 0.0)
        self.echo(f"[{0:7.1f}s] experiment {self.outcome.experiment_id} started from template {self.estate.template_id}")

    def _observe(self) -> None:
        o, estate = self.options, self.estate
        phase, until, switch = "inject", None, None
        while True:
            t = self.now()
            if t >= o.max_seconds:
                self.outcome.status = "timed-out"
                self.timeline.notes.append(f"the {o.max_seconds:g} s bound was reached in phase {phase}")
                self.echo(f"[{t:7.1f}s] time bound reached ({phase}): stopping the experiment")
                return
            self._tick(t)
            finished = self.experiment_status in TERMINAL
            if phase == "inject":
                if self._users_failing():
                    self.outcome.status = "aborted"
                    self.timeline.notes.append("every public request failed for 30 s past the failover budget: aborted")
                    self.echo(f"[{t:7.1f}s] users see only errors past the failover budget: abort")
                    self._publish_guard(1)
                    return
                if estate.expects_failover and self._settled_on_gcp():
                    self.echo(f"[{t:7.1f}s] every request served by GCP; watching {o.hold_seconds:g} s more")
                    phase, until = "hold", t + o.hold_seconds
                elif not estate.expects_failover and (finished or t >= o.hold_seconds):
                    phase, until = "hold", t
                elif finished:
                    self.timeline.notes.append(f"the experiment ended ({self.experiment_status}) before everything moved to GCP")
                    phase, until = "hold", t
            elif phase == "hold" and t >= (until or 0):
                if o.database_switch and estate.expects_failover and self.clients.database_switch:
                    self.echo(f"[{t:7.1f}s] database side: promote the copy, then fail back (planned)")
                    self.timeline.event("database_switch_started", t)
                    switch = self.switch = self.executor.submit(self.clients.database_switch, lambda text: self.echo(f"         {text}"))
                    phase = "database"
                else:
                    phase = "stop"
            elif phase == "database" and switch is not None and switch.done():
                self.timeline.event("database_switch_done", self.now())
                self.outcome.database = switch.result()  # raises the switch's error: the experiment is stopped on the way out
                phase = "stop"
            if phase == "stop":
                self._stop_with_retries()
                phase, until = "recover", self.now() + o.recovery_seconds
            elif phase == "recover":
                stopped = self.timeline.events["stopped"]
                if self._aws_back(stopped):
                    self.echo(f"[{t:7.1f}s] AWS answers again and its pool is healthy")
                    return
                if t >= (until or 0):
                    self.timeline.notes.append(f"AWS did not answer again within {o.recovery_seconds:g} s of the stop")
                    return
            self._sleep_until_next()

    def _stop_experiment(self) -> None:
        """Asks FIS to stop the experiment. `stopped` is set only once FIS took the request (or the experiment had
        ended), so a stop that failed is tried again on the way out; every failure pulls the guard (its alarm is
        the templates' stop condition), so FIS stops the experiment itself even if the next attempt fails too."""
        if self.stopped or not self.outcome.experiment_id:
            return
        t = self.now()
        self.timeline.event("stopped", t)
        if self.experiment_status in TERMINAL:
            self.stopped = True
            self.echo(f"[{t:7.1f}s] experiment already {self.experiment_status}")
            return
        try:
            self.fis.stop_experiment(id=self.outcome.experiment_id)
        except Exception:
            try:
                self._poll(self.now())  # FIS may have stopped it already (its stop condition): that is not a failure
            except Exception:
                pass
            if self.experiment_status not in (*TERMINAL, "stopping"):
                self._publish_guard_quietly(1)
                raise
            self.stopped = True
            self.echo(f"[{t:7.1f}s] experiment already {self.experiment_status}")
            return
        self.stopped = True
        self.echo(f"[{t:7.1f}s] experiment stop requested")

    def _stop_with_retries(self) -> None:
        """The stop, tried STOP_ATTEMPTS times with growing pauses (throttling, a network blip); the last error is raised."""
        for attempt in range(1, STOP_ATTEMPTS + 1):
            try:
                self._stop_experiment()
                return
            except Exception as error:
                if attempt == STOP_ATTEMPTS:
                    raise
                pause = min(2.0 ** (attempt - 1), 8.0)
                self.echo(f"!! stopping experiment {self.outcome.experiment_id} failed ({type(error).__name__}); again in {pause:g} s")
                self.clock.sleep(pause)

    def _finish(self) -> None:
        """Stop the experiment whatever happened, let answered requests land, check what FIS leaves behind."""
        if self.outcome.experiment_id:
            try:
                self._stop_with_retries()
            except Exception as error:
                self.outcome.stop_failed = True
                self.outcome.error = (self.outcome.error or "") + f"; STOP FAILED: {type(error).__name__}: {error}"
                self.echo(f"!! could not stop experiment {self.outcome.experiment_id}: stop it now (docs/runbooks/gameday.md)")
                self._publish_guard_quietly(1)
        deadline = self.clock.monotonic() + min(self.options.request_timeout, 30)
        for future in list(self.pending):
            with contextlib.suppress(Exception):
                future.result(timeout=max(0.0, deadline - self.clock.monotonic()))
        if self.outcome.experiment_id:
            self._await_end()
        self._await_database_side()
        if self.estate.scenario == "aws-outage" and self.estate.vpc_id and self.outcome.experiment_id:
            self._count_fis_acls()

    def _await_database_side(self) -> None:
        """A promotion or failback is never left half done: the run that ends early (the bound, an abort, Ctrl-C,
        an error) waits for the database side after stopping the experiment, and says so; it is bounded by the
        commands' own timeouts (catch-up, copy and switch waits), and signals are held meanwhile."""
        switch = self.switch
        if switch is None or "database_switch_done" in self.timeline.events:
            return
        if not switch.done():
            self.echo(f"[{self.now():7.1f}s] database side still running (promote/failback): waiting for it to finish")
            self.timeline.notes.append("the run ended while the database side was still running; it was waited for")
        try:
            result = switch.result()
        except Exception as error:
            text = f"database side: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
            self.outcome.error = f"{self.outcome.error}; {text}" if self.outcome.error else text
            if self.outcome.status not in ("interrupted",):
                self.outcome.status = "error"
        else:
            self.outcome.database = result
        self.timeline.event("database_switch_done", self.now())
        self.echo(f"[{self.now():7.1f}s] database side finished")

    def _await_end(self) -> None:
        for _ in range(30):
            try:
                self._poll(self.now())
            except Exception:
                return
            if self.experiment_status in TERMINAL:
                return
            self.clock.sleep(min(2.0, self.options.poll_interval))

    def _count_fis_acls(self) -> None:
        try:
            ec2 = self.clients.aws("ec2", self.estate.region)
            acls = ec2.describe_network_acls(
                Filters=[{"Name": "vpc-id", "Values": [self.estate.vpc_id]}, {"Name": "tag:managedByFIS", "Values": ["true"]}]
            )["NetworkAcls"]
            self.outcome.fis_acls_left = len(acls)
        except Exception as error:
            self.timeline.notes.append(f"could not count FIS network ACLs: {type(error).__name__}")

    def _publish_guard_quietly(self, value: int) -> None:
        with contextlib.suppress(Exception):
            self._publish_guard(value)


def _install_signal_handlers() -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum, _frame):
        raise Interrupted(signum)

    return {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}


def _hold_signals() -> None:
    """While the experiment is being stopped, SIGINT and SIGTERM are noted, not obeyed."""
    if threading.current_thread() is not threading.main_thread():
        return

    def noted(signum, _frame):
        print(f"{signal.Signals(signum).name} received while stopping the experiment: finishing the stop first", file=sys.stderr)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, noted)


@contextlib.contextmanager
def _deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive in the block are kept and raised as Interrupted after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        _restore_signal_handlers(previous)
    if received:
        raise Interrupted(received[0])


def _restore_signal_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def run(estate: Estate, clients: Clients, options: Options, echo: Callable[[str], None] = print) -> tuple[Timeline, Outcome]:
    """Runs the experiment with its safety stops; the experiment is stopped before this returns, whatever happened."""
    return _Run(estate, clients, options, echo).run()


# ---------------------------------------------------------------- figures and targets


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def figures(timeline: Timeline, estate: Estate, options: Options) -> dict[str, Any]:
    events = timeline.events
    stopped = events.get("stopped")
    public = [s for s in timeline.samples("http") if s["target"] == "public"]
    aws_host = [s for s in timeline.samples("http") if s["target"] == "aws"]
    during = [s for s in public if stopped is None or s["t"] < stopped]
    pools = timeline.samples("pools")

    unhealthy = next((p["t"] for p in pools if p.get("aws") is False), None)
    all_gcp = None
    if during:
        run_start = None
        for sample in during:
            run_start = (run_start if run_start is not None else sample["t"]) if on_gcp(sample) else None
        if run_start is not None and during[-1]["t"] - run_start >= options.settle_seconds * 0.8:
            all_gcp = run_start
    failed = [s for s in public if not ok(s)]
    before_switch = [s for s in failed if all_gcp is None or s["t"] < all_gcp]
    after_stop = [s for s in aws_host if stopped is not None and s["t"] >= stopped]
    aws_again = next((s["t"] for s in after_stop if ok(s)), None)
    pool_again = next((p["t"] for p in pools if stopped is not None and p["t"] >= stopped and p.get("aws") is True), None)
    aws_down = next((s["t"] for s in aws_host if not ok(s)), None)
    lags = [s["seconds"] for s in timeline.lag if s.get("seconds") is not None]
    latencies = [s["ms"] for s in public if ok(s)]
    downtime = len(failed) * options.interval
    budget = float(estate.sla.get("downtimeBudgetSeconds") or 0)
    database_done = events.get("database_switch_done")
    # Service is back when everything is on GCP and, with the database side, the copy took the writes.
    recovered = max(all_gcp, database_done) if all_gcp is not None and database_done is not None else all_gcp
    return {
        "requests": len(public),
        "failed_requests": len(failed),
        "failed_before_all_on_gcp": len(before_switch),
        "served_by_aws": sum(1 for s in public if ok(s) and s.get("served_by") == "aws"),
        "served_by_gcp": sum(1 for s in public if on_gcp(s)),
        "aws_origin_failing_s": aws_down,
        "aws_pool_unhealthy_s": unhealthy,
        "all_on_gcp_s": all_gcp,
        "recovery_s": recovered,
        "downtime_s": round(downtime, 3),
        "error_budget_spent_percent": round(downtime / budget * 100, 2) if budget else None,
        "availability_during_run_percent": round(100 * (len(public) - len(failed)) / len(public), 3) if public else None,
        "p95_latency_ms": _percentile(latencies, 95),
        "max_lag_s": round(max(lags), 3) if lags else None,
        "lag_samples": len(lags),
        "stopped_s": stopped,
        "aws_answering_again_s": round(aws_again - stopped, 3) if aws_again is not None and stopped is not None else None,
        "aws_pool_healthy_again_s": round(pool_again - stopped, 3) if pool_again is not None and stopped is not None else None,
        "database_switch_s": round(database_done - events["database_switch_started"], 3) if database_done else None,
    }


@dataclass
class Target:
    figure: str
    value: Any
    limit: str
    met: bool | None  # None: not measured in this run
    source: str

    def row(self) -> str:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        value = "-" if self.value is None else self.value
        return f"{self.figure:<28}{value!s:>12}  {self.limit:<22}{verdict:<14}{self.source}"


def targets(f: Mapping[str, Any], estate: Estate, outcome: Outcome, options: Options) -> list[Target]:
    sla = estate.sla

    def within(figure: str, limit: float, source: str, strict: bool = False) -> Target:
        value = f.get(figure)
        met = None if value is None else (value < limit if strict else value <= limit)
        return Target(figure, value, f"{'<' if strict else '<='} {limit:g}", met, source)

    found = []
    if estate.expects_failover:
        # The pool is read every pool_interval: the moment it turned can be that much earlier than seen.
        detected = within(
            "aws_pool_unhealthy_s", estate.detection_seconds + options.pool_interval, "detectionSeconds (global) + one pool sample"
        )
        if detected.value is None:
            detected.met = False
        switched = within("all_on_gcp_s", estate.detection_budget_seconds, "detectionBudgetSeconds (the documents' 2 min)")
        if switched.value is None:
            switched.met = False
        rto = within("recovery_s", float(sla["rtoSeconds"]), "sla.rtoSeconds")
        if rto.value is None:
            rto.met = False
        found += [detected, switched, rto]
    found.append(within("downtime_s", float(sla["downtimeBudgetSeconds"]), f"the month's budget at {sla['availabilityPercent']:g} %"))
    found.append(within("p95_latency_ms", float(sla["latencyP95Ms"]), "sla.latencyP95Ms", strict=True))
    found.append(within("max_lag_s", float(sla["rpoSeconds"]), "sla.rpoSeconds (RPO)", strict=True))
    again = f.get("aws_answering_again_s")
    found.append(Target("aws_answering_again_s", again, f"<= {options.recovery_seconds:g}", again is not None, "--recovery-seconds"))
    if outcome.fis_acls_left is not None:
        found.append(Target("fis_acls_left", outcome.fis_acls_left, "= 0", outcome.fis_acls_left == 0, "FIS cleans up its network ACLs"))
    return found


# ---------------------------------------------------------------- report and plot


def report(estate: Estate, timeline: Timeline, outcome: Outcome, options: Options) -> dict[str, Any]:
    f = figures(timeline, estate, options)
    checks = targets(f, estate, outcome, options)
    passed = outcome.status == "completed" and all(t.met is not False for t in checks)
    return {
        "scenario": estate.scenario,
        "stacks": estate.stacks,
        "environment": estate.environment,
        "template_id": estate.template_id,
        "experiment_id": outcome.experiment_id,
        "started_at": outcome.started_at,
        "outcome": outcome.status,
        "error": outcome.error,
        "passed": passed,
        "figures": f,
        "targets": {t.figure: {"value": t.value, "target": t.limit, "met": t.met, "from": t.source} for t in checks},
        "sla": estate.sla,
        "detection": {"seconds": estate.detection_seconds, "budget_seconds": estate.detection_budget_seconds},
        "database": outcome.database,
        "fis_acls_left": outcome.fis_acls_left,
        "preflight": outcome.preflight,
        "events": timeline.events,
        "marks": _marks(timeline.events, f),
        "notes": timeline.notes,
        "options": asdict(options),
        "samples": {
            "http": timeline.samples("http"),
            "pools": timeline.samples("pools"),
            "lag": timeline.samples("lag"),
            "experiment": timeline.samples("experiment"),
        },
    }


def _marks(events: Mapping[str, float], f: Mapping[str, Any]) -> dict[str, float]:
    """The moments the plot marks: the run's events and the figures' instants."""
    marks = dict(events)
    for name, key in (
        ("AWS failing", "aws_origin_failing_s"),
        ("AWS pool unhealthy", "aws_pool_unhealthy_s"),
        ("all on GCP", "all_on_gcp_s"),
    ):
        if f.get(key) is not None:
            marks[name] = f[key]
    if f.get("aws_answering_again_s") is not None and f.get("stopped_s") is not None:
        marks["AWS answers again"] = round(f["stopped_s"] + f["aws_answering_again_s"], 3)
    return marks


def plot(path: str, document: Mapping[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples, events = document["samples"], document["marks"]
    fig, (health, served, errors) = plt.subplots(3, 1, figsize=(11, 7), dpi=100, sharex=True)
    for cloud, offset in (("aws", 0.04), ("gcp", -0.04)):
        points = [(p["t"], (1 if p[cloud] else 0) + offset) for p in samples["pools"] if p.get(cloud) is not None]
        health.step([t for t, _ in points], [v for _, v in points], where="post", label=f"{cloud} pool healthy")
    health.set_yticks([0, 1], ["unhealthy", "healthy"])
    fig.suptitle(f"Game day {document['scenario']} ({document['stacks']['aws']}): pool health, who served each request, errors")
    public = [s for s in samples["http"] if s["target"] == "public"]
    for label, value, test, marker in (
        ("served by AWS", 1, lambda s: ok(s) and s.get("served_by") == "aws", "o"),
        ("served by GCP", 0, on_gcp, "o"),
        ("failed", -1, lambda s: not ok(s), "x"),
    ):
        chosen = [s["t"] for s in public if test(s)]
        color = {1: "tab:blue", 0: "tab:orange", -1: "tab:red"}[value]
        served.scatter(chosen, [value] * len(chosen), s=10, marker=marker, label=label, color=color)
    served.set_yticks([-1, 0, 1], ["failed", "GCP", "AWS"])
    window = document["options"]["interval"] * 10  # ten requests: 10 s at the default interval
    times = [s["t"] for s in public]
    rates = [
        100 * sum(1 for o in public if t - window < o["t"] <= t and not ok(o)) / max(1, sum(1 for o in public if t - window < o["t"] <= t))
        for t in times
    ]
    errors.plot(times, rates, linewidth=0.9, color="tab:red", label=f"errors over {window:g} s (%)")
    errors.set_ylabel("error rate %")
    errors.set_xlabel("seconds since the experiment started")
    for axis in (health, served, errors):
        for at in events.values():
            axis.axvline(at, linestyle="--", linewidth=0.7, color="grey")
        axis.grid(alpha=0.3)
        axis.legend(loc="upper right", fontsize=7)
    for name, at in events.items():
        health.text(at, 0.5, f" {name}", transform=health.get_xaxis_transform(), rotation=90, fontsize=7, ha="right", va="center")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def summary(document: Mapping[str, Any]) -> str:
    lines = [f"\n{'figure':<28}{'value':>12}  {'target':<22}{'result':<14}from"]
    for name, t in document["targets"].items():
        lines.append(Target(name, t["value"], t["target"], t["met"], t["from"]).row())
    f = document["figures"]
    lines.append(
        f"\nrequests {f['requests']}, failed {f['failed_requests']} ({f['failed_before_all_on_gcp']} before everything was on GCP), "
        f"served by AWS {f['served_by_aws']}, by GCP {f['served_by_gcp']}; outcome {document['outcome']}"
    )
    lines += [f"note: {n}" for n in document["notes"]]
    return "\n".join(lines)


# ---------------------------------------------------------------- the plan (dry run)


def plan_text(estate: Estate, options: Options, *, allow_production: bool, execute: bool) -> str:
    o, sla = options, estate.sla
    stops = ", ".join(_shown(a) if isinstance(a, str) else UNKNOWN_TEXT for a in estate.stop_alarms) or "none"
    lines = [
        f"Game day '{estate.scenario}' on {estate.stacks['aws']} ({estate.environment}), {estate.stacks['gcp']}, {estate.stacks['global']}",
        f"  experiment template  {_shown(estate.template_id)} in {estate.region}: {estate.action_id} {estate.parameters}",
        f"  what breaks          {estate.summary}",
        f"  ends on its own      {'after ' + str(estate.duration_seconds) + ' s' if estate.duration_seconds else 'at once (a one-shot action)'}",
        f"  stop conditions      {stops}",
        f"  guard                {estate.guard.get('namespace')}/{estate.guard.get('metric')} {estate.guard.get('dimensions')} "
        f"(alarm {_shown(estate.guard.get('alarmName'))}): 0 while supervised, 1 stops every experiment",
        "  steps",
        f"    1. preflight: `tools verify` checks of {', '.join(estate.stacks.values())}; the guard alarm must be quiet",
        f"    2. start the experiment; every {o.interval:g} s GET https://{estate.host}{o.path} and https://{estate.aws_origin_host}{o.path} "
        f"(status, X-Cloud-Provider); every {o.pool_interval:g} s both pools' health "
        f"(aws {_shown(estate.pools.get('aws'))}, gcp {_shown(estate.pools.get('gcp'))}); every {o.lag_interval:g} s the copy's lag",
    ]
    if estate.expects_failover:
        lines.append(
            f"    3. wait for the AWS pool to turn unhealthy and every request to be served by GCP ({o.settle_seconds:g} s of them), "
            f"then watch {o.hold_seconds:g} s more"
        )
    else:
        lines.append(f"    3. watch {o.hold_seconds:g} s (or until the experiment ends): users should see no outage")
    lines.append(
        "    4. database side: promote the copy (dr promote), then fail back (dr failback prepare, switch)"
        if o.database_switch and estate.expects_failover
        else "    4. database side: not run (--database-switch runs the planned promotion and failback)"
    )
    lines += [
        f"    5. stop the experiment; wait up to {o.recovery_seconds:g} s for AWS to answer again and its pool to be healthy"
        + ("; count FIS network ACLs left in the VPC" if estate.scenario == "aws-outage" else ""),
        f"  bounded              {o.max_seconds:g} s in all; SIGINT, SIGTERM or any error stops the experiment first",
        f"  compared with        detection <= {estate.detection_seconds:g} s (computed by global) + one pool sample; "
        f"everything on GCP <= {estate.detection_budget_seconds:g} s; RTO <= {sla.get('rtoSeconds')} s; "
        f"downtime <= {sla.get('downtimeBudgetSeconds')} s ({sla.get('availabilityPercent')} % a month); "
        f"p95 < {sla.get('latencyP95Ms')} ms; lag < {sla.get('rpoSeconds')} s (RPO)",
    ]
    if estate.production and not allow_production:
        lines.append("  REFUSED              this is production: --execute also needs --allow-production")
    lines.append("  run it               add --execute" if not execute else "")
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- the command


def add_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("scenario", choices=SCENARIOS)
    mode = c.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan from the stacks' outputs and call nothing (the default)")
    mode.add_argument("--execute", action="store_true", help="run the experiment for real")
    c.add_argument("--allow-production", action="store_true", help="allow --execute against a production stack")
    c.add_argument("--aws-stack", default="aws-dr")
    c.add_argument("--gcp-stack", default="gcp-dr")
    c.add_argument("--global-stack", default="global")
    c.add_argument("--outputs", default="pulumi", help="`pulumi` (the CLI), `offline` (the offline preview) or a directory of <stack>.json")
    c.add_argument("--database-host", help="HOST[:PORT] of the copy for the lag (a Cloud SQL Auth Proxy); default: gcp-dr's private IP")
    c.add_argument("--database-switch", action="store_true", help="after the switch to GCP, promote the copy and fail back (planned)")
    c.add_argument("--interval", type=float, default=Options.interval, help="seconds between requests to the host (1)")
    c.add_argument("--hold-seconds", type=float, default=Options.hold_seconds, help="watch this long after everything is on GCP (60)")
    c.add_argument("--recovery-seconds", type=float, default=Options.recovery_seconds, help="wait this long for AWS after the stop (600)")
    c.add_argument("--max-minutes", type=float, help="bound of the whole run (default: the experiment's duration + 20 min, at most 60)")
    c.add_argument("--report", help="write the JSON report here")
    c.add_argument("--plot", help="write the timeline plot (PNG) here")


def options_from(args: argparse.Namespace, estate: Estate | None = None) -> Options:
    duration = estate.duration_seconds if estate else 0
    max_seconds = args.max_minutes * 60 if args.max_minutes else min(3600.0, duration + 1200.0)
    return Options(
        interval=args.interval,
        hold_seconds=args.hold_seconds,
        recovery_seconds=args.recovery_seconds,
        max_seconds=max_seconds,
        database_switch=args.database_switch,
    )


def read_outputs(source: str, stacks: list[str]) -> dict[str, dict]:
    if source == "offline":
        from tools.engine import UNKNOWN, preview_stacks  # the offline engine: a checkout's tooling

        def plain(value: Any) -> Any:
            if value is UNKNOWN:
                return None
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return getattr(value, "value", value)  # a secret's inner value stays in memory

        found: dict[str, dict] = {run.stack: plain(run.result.outputs) for run in preview_stacks(stacks) if run.stack in stacks}
        return found
    if source == "pulumi":
        from tools.live.verify import pulumi_outputs

        return {stack: pulumi_outputs(stack) for stack in stacks}
    folder = Path(source)
    if not folder.is_dir():
        raise GameDayError(f"--outputs {source}: not `pulumi`, `offline` or a directory of <stack>.json files")
    found = {}
    for stack in stacks:
        path = folder / f"{stack}.json"
        if not path.exists():
            raise GameDayError(f"--outputs {source}: {path.name} is missing (`pulumi stack output --json --show-secrets -s {stack}`)")
        found[stack] = json.loads(path.read_text())
    return found


def default_clients(estate: Estate, outputs: Mapping[str, Mapping[str, Any]], args: argparse.Namespace) -> Clients:
    """The real clients: boto3, `tools verify`'s checks, Cloudflare API and HTTP client, dr's lag probe."""
    from tools.live import verify

    sources = verify.Sources(
        outputs=lambda stack: dict(outputs[stack]), database_host=args.database_host, rpo_seconds=float(estate.sla["rpoSeconds"])
    )
    cloudflare = verify.CloudflareApi()

    def preflight() -> list[tuple[str, bool, str]]:
        return [
            (f"{c.stack} {c.name} {c.target}", c.ok, c.detail)
            for stack in estate.stacks.values()
            for c in verify.verify_stack(stack, sources)
        ]

    def http(url: str, headers: Mapping[str, str], timeout: float) -> Response:
        answer = verify.http_get(url, headers, timeout)
        return Response(answer.status, answer.headers)

    lag: Callable[[], float | None] | None = None
    endpoints = database_endpoints(estate, outputs, args.database_host)
    if endpoints is not None:
        publisher, subscriber = endpoints

        def measure_lag() -> float | None:
            return replication_lag(subscriber, publisher, timeout=float(estate.sla["rpoSeconds"]) * 2)

        lag = measure_lag

    return Clients(
        aws=verify.boto3_client,
        pool_health=cloudflare.pool_health,
        http=http,
        preflight=preflight,
        lag=lag,
        database_switch=_database_switch(estate, outputs, args) if args.database_switch else None,
    )


def database_endpoints(estate: Estate, outputs: Mapping[str, Mapping[str, Any]], database_host: str | None):
    """(RDS, Cloud SQL) from aws-dr's and gcp-dr's outputs, as `dr` names them (publisher, subscriber); None without them."""
    from .endpoint import Endpoint

    aws, gcp = outputs.get(estate.stacks["aws"]) or {}, outputs.get(estate.stacks["gcp"]) or {}
    if not all((aws.get("databaseAddress"), aws.get("databasePassword"), gcp.get("databasePrivateIp"), gcp.get("databasePassword"))):
        return None
    host, port = gcp["databasePrivateIp"], int(gcp.get("databasePort") or 5432)
    if database_host:  # e.g. a Cloud SQL Auth Proxy
        host, _, given = database_host.partition(":")
        port = int(given or port)
    publisher = Endpoint(
        aws["databaseAddress"],
        aws.get("databaseName") or "crm",
        aws.get("databaseUsername") or "crmadmin",
        aws["databasePassword"],
        int(aws.get("databasePort") or 5432),
    )
    subscriber = Endpoint(host, gcp.get("databaseName") or "crm", gcp.get("databaseUsername") or "crmadmin", gcp["databasePassword"], port)
    return publisher, subscriber


def replication_lag(subscriber, publisher=None, *, timeout: float = 10.0) -> float | None:
    """The copy's lag as `dr lag` measures it: a probe heartbeat written on RDS, timed until the copy applied it.

    Without RDS, the age of the newest heartbeat the copy holds (an upper bound). None when the
    subscription is not running.
    """
    from . import replication
    from .endpoint import connect, reachable

    with connect(subscriber) as sub:
        pub = reachable(publisher) if publisher is not None else None
        try:
            lag = replication.measure_lag(sub, pub, probe_timeout_s=timeout)
        finally:
            if pub is not None:
                pub.close()
    return lag.seconds if lag.subscription_running else None


def _database_switch(estate: Estate, outputs: Mapping[str, Mapping[str, Any]], args: argparse.Namespace) -> Callable:
    """The planned switch on the real databases: `dr promote`, then `dr failback prepare` and `switch`."""
    from . import failover

    endpoints = database_endpoints(estate, outputs, args.database_host)
    if endpoints is None:
        raise GameDayError(
            "--database-switch needs the databases' outputs (aws-dr databaseAddress, gcp-dr databasePrivateIp, their passwords)"
        )
    publisher, subscriber = endpoints

    def switch(echo: Callable[[str], None]) -> dict:
        started = time.monotonic()
        promoted = failover.promote(subscriber, publisher, echo=echo)
        promotion_s = time.monotonic() - started
        prepared = failover.failback_prepare(publisher, subscriber, echo=echo)
        switched = failover.failback_switch(publisher, subscriber, echo=echo)
        return {
            "promotion_s": round(promotion_s, 3),
            "failback_s": round(time.monotonic() - started - promotion_s, 3),
            "failback_pause_s": switched.data.get("pause_s"),
            "sequences_moved": promoted.data.get("sequences"),
            "recovered_rows": prepared.data.get("recovered_rows"),
        }

    return switch


def main(
    args: argparse.Namespace, clients: Clients | None = None, echo: Callable[[str], None] = print, options: Options | None = None
) -> int:
    """`clients` and `options` replace the real clients and the options the command line gives (tests)."""
    stacks = {"aws": args.aws_stack, "gcp": args.gcp_stack, "global": args.global_stack}
    outputs = read_outputs(args.outputs, list(stacks.values()))
    estate = estate_from_outputs(args.scenario, outputs, stacks)
    options = options or options_from(args, estate)
    plan = plan_text(estate, options, allow_production=args.allow_production, execute=args.execute)
    echo(plan)
    if not args.execute:
        if args.report:  # what would run, kept like a report (the scheduled workflow's monthly plan)
            document = {
                "dry_run": True,
                "scenario": estate.scenario,
                "stacks": estate.stacks,
                "template_id": estate.template_id,
                "plan": plan.splitlines(),
            }
            Path(args.report).write_text(json.dumps(document, indent=2) + "\n")
            echo(f"plan: {args.report}")
        return 0
    if estate.production and not args.allow_production:
        raise Refused(f"{stacks['aws']} is production: a game day there needs --allow-production as well as --execute")
    if not estate.template_id:
        raise GameDayError(f"{stacks['aws']} exports no template id for {args.scenario}: deploy it first")
    if clients is None:
        clients = default_clients(estate, outputs, args)
    timeline, outcome = run(estate, clients, options, echo)
    document = report(estate, timeline, outcome, options)
    echo(summary(document))
    if args.report:
        Path(args.report).write_text(json.dumps(document, indent=2, default=str) + "\n")
        echo(f"report: {args.report}")
    if args.plot:
        plot(args.plot, document)
        echo(f"plot: {args.plot}")
    if outcome.stop_failed:
        echo(f"error: {outcome.error}")
        return 2
    if outcome.status == "interrupted":
        return 130
    if outcome.status == "error":
        echo(f"error: {outcome.error}")
        return 2
    missed = [name for name, t in document["targets"].items() if t["met"] is False]
    if missed or not document["passed"]:
        echo(f"game day {outcome.status}; targets missed: {', '.join(missed) or 'none'}")
        return 1
    echo("every target met")
    return 0
