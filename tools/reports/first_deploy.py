"""`python -m tools first-deploy <stack>|--all [--json]`: the real sequence from empty accounts, rehearsed offline.

What bootstrap does, which stacks deploy in which order (the workflow's `up` jobs, which follow the
stacks' references: tests/workflows/test_first_deploy.py keeps them in step with `deploy_order`),
the jobs of pulumi-stack.yml that run each stack's `up` (a stack that creates its CI runner: first
from a hosted runner without what its cluster's API holds, then on that runner; read from the
workflow, and `workflow_problems` says where it cannot deploy a stack as its config asks), where an
image must be pushed before a workload starts, what a person must do (with the command),
and how long it takes: each stack's critical path from `tools rebuild-time`'s per-type durations
(tools/reports/data/creation_times.yaml), scheduled as the workflow runs its jobs.

Each stack is run against the offline fakes as `pulumi up` meets it the first time: every registry
empty, so the workloads come up at zero replicas; the second pass is the run after the images are
pushed, when only the workloads change.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stacks.config import StackConfig, load, read_stack_file

from ..engine.engine import PreviewResult
from . import prerequisites, rebuild

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "infrastructure.yml"
PER_STACK = "./.github/workflows/pulumi-stack.yml"
STACK_WORKFLOW = ROOT / PER_STACK
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


@dataclass(frozen=True)
class Job:
    """One `up` job of the workflow: its stacks (one after another when `max-parallel: 1`), what it waits for."""

    name: str
    stacks: tuple[str, ...]
    needs: tuple[str, ...]
    sequential: bool
    environment: str


def workflow_jobs(path: Path = WORKFLOW) -> list[Job]:
    jobs = yaml.safe_load(path.read_text())["jobs"]
    found = []
    for name, job in jobs.items():
        given = job.get("with") or {}
        if job.get("uses") != PER_STACK or given.get("command") != "up":
            continue
        matrix = ((job.get("strategy") or {}).get("matrix") or {}).get("stack")
        stacks = tuple(matrix) if matrix else (given["stack"],)
        needs = job.get("needs") or []
        found.append(
            Job(
                name,
                stacks,
                tuple([needs] if isinstance(needs, str) else needs),
                (job.get("strategy") or {}).get("max-parallel") == 1 or len(stacks) == 1,
                str(given.get("environment", "")),
            )
        )
    return found


@dataclass(frozen=True)
class Phase:
    """One job of pulumi-stack.yml that runs a stack's `pulumi up`: where, and the command as the job runs it."""

    job: str
    runs_on: str
    step: str
    command: str
    reviewed: bool  # the job runs in the caller's environment, whose reviewers approve it


@dataclass(frozen=True)
class StackWorkflow:
    """What pulumi-stack.yml does with a stack's `up`: the job that places it, the one that runs a stack's first
    deploy from outside its VPC (the runner does not exist yet), and the one that runs the rest."""

    placed: str  # the stacks (a glob) the placing job may send to AWS_DEPLOY_RUNNER
    hosted: str  # where the placing job sends every other stack
    first: str | None
    main: str | None
    jobs: dict[str, Any]

    def phase(self, name: str, stack: str) -> Phase:
        job = self.jobs[name]
        step = next(s for s in job.get("steps", []) if "pulumi up" in str(s.get("run", "")))
        run = str(step["run"]).replace("${{ inputs.stack }}", stack).strip()
        if "\nfi" in run or run.startswith("if "):  # `up` or `preview` by the command input: the `up` line
            run = next(line.strip() for line in run.splitlines() if line.strip().startswith("pulumi up"))
        title = str(step.get("name", "")).replace("${{ inputs.stack }}", stack).replace("${{ inputs.command }}", "up")
        return Phase(name, str(job.get("runs-on", "")), title, run, "environment" in job)


def stack_workflow(path: Path = STACK_WORKFLOW) -> StackWorkflow:
    jobs = yaml.safe_load(path.read_text())["jobs"]
    placed, hosted, first, main = "", "", None, None
    for name, job in jobs.items():
        outputs = job.get("outputs") or {}
        if "first" in outputs:
            script = "\n".join(str(s.get("run", "")) for s in job.get("steps", []))
            found = re.search(r'inputs\.stack \}\}" == ([\w*.-]+)', script)
            placed = found.group(1) if found else ""
            default = re.search(r"\brunner=([\w.-]+)", script)
            hosted = default.group(1) if default else ""
        elif "outputs.first" in str(job.get("if", "")):
            first = name
        elif any("pulumi up" in str(s.get("run", "")) for s in job.get("steps", [])):
            main = name
    return StackWorkflow(placed, hosted, first, main, jobs)


