"""Every IAM policy document the stacks create, through Parliament and Cloudsplaining, against the
reviewed baseline of accepted findings (policies/iam-baseline.yaml).

    python -m tools iam-scan <stack>|--all [--json]

The documents are taken from each stack's run against the offline engine's fake providers (values
resolved as a deploy would give them, ARNs in each service's real shape: tools/engine/fakes.py):
roles' inline policies and managed policies (identity), permissions boundaries (boundary), roles'
trust policies (trust), and bucket, key and topic policies (resource). The analysers run from their
own virtualenv, `.venv-iam` (`python3 dev.py iam-scan` makes it from tools/iam-requirements.txt),
through tools/iam_analysers.py; which analyser judges which kind is said there.

Exit status: 0 when every finding is accepted in the baseline and every baseline entry still
matches a finding; 1 otherwise; 2 on bad arguments or missing analysers.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import baseline as reviewed
from tools.baseline import ScanError

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv-iam" / "bin" / "python"
ANALYSERS = Path(__file__).resolve().parent / "iam_analysers.py"
BASELINE = ROOT / "policies" / "iam-baseline.yaml"

# Which input of which type holds a policy document, and what kind of document it is.
DOCUMENT_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": ("policy", "identity"),
    "aws:iam/policy:Policy": ("policy", "identity"),
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "resource"),
    "aws:kms/key:Key": ("policy", "resource"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "resource"),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy", "resource"),
}


@dataclass(frozen=True)
class Document:
    stack: str
    type: str
    name: str
    kind: str
    policy: dict

    @property
    def id(self) -> str:
        return f"{self.stack}:{self.type}:{self.name}"


@dataclass(frozen=True)
class Finding:
    stack: str
    resource: str
    kind: str
    tool: str
    issue: str
    detail: str


@dataclass
class Accepted:
    tool: str
    issue: str
    resource: str
    reason: str
    stack: str = "*"
    detail: str = "*"

    def matches(self, f: Finding) -> bool:
        return (
            f.tool == self.tool
            and f.issue == self.issue
            and fnmatch.fnmatchcase(f.resource, self.resource)
            and reviewed.stack_matches(self.stack, f.stack)
            and fnmatch.fnmatchcase(f.detail, self.detail.replace("[", "[[]"))  # details are JSON: `[` is literal, `*` a wildcard
        )

    def describe(self) -> str:
        return f"{self.tool} {self.issue} {self.resource} (stack {self.stack})"


@dataclass
class Outcome(reviewed.Judgement[Finding, Accepted]):
    documents: list[Document] = field(default_factory=list)


def _plain(value: Any) -> Any:
    from tools.engine.engine import reveal

    return reveal(value)


def documents_of(stack: str, result) -> list[Document]:
    """The policy documents one stack's resolved run creates."""
    found = []
    for r in result.resources:
        if r.type not in DOCUMENT_INPUTS or not r.custom:
            continue
        key, kind = DOCUMENT_INPUTS[r.type]
        text = _plain(r.inputs.get(key))
        if not isinstance(text, str):
            continue
        if r.type == "aws:iam/policy:Policy" and (_plain(r.inputs.get("tags")) or {}).get("purpose") == "permissions-boundary":
            kind = "boundary"
        found.append(Document(stack, r.type, r.name, kind, json.loads(text)))
    return found


def collect(stacks: Iterable[str]) -> list[Document]:
    from tools.engine import preview_stacks

    wanted = set(stacks)
    return [d for run in preview_stacks(sorted(wanted), preview=False) if run.stack in wanted for d in documents_of(run.stack, run.result)]


def analyse(documents: list[Document], python: Path = PYTHON) -> list[Finding]:
    if not python.exists():
        raise ScanError(f"the IAM analysers are not installed at {python.parent.parent}; run `python3 dev.py iam-scan` to create it")
    by_id = {d.id: d for d in documents}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "documents.json"
        path.write_text(json.dumps([{"id": d.id, "kind": d.kind, "policy": d.policy} for d in documents]))
        done = subprocess.run([str(python), str(ANALYSERS), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ScanError(f"the IAM analysers failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    findings = []
    for item in json.loads(done.stdout):
        document = by_id[item["id"]]
        findings.append(Finding(document.stack, document.name, document.kind, item["tool"], item["issue"], item["detail"]))
    return findings


def load_baseline(path: Path = BASELINE) -> list[Accepted]:
    return [
        Accepted(
            str(item["tool"]),
            str(item["issue"]),
            str(item["resource"]),
            str(item["reason"]).strip(),
            reviewed.stack_pattern(item.get("stack", "*")),
            str(item.get("detail", "*")),
        )
        for item in reviewed.read_entries(path, ("tool", "issue", "resource", "reason"), ("stack", "detail"))
    ]


def judge(documents: list[Document], findings: list[Finding], baseline: list[Accepted]) -> Outcome:
    judgement = reviewed.judge(findings, baseline)
    return Outcome(judgement.unaccepted, judgement.accepted, judgement.stale, documents)


def scan(stacks: Iterable[str], python: Path = PYTHON, baseline: list[Accepted] | None = None) -> Outcome:
    baseline = load_baseline() if baseline is None else baseline
    documents = collect(stacks)
    return judge(documents, analyse(documents, python), baseline)


def report(outcome: Outcome) -> str:
    kinds: dict[str, int] = {}
    for d in outcome.documents:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    lines = [
        f"{len(outcome.documents)} policy documents ("
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        + f") in {len({d.stack for d in outcome.documents})} stacks"
    ]
    lines += reviewed.sections(
        outcome,
        new="Findings not in policies/iam-baseline.yaml",
        gone="finding",
        line=lambda f: f"{f.stack}: {f.resource} ({f.kind}) {f.tool} {f.issue}: {f.detail[:300]}",
        order=lambda f: (f.stack, f.resource, f.tool, f.issue),
    )
    lines.append(
        f"\n{len(outcome.accepted) + len(outcome.unaccepted)} findings: {reviewed.tally(outcome)}; {reviewed.stale_count(outcome)}"
    )
    return "\n".join(lines)


def as_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "documents": len(outcome.documents),
        **reviewed.as_json(outcome),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    from tools.engine.workspace import stack_names

    parser = argparse.ArgumentParser(prog="python -m tools iam-scan", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("stack", nargs="?")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    known = stack_names()
    if args.all == bool(args.stack) or (args.stack and args.stack not in known):
        print(f"name one stack ({', '.join(known)}) or pass --all", file=sys.stderr)
        return 2
    try:
        outcome = scan(known if args.all else [args.stack])
    except ScanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(as_json(outcome), indent=2) if args.json else report(outcome))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    from tools.engine import tune_garbage_collector

    tune_garbage_collector()
    sys.exit(main())
