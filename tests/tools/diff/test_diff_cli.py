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
from tools.diff import plan as diff

PROJECT = Path(__file__).resolve().parents[3]
# Its two runs of the real command are the suite's longest tests. As a group (pytest-xdist deals groups before single
# tests, the largest first) they start among the first work instead of last, where the other workers would wait.
pytestmark = pytest.mark.xdist_group("diff-command")


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
def repository(tmp_path_factory) -> Path:
    """A git repository holding the project's tracked files, committed once."""
    return _project_repository(tmp_path_factory.mktemp("diff") / "project")


def _diff_against_head(repository: Path) -> subprocess.CompletedProcess:
    """`python -m tools diff aws-dev --base HEAD --json` in `repository`, with its instance type edited."""
    stack_file = repository / "Pulumi.aws-dev.yaml"
    text = stack_file.read_text()
    assert "instanceType: t3.medium" in text
    stack_file.write_text(text.replace("instanceType: t3.medium", "instanceType: t3.large"))
    try:
        environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONPATH")}
        return subprocess.run(
            [sys.executable, "-m", "tools", "diff", "aws-dev", "--base", "HEAD", "--json"],
            cwd=repository,
            capture_output=True,
            text=True,
            env=environment,
            timeout=900,
        )
    finally:
        stack_file.write_text(text)


def test_a_stack_file_edit_is_planned_against_the_committed_base(repository):
    completed = _diff_against_head(repository)
    assert completed.returncode == 0, completed.stderr[-2000:]
    document = json.loads(completed.stdout)
    (stack,) = document["stacks"]
    ops = {(s["type"], s["op"]) for s in stack["steps"]}
    assert ops == {("aws:eks/nodeGroup:NodeGroup", "replace")}
    assert document["base"].startswith("HEAD (") and document["refused"] == 0
    assert "Traceback" not in completed.stderr


def test_a_base_that_keeps_the_engine_in_tools_offline_still_gives_the_deployed_state(tmp_path):
    """The first diff after the tooling was split by purpose runs against a base whose offline engine is
    tools/offline/: its deployed state comes from that engine, not an import error."""
    repository = _project_repository(tmp_path / "project")
    _git(repository, "mv", "tools/engine", "tools/offline")
    _git(repository, "commit", "-qm", "the engine where it was before the split")
    base = tmp_path / "base"
    base.mkdir()
    diff_cli.extract(repository, "HEAD", base)
    assert (base / "tools" / "offline" / "engine.py").is_file() and not (base / "tools" / "engine").exists()
    # The base's own snapshot process, as the command starts it; the plan is this tree's, in-process.
    state = diff_cli.base_state(base, ["aws-dev"], tmp_path / "base.json", "HEAD")
    plan = diff.plan(
        ["aws-dev"], state, lambda s: stack_config(s, {"crm:kubernetes": {"instanceType": "t3.large"}} if s == "aws-dev" else None)
    )
    assert {(s.type, s.op) for s in plan[0].changed()} == {("aws:eks/nodeGroup:NodeGroup", "replace")}


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


def test_a_base_is_snapshotted_once_per_content_where_runs_are_kept(tmp_path, monkeypatch):
    tree = tmp_path / "base"
    (tree / "tools" / "offline").mkdir(parents=True)
    (tree / "Pulumi.aws-dev.yaml").write_text("config: {}\n")
    engine_file = tree / "tools" / "offline" / "engine.py"  # outside the folders a preview's key reads
    engine_file.write_text("ANSWER = 1\n")
    runs: list[list[str]] = []
    monkeypatch.setattr(diff_cli, "_snapshot", lambda t, stacks, out, label: runs.append(stacks) or {"stacks": {}, "order": [len(runs)]})

    def state() -> dict:
        return diff_cli.base_state(tree, ["aws-dev", "gcp-dev"], tmp_path / "base.json", "HEAD")

    monkeypatch.delenv("CRM_PREVIEW_CACHE", raising=False)
    assert state() != state()  # nowhere to keep it: every diff runs its base
    monkeypatch.setenv("CRM_PREVIEW_CACHE", str(tmp_path / "kept"))
    first = state()
    assert state() == first and len(runs) == 3
    engine_file.write_text("ANSWER = 2\n")
    assert state() != first and runs == [["aws-dev"]] * 4


def test_a_base_that_does_not_preview_is_not_kept(tmp_path, monkeypatch):
    tree = tmp_path / "base"
    tree.mkdir()
    (tree / "Pulumi.aws-dev.yaml").write_text("config: {}\n")
    monkeypatch.setenv("CRM_PREVIEW_CACHE", str(tmp_path / "kept"))
    outcomes = [diff_cli.DiffError("the base (HEAD) does not preview"), {"stacks": {}, "order": ["aws-dev"]}]

    def snapshot(t, stacks, out, label):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(diff_cli, "_snapshot", snapshot)
    with pytest.raises(diff_cli.DiffError):
        diff_cli.base_state(tree, ["aws-dev"], tmp_path / "base.json", "HEAD")
    assert diff_cli.base_state(tree, ["aws-dev"], tmp_path / "base.json", "HEAD") == {"stacks": {}, "order": ["aws-dev"]}
