"""docs/diff.md and docs/runbooks/changes.md against the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

from tools.diff.force_new import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbooks" / "changes.md"


def _headings(path: Path) -> set[str]:
    return {line[3:].strip() for line in path.read_text().splitlines() if line.startswith("## ")}


def test_every_section_the_refusals_point_to_is_in_the_runbook():
    source = (ROOT / "tools" / "diff" / "plan.py").read_text()
    cited = set(re.findall(r'docs/runbooks/changes\.md \(\\?"([^"\\]+)\\?"\)', source))
    assert len(cited) >= 4
    assert cited <= _headings(RUNBOOK)


def test_the_runbooks_rehearsal_table_claims_no_rehearsal_that_still_fails():
    # A rehearsal that is an expected failure is a change that still breaks service: the table must say so,
    # and today none does.
    tests = (ROOT / "tests" / "tools" / "diff" / "test_diff_rehearsals.py").read_text()
    table = RUNBOOK.read_text().split("## Rehearsed changes", 1)[1]
    assert "def test_" in tests and "xfail" not in tests
    assert "| passes" in table and "issue 22 item" not in table


def test_the_diff_page_lists_every_force_new_data_file():
    page = (ROOT / "docs" / "diff.md").read_text()
    listed = set(re.findall(r"`(\w+\.json)`", page.split("## The force-new data", 1)[1]))
    assert listed == {p.name for p in DATA_DIR.glob("*.json")}