def _has_runner(config: Any) -> bool:
    ci = getattr(config, "ci", None)
    return bool(getattr(ci, "runner", False))


def stack_phases(stack: str, config: Any, workflow: StackWorkflow | None = None) -> list[Phase]:
    """The jobs that run a stack's first `pulumi up`, in order, with AWS_DEPLOY_RUNNER=codebuild (docs/deploying.md):
    a stack that creates its runner (crm:ci.runner) is deployed first from a hosted runner without what its cluster's
    API holds, then on that runner; every other stack in one job."""
    flow = workflow or stack_workflow()
    if flow.main is None:
        return []
    main = flow.phase(flow.main, stack)
    if flow.first is not None and _has_runner(config) and fnmatch.fnmatch(stack, flow.placed or "-"):
        created = f"the runner job `{flow.first}` created (the stack's deployRunnerLabel output)"
        return [flow.phase(flow.first, stack), dataclasses.replace(main, runs_on=created)]
    return [dataclasses.replace(main, runs_on=flow.hosted or main.runs_on)]


def workflow_problems(configs: Mapping[str, Any], workflow: StackWorkflow | None = None) -> list[str]:
    """Where pulumi-stack.yml cannot deploy a stack the way its config asks: a stack that creates its runner needs
    a first job outside the VPC that leaves the Kubernetes objects out and hands its runner to the job that follows."""
    flow = workflow or stack_workflow()
    problems = [] if flow.main is not None else ["pulumi-stack.yml has no job that runs `pulumi up`"]
    for stack, config in sorted(configs.items()):
        if not _has_runner(config):
            continue
        if not fnmatch.fnmatch(stack, flow.placed or "-"):
            problems.append(f"{stack} creates its runner (crm:ci.runner), but pulumi-stack.yml never places it on one")
            continue
        if flow.first is None:
            problems.append(
                f"{stack} creates its runner (crm:ci.runner), but pulumi-stack.yml has no job for its first deploy, "
                "before the runner exists"
            )
            continue
        command = flow.phase(flow.first, stack).command
        if "--exclude" not in command or "kubernetes-providers" not in command:
            problems.append(f"{stack}'s first deploy (job `{flow.first}`) does not leave out what its cluster's API holds")
        if flow.main is not None and f"needs.{flow.first}.outputs.runner" not in str(flow.jobs[flow.main].get("runs-on", "")):
            problems.append(f"{stack}'s second phase (job `{flow.main}`) does not run on the runner its first deploy created")
    return problems


def schedule(jobs: Sequence[Job], minutes: Mapping[str, float], start: float = 0.0) -> dict[str, tuple[float, float]]:
    """(start, end) of each stack when the workflow runs its jobs: a job starts once every job it needs has ended."""
    by_name = {job.name: job for job in jobs}
    ends: dict[str, float] = {}
    times: dict[str, tuple[float, float]] = {}

    def end_of(name: str) -> float:
        if name not in ends:
            job = by_name[name]
            clock = max([end_of(n) for n in job.needs if n in by_name], default=start)
            finish = clock
            for stack in job.stacks:
                begin = finish if job.sequential else clock
                times[stack] = (begin, begin + minutes.get(stack, 0.0))
                finish = max(finish, times[stack][1])
            ends[name] = finish
        return ends[name]

    for job in jobs:
        end_of(job.name)
    return times


def out_of_order(jobs: Sequence[Job], references: Mapping[str, Sequence[str]]) -> list[str]:
    """Where the workflow's `up` jobs break the stacks' deploy order: a stack missing, deployed twice, or started
    before a stack whose outputs it reads has ended (each stack counted as one minute)."""
    problems = []
    counts: dict[str, int] = {}
    for job in jobs:
        for stack in job.stacks:
            counts[stack] = counts.get(stack, 0) + 1
    for stack in references:
        if counts.get(stack, 0) != 1:
            problems.append(f"{stack} is deployed by {counts.get(stack, 0)} up jobs, not one")
    times = schedule(jobs, {stack: 1.0 for stack in counts})
    for stack, upstream in references.items():
        for other in upstream:
            if stack in times and other in times and times[other][1] > times[stack][0]:
                problems.append(f"{stack} reads {other}'s outputs but its job can start before {other} has finished")
    return problems


