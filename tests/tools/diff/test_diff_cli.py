"""`python -m tools diff` as a user runs it: the base from git, its own code in its own process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import stack_config
from tests.tools.diff.diff_support import deployed
from tools.cli import main
from tools.diff import cli as diff_cli

PROJECT = Path(__file__).resolve().parents[3]


def _git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=where, check=True, capture_output=True, text=True
    ).stdout


def _project_repository(target: Path) -> Path:
    """A git repository at `target` holding the project's tracked files, committed once."""
    tracked = _git(PROJECT, "ls-files", "-z").split("\0")
    for name in filter(None, tracked):
        source = PROJECT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-qm", "base")
    return target


@pytest.fixture(scope="module")
def diffed_against_the_older_layout(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`python -m tools diff aws-dev --base HEAD --json`, once for the tests below, in a git repository of the
    project's tracked files: its last commit keeps the offline engine in tools/offline/ (the layout before the
    tooling was split by purpose), and its working tree is the project as it is, with aws-dev's instance type edited."""
    repository = _project_repository(tmp_path_factory.mktemp("diff") / "project")
    _git(repository, "mv", "tools/engine", "tools/offline")
    _git(repository, "commit", "-qm", "the engine where it was before the split")
    _git(repository, "mv", "tools/offline", "tools/engine")  # today's layout again, not committed
    stack_file = repository / "Pulumi.aws-dev.yaml"
    text = stack_file.read_text()
    assert "instanceType: t3.medium" in text
    stack_file.write_text(text.replace("instanceType: t3.medium", "instanceType: t3.large"))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONPATH")}
    completed = subprocess.run(
        [sys.executable, "-m", "tools", "diff", "aws-dev", "--base", "HEAD", "--json"],
        cwd=repository,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )
    return repository, completed


def test_a_stack_file_edit_is_planned_against_the_committed_base(diffed_against_the_older_layout):
    _repository, completed = diffed_against_the_older_layout
    assert completed.returncode == 0, completed.stderr[-2000:]
    document = json.loads(completed.stdout)
    (stack,) = document["stacks"]
    ops = {(s["type"], s["op"]) for s in stack["steps"]}
    assert ops == {("aws:eks/nodeGroup:NodeGroup", "replace")}
    assert document["base"].startswith("HEAD (") and document["refused"] == 0
    assert "Traceback" not in completed.stderr


def test_a_base_that_keeps_the_engine_in_tools_offline_still_gives_the_deployed_state(diffed_against_the_older_layout):
    """The first diff after the tooling was split by purpose runs against a base whose offline engine is
    tools/offline/: its deployed state comes from that engine (the base's own snapshot process, as the command
    starts it), not an import error."""
    repository, completed = diffed_against_the_older_layout
    committed = _git(repository, "ls-tree", "-r", "--name-only", "HEAD", "tools").split()
    assert "tools/offline/engine.py" in committed and not any(name.startswith("tools/engine/") for name in committed)
    assert "does not preview" not in completed.stderr and completed.returncode == 0, completed.stderr[-2000:]
    (stack,) = json.loads(completed.stdout)["stacks"]
    # Against the base's deployed state only the edit changes: an empty state would plan every resource as a create.
    assert {(s["type"], s["op"]) for s in stack["steps"]} == {("aws:eks/nodeGroup:NodeGroup", "replace")}


def test_a_revision_git_does_not_know_is_a_clear_error(capsys):
    code = main(["diff", "aws-dev", "--base", "no-such-revision"])
    assert code == 2
    assert "git does not know the revision 'no-such-revision'" in capsys.readouterr().err


def test_a_refused_plan_exits_1_and_its_markdown_names_the_refusal(monkeypatch):
    changed = stack_config("aws-production", {"crm:database": {"username": "crmowner"}})
    real = diff_cli.read_stack_file
    monkeypatch.setattr(diff_cli, "read_stack_file", lambda s: changed if s == "aws-production" else real(s))
    # The base's deployed state as its own process gives it (the tests above run that process); here, in-process.
    monkeypatch.setattr(diff_cli, "base_state", lambda tree, stacks, out, label: deployed("aws-production"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["diff", "aws-production", "--base", "HEAD", "--markdown"])
    assert code == 1
    summary = out.getvalue()
    assert "### aws-production:" in summary and "| **replace (delete first)** | `crm-production-db-postgres` |" in summary
    assert ":x: Instance crm-production-db-postgres is protected" in summary


def test_name_one_stack_or_all(capsys):
    assert main(["diff"]) == 2
    assert "name one stack or pass --all" in capsys.readouterr().err
