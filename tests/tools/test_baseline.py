"""The reviewed-baseline reporter both scanners share (tools/baseline.py): judging, reading and reporting."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pytest

from tools import baseline


@dataclass(frozen=True)
class Hit:
    stack: str
    rule: str


@dataclass
class Entry:
    rule: str
    reason: str
    stack: str = "*"

    def matches(self, finding: Hit) -> bool:
        return fnmatch.fnmatchcase(finding.rule, self.rule) and baseline.stack_matches(self.stack, finding.stack)

    def describe(self) -> str:
        return f"{self.rule} (stack {self.stack})"


def test_a_listed_finding_is_accepted_by_the_first_entry_that_matches():
    first, second = Entry("R*", "broad"), Entry("R1", "narrow")
    judgement = baseline.judge([Hit("aws-dev", "R1")], [first, second])
    assert judgement.accepted == [(Hit("aws-dev", "R1"), first)]
    assert judgement.stale == [second] and not judgement.ok


def test_an_unlisted_finding_fails_and_an_unused_entry_is_stale():
    entry = Entry("R2", "gone")
    judgement = baseline.judge([Hit("aws-dev", "R1")], [entry])
    assert judgement.unaccepted == [Hit("aws-dev", "R1")] and judgement.stale == [entry] and not judgement.ok


def test_every_finding_accepted_and_every_entry_used_is_ok():
    assert baseline.judge([Hit("aws-dr", "R1"), Hit("gcp-dr", "R1")], [Entry("R1", "why", stack="aws-*, gcp-dr")]).ok


def test_an_entry_for_other_stacks_does_not_accept():
    judgement = baseline.judge([Hit("aws-dev", "R1")], [Entry("R1", "why", stack=baseline.stack_pattern(["aws-dr", "gcp-dr"]))])
    assert judgement.unaccepted == [Hit("aws-dev", "R1")]


def test_reading_reports_every_problem_of_every_entry_at_once(tmp_path):
    path = tmp_path / "baseline.yaml"
    path.write_text(
        "accepted:\n  - rule: R1\n  - rule: R2\n    reason: r\n    colour: red\n  - rule: R3\n    reason: r\n    stack: [a, b]\n"
    )
    with pytest.raises(baseline.ScanError) as error:
        baseline.read_entries(path, ("rule", "reason"), ("stack",), lambda item: "R2 is retired" if item.get("rule") == "R2" else None)
    assert str(error.value) == "baseline.yaml: entry 1: missing reason; entry 2: R2 is retired; entry 2: unknown key(s) colour"


def test_reading_a_valid_baseline_gives_its_entries(tmp_path):
    path = tmp_path / "baseline.yaml"
    path.write_text("accepted:\n  - rule: R1\n    reason: why\n    stack: [a, b]\n")
    assert baseline.read_entries(path, ("rule", "reason"), ("stack",)) == [{"rule": "R1", "reason": "why", "stack": ["a", "b"]}]


def test_a_baseline_that_is_not_yaml_is_a_scan_error(tmp_path):
    path = tmp_path / "baseline.yaml"
    path.write_text("accepted: [")
    with pytest.raises(baseline.ScanError, match=r"baseline\.yaml is not valid YAML"):
        baseline.read_entries(path, ("rule",), ())


def test_the_report_lists_new_findings_sorted_and_stale_entries():
    judgement = baseline.judge([Hit("gcp-dr", "R9"), Hit("aws-dr", "R8"), Hit("aws-dr", "R1")], [Entry("R1", "why"), Entry("R5", "old")])
    lines = baseline.sections(
        judgement, new="Not in the baseline", gone="hit", line=lambda h: f"{h.stack} {h.rule}", order=lambda h: h.stack
    )
    assert lines == [
        "\nNot in the baseline:",
        "  aws-dr R8",
        "  gcp-dr R9",
        "\nBaseline entries that match no hit any more (remove them):",
        "  R5 (stack *)",
    ]
    assert baseline.tally(judgement) == "1 accepted, 2 not" and baseline.stale_count(judgement) == "1 stale baseline entries"


def test_a_clean_outcome_has_no_sections():
    assert baseline.sections(baseline.judge([], []), new="x", gone="y", line=str, order=str) == []


def test_the_json_carries_the_accepting_entrys_fields():
    entry = Entry("R1", "why", stack="aws-dr")
    document = baseline.as_json(
        baseline.judge([Hit("aws-dr", "R1"), Hit("aws-dr", "R2")], [entry, Entry("R7", "old")]), ("reason", "stack")
    )
    assert document == {
        "unaccepted": [{"stack": "aws-dr", "rule": "R2"}],
        "accepted": [{"stack": "aws-dr", "rule": "R1", "reason": "why"}],
        "stale": [{"rule": "R7", "reason": "old", "stack": "*"}],
    }
