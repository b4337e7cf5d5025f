"""Checkov over every stack's offline preview, exported as Terraform plan JSON, against the reviewed
baseline of accepted findings (policies/checkov-baseline.yaml).

    python -m tools scan <stack>|--all [--out DIR] [--json]

Checkov runs from its own virtualenv (`.venv-checkov`, made by `python3 dev.py scan` from
tools/checkov-requirements.txt), never from the project's. It runs offline: no platform API key,
no downloads. Values known only after deploy count as set (EVAL_TF_PLAN_AFTER_UNKNOWN), so a check
that asks for a KMS key passes when the key is a reference to one the stack creates.

Exit status: 0 when every failed check is accepted in the baseline and every baseline entry still
matches a failure; 1 otherwise; 2 on bad arguments or a missing Checkov.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import baseline as reviewed
from .baseline import ScanError

ROOT = Path(__file__).resolve().parents[1]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
BASELINE = ROOT / "policies" / "checkov-baseline.yaml"


@dataclass(frozen=True)
class Finding:
    stack: str
    check: str
    resource: str
    name: str = ""


@dataclass
class Accepted:
    check: str
    resource: str
    reason: str
    stack: str = "*"
    kind: str = "accepted"  # or "gap": a real weakness, listed until the fix lands (then the entry goes stale)

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check == self.check
            and fnmatch.fnmatchcase(finding.resource, self.resource)
            and reviewed.stack_matches(self.stack, finding.stack)
        )

    def describe(self) -> str:
        return f"{self.check} {self.resource}" + (f" (stack {self.stack})" if self.stack != "*" else "")


@dataclass
class StackResult:
    stack: str
    resources: int
    passed: int
    failed: list[Finding]
    skipped_types: dict[str, int] = field(default_factory=dict)


@dataclass
class Outcome(reviewed.Judgement[Finding, Accepted]):
    stacks: list[StackResult] = field(default_factory=list)


def _kind(item: dict) -> str | None:
    return None if item.get("kind", "accepted") in ("accepted", "gap") else "kind must be accepted or gap"


def load_baseline(path: Path = BASELINE) -> list[Accepted]:
    """The reviewed list of accepted findings; every entry needs a check, a resource and a reason."""
    return [
        Accepted(
            str(item["check"]),
            str(item["resource"]),
            str(item["reason"]).strip(),
            reviewed.stack_pattern(item.get("stack", "*")),
            str(item.get("kind", "accepted")),
        )
        for item in reviewed.read_entries(path, ("check", "resource", "reason"), ("stack", "kind"), _kind)
    ]


def judge(results: list[StackResult], baseline: list[Accepted]) -> Outcome:
    judgement = reviewed.judge((finding for result in results for finding in result.failed), baseline)
    return Outcome(judgement.unaccepted, judgement.accepted, judgement.stale, results)


def run_checkov(plans: dict[str, Path], checkov: Path = CHECKOV) -> dict[str, dict[str, Any]]:
    """Runs Checkov once over the plan files; -> stack -> its terraform_plan report."""
    if not checkov.exists():
        raise ScanError(f"Checkov is not installed at {checkov}; run `python3 dev.py scan` to create .venv-checkov")
    command = [str(checkov), "--framework", "terraform_plan", "--output", "json", "--compact", "--skip-download"]
    for path in plans.values():
        command += ["--file", str(path)]
    env = {**os.environ, "EVAL_TF_PLAN_AFTER_UNKNOWN": "true", "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    env.pop("BC_API_KEY", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ScanError(f"Checkov failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}") from None
    reports = document if isinstance(document, list) else [document]
    by_file: dict[str, dict[str, Any]] = {}
    stack_of = {path.resolve(): stack for stack, path in plans.items()}
    for report in reports:
        if report.get("check_type") not in (None, "terraform_plan"):
            continue
        for kind in ("passed_checks", "failed_checks"):
            for check in report.get("results", {}).get(kind, []):
                stack = _stack_for(check, stack_of)
                by_file.setdefault(stack, {"passed_checks": [], "failed_checks": []})[kind].append(check)
    return by_file


def _stack_for(check: dict[str, Any], stack_of: dict[Path, str]) -> str:
    for key in ("file_abs_path", "file_path"):
        value = check.get(key)
        if value and Path(value).resolve() in stack_of:
            return stack_of[Path(value).resolve()]
    name = Path(check.get("file_path", "")).name
    for path, stack in stack_of.items():
        if path.name == name:
            return stack
    raise ScanError(f"Checkov reported a file that was not scanned: {check.get('file_path')}")


def scan(stacks: Iterable[str], out_dir: Path | None = None, checkov: Path = CHECKOV, baseline: list[Accepted] | None = None) -> Outcome:
    from .engine import preview_stacks
    from .reports.terraform_plan import export

    baseline = load_baseline() if baseline is None else baseline
    with tempfile.TemporaryDirectory() as scratch:
        folder = out_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        exported, plans = {}, {}
        for run in preview_stacks(list(stacks)):
            document = export(run.result)
            exported[run.stack] = document
            plans[run.stack] = folder / f"{run.stack}.tfplan.json"
            plans[run.stack].write_text(json.dumps(document.plan, indent=1))
        wanted = set(stacks)
        plans = {stack: path for stack, path in plans.items() if stack in wanted}
        reports = run_checkov(plans, checkov)
    results = []
    for stack in plans:
        report = reports.get(stack, {"passed_checks": [], "failed_checks": []})
        failed = [Finding(stack, c["check_id"], c["resource"], c.get("check_name", "")) for c in report["failed_checks"]]
        results.append(StackResult(stack, exported[stack].resources, len(report["passed_checks"]), failed, dict(exported[stack].skipped)))
    return judge(results, baseline)


def report(outcome: Outcome) -> str:
    lines = [f"{'stack':<16}{'resources':>10}{'passed':>8}{'failed':>8}{'accepted':>10}{'new':>6}"]
    new_by_stack: dict[str, int] = {}
    for finding in outcome.unaccepted:
        new_by_stack[finding.stack] = new_by_stack.get(finding.stack, 0) + 1
    for r in outcome.stacks:
        new = new_by_stack.get(r.stack, 0)
        lines.append(f"{r.stack:<16}{r.resources:>10}{r.passed:>8}{len(r.failed):>8}{len(r.failed) - new:>10}{new:>6}")
    skipped = sum(sum(r.skipped_types.values()) for r in outcome.stacks)
    lines.append(f"({skipped} Kubernetes, random and engine resources have no Terraform type and are not scanned)")
    lines += reviewed.sections(
        outcome,
        new="Failed checks not in policies/checkov-baseline.yaml",
        gone="failure",
        line=lambda f: f"{f.stack}: {f.check} {f.resource}  {f.name}",
        order=lambda f: (f.stack, f.check, f.resource),
    )
    gaps = [(f, entry) for f, entry in outcome.accepted if entry.kind == "gap"]
    if gaps:
        lines.append(f"\nOpen gaps (in the baseline as kind: gap until fixed): {len(gaps)} findings")
        for check in sorted({entry.check for _, entry in gaps}):
            stacks = sorted({f.stack for f, entry in gaps if entry.check == check})
            lines.append(f"  {check}: {', '.join(stacks)}")
    total_checks = sum(r.passed + len(r.failed) for r in outcome.stacks)
    lines.append(
        f"\n{total_checks} checks: {sum(r.passed for r in outcome.stacks)} passed, "
        f"{sum(len(r.failed) for r in outcome.stacks)} failed ({reviewed.tally(outcome)}); {reviewed.stale_count(outcome)}"
    )
    return "\n".join(lines)


def as_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "stacks": [
            {"stack": r.stack, "resources": r.resources, "passed": r.passed, "failed": len(r.failed), "skipped_types": r.skipped_types}
            for r in outcome.stacks
        ],
        **reviewed.as_json(outcome, ("reason", "kind")),
    }
