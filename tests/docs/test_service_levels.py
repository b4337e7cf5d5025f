"""docs/operations.md's SLO tables and docs/runbooks/gameday.md's figures are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.slo import BURN_WINDOWS
from dr import gameday

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _span(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


@pytest.mark.parametrize("window", BURN_WINDOWS, ids=lambda w: w.name)
def test_each_burn_rate_alert_is_documented_as_the_code_defines_it(window):
    row = f"| `{window.name}` | {_span(window.long_seconds)} / {_span(window.short_seconds)} | {window.burn_rate:g} | {window.budget_share:.0%} |"
    assert row.replace("%", " %") in (DOCS / "operations.md").read_text()


def test_every_figure_of_the_report_is_explained_in_the_runbook():
    runbook = (DOCS / "runbooks" / "gameday.md").read_text()
    timeline = gameday.Timeline()
    estate = gameday.Estate({}, "dr", "r", "aws-outage", "t", "a", "", {}, 0, True, [], {}, "h", "h-aws", "acct", {}, 75, 120, {})
    documented = set(re.findall(r"`([a-z0-9_]+)`", runbook))
    missing = [name for name in gameday.figures(timeline, estate, gameday.Options()) if name not in documented]
    assert not missing, missing
