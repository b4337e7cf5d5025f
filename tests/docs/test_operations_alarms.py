"""docs/operations.md's alarm tables against the alarms the stacks create: every alarm has its row, every row an
alarm, and what a row says about when it fires (statistic, direction, window, missing data) is what the alarm does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
STACKS = ("aws-dev", "aws-dr", "gcp-dev", "gcp-dr")
# The alarms the tables describe (the SLO burn-rate alarms and the game day's stop condition have their own sections).
OURS = re.compile(r"^crm-[a-z]+-(?:monitoring|tunnel-alarms)-(?P<alarm>.+)$")


def _rows(header: str) -> list[dict]:
    lines = DOC.read_text().splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first, _, fires, _ = [cell.strip() for cell in line.strip("|").split(" | ")]
        names = re.findall(r"`([a-z0-9<>.-]+)`", first.split("(")[0])
        patterns = [re.compile(re.sub(r"<[^>]+>", r"\\d+", re.escape(n).replace(r"\<", "<").replace(r"\>", ">"))) for n in names]
        rows.append({"names": names, "patterns": patterns, "dr": "(DR)" in first, "optional": "(with " in first, "fires": fires})
    assert rows, header
    return rows


def _row_of(rows: list[dict], alarm: str) -> dict:
    matching = [row for row in rows if any(p.fullmatch(alarm) for p in row["patterns"])]
    assert len(matching) == 1, f"{alarm}: {len(matching)} rows of docs/operations.md describe it"
    return matching[0]


def _minutes(fires: str, word: str = "for") -> float | None:
    found = re.search(rf"\b{word} (\d+) min", fires)
    return float(found.group(1)) if found else None


@pytest.fixture
def previews(shipped):
    return {stack: shipped(stack) for stack in STACKS}


def test_every_cloudwatch_alarm_has_its_row_and_does_what_the_row_says(previews):
    rows = _rows("| alarm | metric (dimensions) | fires when | threshold from |")
    seen = set()
    for stack, result in previews.items():
        for r in result.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
            match = OURS.match(r.name)
            if not match:
                continue
            row = _row_of(rows, match["alarm"])
            seen.add(id(row))
            fires = row["fires"]
            assert not row["dr"] or stack.endswith("-dr"), f"{r.name}: a DR alarm in {stack}"
            statistic = (r.get("statistic") or r.get("extendedStatistic") or "").lower()
            named = re.match(r"(average|maximum|minimum|sum)\b", fires) or re.search(r"\b(p\d+)\b", fires)
            if named:
                assert named.group(1) == statistic, r.name
            direction = {">": "GreaterThan", "<": "LessThan"}
            symbol = re.search(r"[<>]", fires)
            if symbol:
                assert r["comparisonOperator"].startswith(direction[symbol.group(0)]), r.name
            window = r["period"] * r["evaluationPeriods"] / 60
            if of := re.search(r"(?:in|for) (\d+) of (\d+) minutes", fires):
                assert (r["datapointsToAlarm"], r["evaluationPeriods"], r["period"]) == (int(of.group(1)), int(of.group(2)), 60), r.name
            elif (minutes := _minutes(fires) or _minutes(fires, "in") or _minutes(fires, ",")) is not None:
                assert (window, r.get("datapointsToAlarm", r["evaluationPeriods"])) == (minutes, r["evaluationPeriods"]), r.name
            else:
                assert r["evaluationPeriods"] == 1, f"{r.name}: evaluates {r['evaluationPeriods']} periods; the row names no window"
            assert ("missing data breaches" in fires) == (r.get("treatMissingData") == "breaching"), r.name
    unmatched = [row["names"] for row in rows if id(row) not in seen and not row["optional"]]
    assert unmatched == []


def test_every_cloud_monitoring_policy_has_its_row_and_waits_as_long_as_the_row_says(previews):
    rows = _rows("| policy | metric (resource) | fires when | threshold from |")
    seen = set()
    for stack, result in previews.items():
        for r in result.of_type("gcp:monitoring/alertPolicy:AlertPolicy"):
            match = OURS.match(r.name)
            if not match:
                continue
            row = _row_of(rows, match["alarm"])
            seen.add(id(row))
            assert not row["dr"] or stack.endswith("-dr"), f"{r.name}: a DR policy in {stack}"
            [condition] = r["conditions"]
            rule = condition.get("conditionThreshold") or condition.get("conditionAbsent")
            duration = float(str(rule.get("duration", "0s")).rstrip("s")) / 60
            assert duration == (_minutes(row["fires"]) or 0), f"{r.name}: waits {duration:g} min; the row says: {row['fires']}"
    unmatched = [row["names"] for row in rows if id(row) not in seen and not row["optional"]]
    assert unmatched == []