@dataclass
class StackPlan:
    stack: str
    job: Job | None
    minutes: float
    slowest: list[str]
    before: list[prerequisites.ManualStep] = field(default_factory=list)
    after: list[prerequisites.ManualStep] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    second_pass_minutes: float = 0.0
    creates: dict[str, int] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)


def _images(result: PreviewResult, times: Mapping[str, Any], config: StackConfig) -> tuple[list[dict[str, str]], float]:
    """The images a person (or the application's CI) pushes before the workload starts, with the commands."""
    held = [r for r in result.of_type(DEPLOYMENT) if (r.get("spec") or {}).get("replicas") == 0]
    if not held:
        return [], 0.0
    app = config.application
    stack, tag, image = result.stack, app.image_tag, app.image_repository
    if config.common.cloud == "aws":
        url = f"$(pulumi stack output -s {stack} repositoryUrls --json | jq -r '.\"{image}\"')"
        login = f'aws ecr get-login-password --region {config.region} | docker login --username AWS --password-stdin "${{REPOSITORY%%/*}}"'
        where = "ECR"
    else:
        url = f"$(pulumi stack output -s {stack} registryUrl)/{image}"
        login = f"gcloud auth configure-docker {config.region}-docker.pkg.dev"
        where = "Artifact Registry"
    commands = [f'REPOSITORY="{url}"', login, f'docker tag {image}:{tag} "$REPOSITORY:{tag}" && docker push "$REPOSITORY:{tag}"']
    entry = times["types"].get(DEPLOYMENT, {})
    return [{"image": f"{image}:{tag}", "registry": where, "commands": "\n".join(commands)}], float(entry.get("minutes", 0.0))


def plan_stacks(results: Sequence[PreviewResult], jobs: Sequence[Job]) -> list[StackPlan]:
    times = rebuild.load_times()
    by_stack = {stack: job for job in jobs for stack in job.stacks}
    flow = stack_workflow()
    plans = []
    for result in results:
        job = by_stack.get(result.stack)
        config = load(result.stack, read_stack_file(result.stack))
        phases = stack_phases(result.stack, config, flow) if job else []
        path = rebuild.rebuild_time(result, times)
        manual = prerequisites.manual_steps(result)
        images, second = _images(result, times, config)
        plans.append(
            StackPlan(
                result.stack,
                by_stack.get(result.stack),
                path.minutes,
                [f"{s.name} ({s.minutes:g} min)" for s in path.path if s.minutes >= 0.5],
                [m for m in manual if not m.when.startswith("after")],
                [m for m in manual if m.when.startswith("after")],
                images,
                second,
                _creates(result),
                phases,
            )
        )
    return plans


def _creates(result: PreviewResult) -> dict[str, int]:
    """Top-level components (and resources outside any) by type: what the stack holds, at a glance."""
    top = [r for r in result.resources if not r.custom and (not r.parent or r.parent.split("::")[2:3] == ["pulumi:pulumi:Stack"])]
    counts: dict[str, int] = {}
    for r in top:
        counts[r.type] = counts.get(r.type, 0) + 1
    return dict(sorted(counts.items()))


def timeline(plans: Sequence[StackPlan], jobs: Sequence[Job]) -> dict[str, Any]:
    """When each stack's first and second pass end, and the total, from bootstrap at minute 0."""
    bootstrap = [p for p in plans if p.job is None]
    start = sum(p.minutes for p in bootstrap)
    first = schedule(jobs, {p.stack: p.minutes for p in plans if p.job}, start)
    first_end = max((end for _, end in first.values()), default=start)
    defaults = rebuild.load_times().get("defaultMinutes", 0.2)
    second = schedule(jobs, {p.stack: p.second_pass_minutes or float(defaults) for p in plans if p.job}, first_end)
    second_end = max((end for _, end in second.values()), default=first_end)
    return {"bootstrap_minutes": start, "first": first, "first_end": first_end, "second": second, "second_end": second_end}


def _m(value: float) -> str:
    rounded = max(round(value), 1)
    return f"{rounded} min"


