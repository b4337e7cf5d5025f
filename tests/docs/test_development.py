"""docs/development.md's dependency table names the rooms pyproject.toml declares and the exports dev.py writes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import dev
from tests.helpers import markdown_table

ROOT = Path(__file__).resolve().parents[2]


def _table() -> list[list[str]]:
    return markdown_table(ROOT / "docs" / "development.md", "| where | what for | exported to (pip format, every file's sha256) |")


def test_the_table_has_a_row_per_dependency_group_and_no_other():
    groups = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"])
    documented = {m.group(1) for row in _table() if (m := re.fullmatch(r"group `([\w-]+)`", row[0]))}
    assert groups and documented == groups


def test_the_table_names_every_export_dev_py_writes():
    named = {name for row in _table() for name in re.findall(r"`([\w/.-]+\.txt)`", row[2])}
    assert named == {path for path, _ in dev.EXPORTS}
