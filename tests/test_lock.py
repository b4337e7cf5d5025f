"""The lock: pyproject.toml's groups resolved once in uv.lock, exported with hashes per room
(requirements.txt for `pulumi up`, policies/, dr/, and requirements-dev.txt for .venv)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import dev

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REQUIREMENT = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins(path: Path) -> dict[str, str]:
    """name -> version of every requirement in an exported lock."""
    found = {}
    for line in path.read_text().splitlines():
        if match := REQUIREMENT.match(line):
            found[match[1].lower().replace("_", "-")] = match[2]
    return found


def name(requirement: str) -> str:
    return re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_is_in_step_with_pyproject():
    result = subprocess.run([str(UV), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("path", "selection"), dev.EXPORTS, ids=[path for path, _ in dev.EXPORTS])
def test_each_export_is_what_the_lock_exports(path, selection):
    command = [str(UV), "export", "--frozen", "--no-emit-project", "--quiet", *selection]
    exported = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    body = lambda text: [line for line in text.splitlines() if not line.startswith("#")]  # noqa: E731 - the header names the output file
    assert body(exported) == body((ROOT / path).read_text()), f"{path} is stale: python3 dev.py lock"


def test_every_dependency_is_pinned_exactly():
    declared = PYPROJECT["project"]["dependencies"] + [r for group in PYPROJECT["dependency-groups"].values() for r in group]
    assert declared and not [r for r in declared if "==" not in r]


@pytest.mark.parametrize("path", [path for path, _ in dev.EXPORTS])
def test_every_package_of_an_export_carries_its_hashes(path):
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / path).read_text())
    requirements = [block for block in blocks if REQUIREMENT.match(block)]
    assert requirements and not [block.split()[0] for block in requirements if "--hash=sha256:" not in block]


def test_the_program_lock_holds_none_of_the_tooling():
    tooling = {name(r) for group, requirements in PYPROJECT["dependency-groups"].items() for r in requirements}
    runtime = pins(ROOT / "requirements.txt")
    assert {name(r) for r in PYPROJECT["project"]["dependencies"]} <= set(runtime)
    assert not tooling & set(runtime)


def test_pulumi_builds_its_virtualenv_from_the_program_lock_with_pip():
    options = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert options == {"toolchain": "pip", "virtualenv": ".venv"} and ROOT / options["virtualenv"] == dev.VENV
    assert "requirements.txt" in [path for path, selection in dev.EXPORTS if selection == ["--no-default-groups"]]


@pytest.mark.parametrize("path", ["policies/requirements.txt", "dr/requirements.txt"])
def test_a_rooms_lock_agrees_with_the_program_lock_on_every_shared_package(path):
    runtime, room = pins(ROOT / "requirements.txt"), pins(ROOT / path)
    shared = set(runtime) & set(room)
    assert {package: room[package] for package in shared} == {package: runtime[package] for package in shared}
    assert not {package: version for package, version in room.items() if pins(ROOT / "requirements-dev.txt").get(package) != version}


def test_the_policy_pack_shares_the_programs_virtualenv():
    options = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]["options"]
    assert (ROOT / "policies" / options["virtualenv"]).resolve() == dev.VENV.resolve()
