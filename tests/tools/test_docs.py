"""`python -m tools.docs`: the generated parts of docs/ are what the code generates, and the command puts them back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import docs

ROOT = Path(__file__).resolve().parents[2]
# One worker renders every stack's preview once (tools/docs.py caches them per process) for all the documents' tests.
pytestmark = pytest.mark.xdist_group("generated-docs")


@pytest.mark.parametrize("name", list(docs.PARTS))
def test_every_generated_part_is_current(name):
    outdated, _ = docs.stale(name)
    assert not outdated, f"{', '.join(docs.PARTS[name].paths)} stale: run `python -m tools.docs {name}`"


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
    assert docs.main(["changelog"]) == 2
    assert "unknown part" in capsys.readouterr().err


def test_every_document_generator_runs_here():
    """Each module that writes into docs/ (a `--write` or a generated-block marker) is a part of `python -m tools.docs`."""
    writers = {path.stem for path in (ROOT / "tools").rglob("*.py") if "--write" in path.read_text() and path.stem != "docs"}
    assert {"prerequisites", "permissions_doc"} <= writers
    covered = {part.render.__name__.lstrip("_") for part in docs.PARTS.values()}
    assert {"prerequisites", "permissions"} <= covered
    for writer in writers:
        assert any(writer.startswith(name) for name in covered), (
            f"tools/**/{writer}.py writes docs but `python -m tools.docs` does not run it"
        )


def test_every_generated_block_in_the_documents_belongs_to_a_part():
    marked = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for command in re.findall(r"<!-- generated: [\w-]+ \(python -m ([\w.]+)[^)]*\) -->", path.read_text()):
            marked.setdefault(command, set()).add(str(path.relative_to(ROOT)))
    assert marked.get("tools.docs") and marked.get("tools.reports.prerequisites")
    covered = {path for part in docs.PARTS.values() for path in part.paths}
    for command, paths in marked.items():
        assert paths <= covered, f"{command} writes {sorted(paths - covered)}, which `python -m tools.docs` never checks"


def test_check_reports_a_stale_prerequisite_block(copy, capsys):
    doc = copy / "docs" / "deploying.md"
    doc.write_text(doc.read_text().replace("| `gcp-dr` | `artifactregistry`, ", "| `gcp-dr` | ", 1))
    assert docs.main(["--check", "prerequisites"]) == 1
    assert "docs/deploying.md is stale" in capsys.readouterr().err


def test_check_reports_stale_deployer_permissions(copy, capsys):
    doc = copy / "docs" / "prerequisites.md"
    doc.write_text(doc.read_text().replace("`iam:PassRole` only to", "`iam:PassRole` to", 1))
    assert docs.main(["--check", "permissions"]) == 1
    assert "docs/prerequisites.md is stale" in capsys.readouterr().err


def test_a_document_that_lost_its_block_fails_the_check(copy, capsys):
    doc = copy / "docs" / "components.md"
    start, end = docs.block_markers("deletion-protection", "components")
    doc.write_text(doc.read_text().replace(start, "").replace(end, ""))
    assert docs.main(["--check", "components"]) == 1
    assert "deletion-protection" in capsys.readouterr().err


def test_the_stale_estate_table_is_rewritten(copy):
    doc = copy / "docs" / "cost.md"
    committed = doc.read_text()
    doc.write_text(committed.replace("| `gcp-dr` |", "| `gcp-dr` | 6,433.10 | 7,700 | | |\n| `old` |", 1))
    assert docs.main(["cost"]) == 1
    assert doc.read_text() == committed


def test_readmes_stack_table_lists_a_data_store_only_where_the_stack_creates_one(shipped):
    table = docs.stacks_table([shipped(stack) for stack in ("aws-dev", "aws-staging", "gcp-dev", "gcp-staging")])
    row = {line.split(" | ")[0].strip("| `"): line for line in table.splitlines()[2:]}
    assert "PostgresDatabase" not in row["aws-dev"] and "RedisCache" not in row["aws-dev"]
    assert "PostgresDatabase" in row["aws-staging"] and "RedisCache" in row["aws-staging"]
    assert "CloudSqlPostgres" not in row["gcp-dev"] and "MemorystoreRedis" not in row["gcp-dev"]
    assert "CloudSqlPostgres" in row["gcp-staging"]


def test_the_deletion_guards_say_which_args_have_no_default():
    guards = {name: default for name, _, default in docs.deletion_guards()}
    assert guards["PostgresDatabaseArgs"] == guards["CloudSqlPostgresArgs"] == "required"
    assert guards["EksClusterArgs"] == "`True`"
