"""The three rooms: the deployable program (stacks/, components/), the policy pack (policies/) and the
developer tooling (tools/, dr/, benchmarks/). Imports flow one way: tooling -> programs -> components."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLING = {"tools", "dr", "benchmarks", "tests", "policies"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def program_files(package: str) -> list[Path]:
    # stacks/__main__.py is the `python -m stacks` alias of the tooling's CLI; Pulumi never imports it.
    return [p for p in sorted((ROOT / package).rglob("*.py")) if p != ROOT / "stacks" / "__main__.py"]


@pytest.mark.parametrize("package", ["stacks", "components"])
def test_the_deployable_program_never_imports_the_tooling(package):
    offenders = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & TOOLING) for p in program_files(package)}
    assert not {k: v for k, v in offenders.items() if v}
    assert offenders, "no program files found"


def test_components_never_import_the_stacks():
    offenders = [str(p.relative_to(ROOT)) for p in program_files("components") if "stacks" in imported_packages(p)]
    assert not offenders


def test_the_entry_point_pulumi_runs_imports_only_the_program():
    assert imported_packages(ROOT / "__main__.py") == {"stacks"}
