"""docs/deviations.md: every row's check holds against the offline previews of the shipped stacks, and every value of the
source documents (tests/docs/seed_values.yaml) that the stacks do not ship as it is has its row."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import yaml

from tests.stacks.test_app_env import app_env
from tools.engine.engine import reveal

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "deviations.md"
SEEDS = yaml.safe_load((Path(__file__).parent / "seed_values.yaml").read_text())
KINDS = ("preview", "output", "appenv", "requirement")
APP_ENV = {"aws": "aws:secretsmanager/secretVersion:SecretVersion", "gcp": "gcp:secretmanager/secretVersion:SecretVersion"}
# What the issue asks the table to cover at least (a fragment of each row's "setting" cell).
REQUIRED = (
    "EKS cluster name",
    "Cloud SQL instance name",
    "app_env secret name",
    "GKE secondary range names",
    "GKE services range name",
    "Cloudflare pool names",
    "`DATABASE_URL`",
    "`REDIS_MAX_REDIRECTS`",
    "`REDIS_NODES`",
    "GKE node pool initial count (DR)",
    "GKE node pool initial count (dev)",
    "`role` label",
    "Secret Manager replication",
    "Replication slot",
    "`GRANT SELECT",
    "VPN resource names",
    "Cloudflare provider",
    "Steering policy",
)


def rows(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split(" | ")]
    parsed = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == len(header), f"a row with {len(cells)} cells: {line[:80]}"
        parsed.append(dict(zip(header, cells)))
    return parsed


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def checks(row: dict) -> list[str]:
    return [span for span in code_spans(row["checked by"]) if span.split(" ", 1)[0] in KINDS]


def at(value, path: str):
    """The value at a dotted path; "absent" where the resource has no such input."""
    for part in path.split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return "absent"
    return value


def actual(check: str, shipped) -> object:
    kind, *args = check.split(" ~ ")[0].split()
    if kind == "preview":
        stack, name, path = args
        # Of the resources with that name (a node group and its launch template share one), the one with that input.
        found = [at(reveal(r.inputs), path) for r in shipped(stack, preview=False).resources if r.name == name]
        return next((value for value in found if value != "absent"), "absent")
    if kind == "output":
        stack, key = args
        return reveal(shipped(stack, preview=False).outputs[key])
    if kind == "appenv":
        stack, key = args
        return app_env(shipped(stack, preview=False), APP_ENV[stack.split("-")[0]]).get(key, "absent")
    (package,) = args
    pins = dict(
        line.split("==", 1) for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line and not line.startswith("#")
    )
    return pins[package]


def mismatch(row: dict, check: str, value) -> str | None:
    """None when the value is what the row says ours is; otherwise what differs."""
    text = value if isinstance(value, str) else json.dumps(value)
    if " ~ " in check:
        pattern = check.split(" ~ ", 1)[1]
        return None if re.search(pattern, text) else f"{text!r} does not match {pattern!r}"
    expected = code_spans(row["ours"])[0]
    return None if text == expected else f"{text!r} != {expected!r}"


ROWS = rows(TABLE.read_text())
CHECKED = [(row, check) for row in ROWS for check in checks(row)]


def test_the_table_has_every_column_filled():
    for row in ROWS:
        assert all(row.values()), row


@pytest.mark.parametrize("fragment", REQUIRED)
def test_the_table_covers(fragment):
    assert any(fragment in row["setting"] for row in ROWS), fragment


def test_every_row_is_checked_or_says_why_not():
    for row in ROWS:
        assert checks(row) or row["checked by"].startswith("—"), row["setting"]


def test_most_rows_are_checked_against_the_stacks():
    assert len(CHECKED) >= 25


@pytest.mark.parametrize("row,check", CHECKED, ids=[f"{r['setting'][:40]}: {c.split(' ~ ')[0]}" for r, c in CHECKED])
def test_the_row_matches_the_stack(shipped, row, check):
    assert mismatch(row, check, actual(check, shipped)) is None


def test_a_changed_setting_without_its_row_fails(run_stack):
    """The check above is live: the same row against a stack whose setting changed reports a mismatch."""
    row = next(r for r in ROWS if r["setting"] == "Cloud SQL backup location")
    (check,) = checks(row)
    changed = run_stack("gcp-dr", {"crm:database": {"backupLocation": "asia"}}, preview=False)
    instance = next(r for r in changed.resources if r.name == "crm-dr-sql-postgres")
    assert mismatch(row, check, at(reveal(instance.inputs), check.split()[3])) == "'asia' != 'asia-northeast1'"


def test_a_pattern_row_fails_on_a_value_outside_it():
    row = next(r for r in ROWS if r["setting"] == "`DATABASE_URL`")
    (check,) = checks(row)
    assert mismatch(row, check, "postgresql://crmadmin:password@localhost:5432/crm") is not None


def plain(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def seed_deviations(shipped, rows: list[dict]) -> list[str]:
    """The documents' values the shipped stacks differ from with no row of `rows` checking that value."""
    checked = {check.split(" ~ ")[0].strip() for row in rows for check in checks(row)}
    missing = []
    for seed in SEEDS:
        ours = actual(seed["check"], shipped)
        if plain(ours) != plain(seed["documents"]) and seed["check"] not in checked:
            missing.append(f"{seed['source']}: the documents' {seed['documents']!r}, ours {plain(ours)[:80]!r} ({seed['check']})")
    return missing


def test_the_seed_values_cover_the_documents_matrix():
    sources = {seed["source"].split(":")[0] for seed in SEEDS}
    assert {"002 AWS", "002 GCP", "001 aws/dr", "001 gcp/dr", "001 cloudflare-lb", "000"} <= sources
    assert all(seed["check"].split()[0] in KINDS for seed in SEEDS)


def test_every_value_the_stacks_ship_other_than_the_documents_has_its_row(shipped):
    assert seed_deviations(functools.cache(shipped), ROWS) == []  # one copy of each stack for all the seeds


def test_a_deviation_without_its_row_is_named(shipped):
    """The check above is live: without the node type row, the m6i nodes the stacks ship are reported."""
    rows = [row for row in ROWS if not row["setting"].startswith("EKS node instance type")]
    missing = seed_deviations(functools.cache(shipped), rows)
    assert any("'t3.large', ours 'm6i.large'" in line for line in missing), missing
