"""`python -m tools.docs`: the generated parts of docs/ are what the code generates, and the command puts them back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import docs

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(docs.PARTS))
def test_every_generated_part_is_current(name):
    outdated, _ = docs.stale(name)
    assert not outdated, f"{docs.PARTS[name].path} is stale: run `python -m tools.docs {name}`"


@pytest.fixture
def copy(tmp_path, monkeypatch) -> Path:
    for part in docs.PARTS.values():
        (tmp_path / part.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / part.path, tmp_path / part.path)
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    return tmp_path


def test_check_names_a_stale_part_and_writes_nothing(copy, capsys):
    doc = copy / "docs" / "policies.md"
    doc.write_text(doc.read_text().replace("| `rds-not-public` | critical |", "| `rds-not-public` | low |"))
    stale = doc.read_text()
    assert docs.main(["--check", "config", "policies"]) == 1
    assert capsys.readouterr().err.startswith("docs/policies.md is stale")
    assert doc.read_text() == stale


def test_a_stale_part_is_rewritten_and_only_that_part(copy):
    doc = copy / "docs" / "configuration.md"
    committed = doc.read_text()
    doc.write_text(committed.replace("| `crm:budget.alertPercents` |", "| `crm:budget.alertPercent` |", 1))
    assert docs.main(["config", "policies"]) == 1
    assert doc.read_text() == committed
    assert docs.main(["config", "policies"]) == 0  # current now


def test_an_unknown_part_is_refused(capsys):
    assert docs.main(["readme"]) == 2
    assert "unknown part" in capsys.readouterr().err