def render(plans: Sequence[StackPlan], jobs: Sequence[Job]) -> str:
    when = timeline(plans, jobs)
    lines = ["First deploy from empty accounts (rehearsed offline: each stack as `pulumi up` meets it the first time)", ""]
    lines.append("Before anything, a person:")
    seen: set[str] = set()
    for plan in plans:
        for step in plan.before:
            if step.what not in seen:
                seen.add(step.what)
                lines.append(f"  - {step.what} ({step.when}):\n      {step.command}")
    number = 1
    for plan in sorted(plans, key=lambda p: (p.job is not None, when["first"].get(p.stack, (0.0, 0.0))[0], p.stack)):
        creates = ", ".join(f"{n} {t.split(':')[-1]}" for t, n in plan.creates.items())
        lines.append("")
        if plan.job is None:
            lines.append(f"{number}. {plan.stack}: a person, once (CI never runs it); about {_m(plan.minutes)}")
            lines.append(f"   creates: {creates}")
            lines.append(
                f"   pulumi up -s {plan.stack} --policy-pack policies   (then docs/deploying.md steps 4-6: state into the bucket, GitHub variables)"
            )
        else:
            begin, end = when["first"][plan.stack]
            lines.append(
                f"{number}. {plan.stack}: workflow job `{plan.job.name}` (environment {plan.job.environment or '-'}), "
                f"minute {begin:.0f} to {end:.0f}, about {_m(plan.minutes)}"
            )
            lines.append(f"   creates: {creates}")
            for step, phase in enumerate(plan.phases, start=1):
                where = f"job `{phase.job}` on {phase.runs_on}" + (", after its environment's reviewers approve" if phase.reviewed else "")
                head = f"   phase {step} of {len(plan.phases)} (AWS_DEPLOY_RUNNER=codebuild), " if len(plan.phases) > 1 else "   runs, "
                lines.append(f"{head}{where}: {phase.step}")
                lines += [f"      {line}" for line in phase.command.splitlines()]
            if plan.slowest:
                lines.append(f"   slowest chain: {' -> '.join(plan.slowest)}")
            for image in plan.images:
                lines.append(f"   comes up with its workload at 0 replicas; push {image['image']} to {image['registry']}:")
                lines += [f"      {c}" for c in image["commands"].splitlines()]
                lines.append(
                    f"   then the workflow's next run (or pulumi up -s {plan.stack}) starts the pods: about {_m(plan.second_pass_minutes)}"
                )
        for step in plan.after:
            lines.append(f"   afterwards, a person: {step.what} ({step.when}):\n      {step.command}")
        number += 1
    lines += [
        "",
        f"Estimated: bootstrap {_m(when['bootstrap_minutes'])}; every stack up by minute {when['first_end']:.0f} "
        f"(the workflow's jobs as .github/workflows/infrastructure.yml orders them); after the images are pushed, "
        f"the second run ends by minute {when['second_end']:.0f}. People's steps (reviews, pushes, SES) are not in these figures.",
    ]
    return "\n".join(lines)


def as_json(plans: Sequence[StackPlan], jobs: Sequence[Job]) -> dict[str, Any]:
    when = timeline(plans, jobs)
    return {
        "stacks": [
            {
                "stack": p.stack,
                "job": p.job.name if p.job else None,
                "minutes": round(p.minutes, 1),
                "first_pass": [round(x, 1) for x in when["first"].get(p.stack, (0.0, p.minutes))],
                "images": p.images,
                "phases": [
                    {"job": f.job, "runsOn": f.runs_on, "step": f.step, "command": f.command, "reviewed": f.reviewed} for f in p.phases
                ],
                "second_pass_minutes": round(p.second_pass_minutes, 1),
                "person_before": [{"what": s.what, "command": s.command} for s in p.before],
                "person_after": [{"what": s.what, "command": s.command} for s in p.after],
            }
            for p in plans
        ],
        "bootstrap_minutes": round(when["bootstrap_minutes"], 1),
        "first_pass_minutes": round(when["first_end"], 1),
        "second_pass_minutes": round(when["second_end"], 1),
    }


def main(args, preview_stacks, stack_names) -> int:
    import sys

    known = stack_names()
    if args.all == bool(args.stack):
        print("name one stack or pass --all", file=sys.stderr)
        return 2
    if args.stack and args.stack not in known:
        print(f"unknown stack '{args.stack}' (have: {', '.join(known)})", file=sys.stderr)
        return 2
    wanted = known if args.all else [args.stack]
    # As `pulumi up` meets them the first time: every registry empty. One stack comes with the stacks it reads from.
    runs = preview_stacks(wanted, preview=False)
    jobs = workflow_jobs()
    plans = plan_stacks([run.result for run in runs], jobs)
    print(json.dumps(as_json(plans, jobs), indent=2) if args.json else render(plans, jobs))
    return 0
