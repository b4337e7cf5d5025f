""".pre-commit-config.yaml: every hook is local, runs the project's .venv, works without the network, and catches what it is for."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
HOOKS = [hook for repo in CONFIG["repos"] for hook in repo["hooks"]]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
SLOW = "generated-docs-from-previews"  # previews three stacks; tools/docs.py's own tests cover what it writes


def test_every_hook_is_local_and_provisions_nothing():
    assert HOOKS
    assert {repo["repo"] for repo in CONFIG["repos"]} == {"local"}  # nothing cloned
    assert {hook["language"] for hook in HOOKS} == {"unsupported"}  # no environment built or downloaded


@pytest.mark.parametrize("hook", HOOKS, ids=[hook["id"] for hook in HOOKS])
def test_every_hook_runs_a_program_of_the_projects_venv(hook):
    program, *args = shlex.split(hook["entry"])
    assert program.startswith(".venv/bin/") and (ROOT / program).exists(), program
    if args[:1] == ["-m"]:
        assert importlib.util.find_spec(args[1]) is not None, args[1]


def test_pre_commit_accepts_the_configuration():
    completed = subprocess.run([str(PRE_COMMIT), "validate-config", ".pre-commit-config.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def _offline() -> list[str]:
    """A prefix that runs a command without any network (a user and network namespace), where the kernel allows one."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    return []


# The tests that take a checkout run on one worker, which prepares the repository once for them.
ONE_REPOSITORY = pytest.mark.xdist_group("precommit-repository")


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """The repository's files (committed and new, as git lists them) in a fresh git repository, on the same .venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    work = tmp_path_factory.mktemp("repository") / "work"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
    (work / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    return work


@pytest.fixture
def checkout(repository, tmp_path) -> Path:
    """A copy of that repository for one test, which the test may change (its git index and objects too)."""
    work = tmp_path / "work"
    shutil.copytree(repository, work, symlinks=True)
    return work


def run_hooks(work: Path, *args: str) -> subprocess.CompletedProcess:
    home = work.parent / "pre-commit-home"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "SKIP": SLOW, "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(
        [*_offline(), str(PRE_COMMIT), "run", "--all-files", "--show-diff-on-failure", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@ONE_REPOSITORY
def test_the_hooks_pass_offline_on_the_repository_as_it_is(checkout):
    completed = run_hooks(checkout)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert not list((checkout.parent / "pre-commit-home").glob("repo*"))  # no hook repository was fetched


@ONE_REPOSITORY
def test_the_docs_hook_rewrites_a_stale_reference(checkout):
    doc = checkout / "docs" / "configuration.md"
    committed = doc.read_text()
    doc.write_text(committed.replace("| `crm:budget.monthlyUsd` |", "| `crm:budget.monthlyEur` |"))
    completed = run_hooks(checkout, "generated-docs")
    assert completed.returncode == 1 and "updated docs/configuration.md" in completed.stdout + completed.stderr
    assert doc.read_text() == committed


@ONE_REPOSITORY
def test_the_format_hook_reformats_python(checkout):
    module = checkout / "tools" / "terminal.py"
    committed = module.read_text()
    module.write_text(committed.replace("import os\n", "import os;import re\n", 1))
    assert run_hooks(checkout, "ruff-format").returncode == 1
    assert "import os\nimport re\n" in module.read_text()
