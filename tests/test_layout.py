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


# ---- the tooling's rooms ------------------------------------------------------------------------
# tools/ is split by what each part does: the offline engine (engine/), the checks a plan must pass
# (checks/), the reports built from previews (reports/), the offline diff (diff/), and the commands
# that talk to the live clouds (live/). Only the command line brings the offline and live rooms together.
OFFLINE_ROOMS = ("engine", "checks", "reports", "diff")
LIVE_ROOM = "tools.live"
# What talking to a cloud takes: an SDK client or an HTTP request (botocore alone is its service
# models, read offline by the force-new data generator).
NETWORK_CLIENTS = {"boto3", "googleapiclient", "google.cloud", "google.auth", "urllib.request", "requests", "http.client"}


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved, names imported from a package included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def tool_files(*rooms: str) -> list[Path]:
    return [p for room in rooms for p in sorted((ROOT / "tools" / room).rglob("*.py"))]


def test_no_room_of_the_tooling_is_named_offline():
    # "offline" said how the engine runs, not what a file does: the live-cloud verify sat in it.
    assert not (ROOT / "tools" / "offline").exists()
    assert {p.parent.name for p in tool_files(*OFFLINE_ROOMS, "live")} >= {*OFFLINE_ROOMS, "live"}


def test_the_offline_rooms_never_import_the_live_room():
    files = tool_files(*OFFLINE_ROOMS)
    assert len(files) > 20
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m == LIVE_ROOM or m.startswith(LIVE_ROOM + ".")) for p in files
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_whatever_talks_to_a_cloud_lives_in_the_live_room():
    talking = {
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "tools").rglob("*.py"))
        if any(m == c or m.startswith(c + ".") for m in imported_modules(p) for c in NETWORK_CLIENTS)
    }
    assert "tools/live/verify.py" in talking
    assert {f for f in talking if not f.startswith("tools/live/")} == set()


def test_every_room_of_the_tooling_says_what_it_holds():
    packages = sorted({p.parent for p in (ROOT / "tools").rglob("*.py")} - {ROOT / "tools"})
    assert len(packages) >= 5
    missing = [str(p.relative_to(ROOT)) for p in packages if not ast.get_docstring(ast.parse((p / "__init__.py").read_text()))]
    assert not missing
