"""A reviewed baseline of accepted scanner findings: read it, judge findings against it, report the outcome.

The Checkov scan (tools/security_scan.py, policies/checkov-baseline.yaml) and the IAM scan
(tools/iam_scan.py, policies/iam-baseline.yaml) share it. A finding the baseline lists is accepted;
one it does not list is new and fails the scan; an entry that matches no finding is stale and fails
it too, so the baseline shrinks when a fix lands. Each scanner supplies its own finding and entry
types (an entry has `matches(finding)`, `describe()` and `reason`); this module knows none of their fields.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import yaml


class ScanError(Exception):
    """A scan that could not run: an unreadable baseline, a missing scanner."""


class Entry(Protocol):
    reason: str

    def matches(self, finding: Any, /) -> bool: ...

    def describe(self) -> str: ...


F = TypeVar("F")
E = TypeVar("E", bound=Entry)


def read_entries(
    path: Path, required: Sequence[str], optional: Sequence[str], check: Callable[[dict], str | None] = lambda _: None
) -> list[dict]:
    """The baseline's `accepted:` entries as dicts, once every entry has the required keys (non-empty), no
    unknown key and passes `check` (which returns a problem or None); otherwise one ScanError naming every
    problem with its entry's number."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ScanError(f"{path.name} is not valid YAML: {error}") from None
    entries, problems = [], []
    for i, raw_item in enumerate(document.get("accepted") or [], 1):
        item = raw_item or {}
        missing = [key for key in required if not str(item.get(key) or "").strip()]
        unknown = sorted(set(item) - {*required, *optional})
        problem = check(item)
        if problem:
            problems.append(f"entry {i}: {problem}")
        if missing:
            problems.append(f"entry {i}: missing {', '.join(missing)}")
        if unknown:
            problems.append(f"entry {i}: unknown key(s) {', '.join(unknown)}")
        if not missing and not unknown:
            entries.append(item)
    if problems:
        raise ScanError(f"{path.name}: " + "; ".join(problems))
    return entries


def stack_pattern(value: Any) -> str:
    """An entry's `stack:` (one pattern, or a list of them) as comma-separated patterns."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def stack_matches(patterns: str, stack: str) -> bool:
    return any(fnmatch.fnmatchcase(stack, pattern.strip()) for pattern in patterns.split(","))


@dataclass
class Judgement(Generic[F, E]):
    unaccepted: list[F]
    accepted: list[tuple[F, E]]
    stale: list[E]

    @property
    def ok(self) -> bool:
        return not self.unaccepted and not self.stale


def judge(findings: Iterable[F], baseline: Sequence[E]) -> Judgement[F, E]:
    """Each finding against the first entry that matches it; the entries nothing matched are stale."""
    unaccepted, accepted, used = [], [], set()
    for finding in findings:
        match = next((entry for entry in baseline if entry.matches(finding)), None)
        if match is None:
            unaccepted.append(finding)
        else:
            accepted.append((finding, match))
            used.add(id(match))
    return Judgement(unaccepted, accepted, [entry for entry in baseline if id(entry) not in used])


def sections(judgement: Judgement[F, E], *, new: str, gone: str, line: Callable[[F], str], order: Callable[[F], Any]) -> list[str]:
    """The report's lists: the findings the baseline does not accept (under the heading `new`, sorted by
    `order`, one `line` each) and the stale entries (entries that match no `gone` any more)."""
    lines = []
    if judgement.unaccepted:
        lines.append(f"\n{new}:")
        lines.extend(f"  {line(f)}" for f in sorted(judgement.unaccepted, key=order))
    if judgement.stale:
        lines.append(f"\nBaseline entries that match no {gone} any more (remove them):")
        lines.extend(f"  {entry.describe()}" for entry in judgement.stale)
    return lines


def tally(judgement: Judgement) -> str:
    return f"{len(judgement.accepted)} accepted, {len(judgement.unaccepted)} not"


def stale_count(judgement: Judgement) -> str:
    return f"{len(judgement.stale)} stale baseline entries"


def as_json(judgement: Judgement, entry_fields: Sequence[str] = ("reason",)) -> dict[str, Any]:
    """The findings and entries as plain dicts (`vars`); an accepted finding carries `entry_fields` of its entry."""
    return {
        "unaccepted": [vars(f) for f in judgement.unaccepted],
        "accepted": [{**vars(f), **{name: getattr(entry, name) for name in entry_fields}} for f, entry in judgement.accepted],
        "stale": [vars(entry) for entry in judgement.stale],
    }
