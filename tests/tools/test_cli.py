"""`python -m tools preview`: the offline preview as a user runs it."""

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

from tests.conftest import ALL_STACKS
from tests.helpers import HANG_TIMEOUT_S
from tools.cli import main

PROJECT = Path(__file__).resolve().parents[2]


def copy_with_edit(tmp_path: Path, stack: str, old: str, new: str) -> Path:
    """A copy of the repository whose Pulumi.<stack>.yaml has one edit.

    Virtualenvs are left out, .venv-checkov too (CI builds it before the tests): a copy of one per
    test is hundreds of megabytes, and minutes on a loaded machine."""
    target = tmp_path / "project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns(".venv*", ".git", "__pycache__", ".pytest_cache", "build"))
    stack_file = target / f"Pulumi.{stack}.yaml"
    assert old in stack_file.read_text()
    stack_file.write_text(stack_file.read_text().replace(old, new))
    return target


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=cwd, capture_output=True, text=True, timeout=HANG_TIMEOUT_S)


def test_a_copy_of_the_repository_leaves_every_virtualenv_out(tmp_path, monkeypatch):
    project = tmp_path / "repository"
    (project / ".venv-checkov" / "lib").mkdir(parents=True)
    (project / ".venv-checkov" / "lib" / "checkov.py").write_text("")
    (project / "Pulumi.aws-dev.yaml").write_text("monthlyUsd: 320\n")
    monkeypatch.setattr(sys.modules[__name__], "PROJECT", project)
    copied = copy_with_edit(tmp_path / "copy", "aws-dev", "monthlyUsd: 320", "monthlyUsd: 10")
    assert (copied / "Pulumi.aws-dev.yaml").read_text() == "monthlyUsd: 10\n"
    assert not (copied / ".venv-checkov").exists()


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_preview_json_of_every_stack(stack, capsys):
    assert main(["preview", stack, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) >= {"steps", "outputs", "changeSummary"}
    step = document["steps"][0]
    assert set(step) == {"op", "urn", "newState"}
    # `outputs` (what the provider returned, as `pulumi preview --json` shows it) joined the original keys;
    # consumers of the earlier shape read only these keys, so the document stays compatible.
    # `propertyDependencies` and `provider` too, as Pulumi's state has them: the deploy checks walk them (a saved plan included).
    assert set(step["newState"]) == {
        "type",
        "urn",
        "custom",
        "parent",
        "protect",
        "dependencies",
        "propertyDependencies",
        "provider",
        "inputs",
        "outputs",
    }
    assert sum(document["changeSummary"].values()) == len(document["steps"])


@pytest.fixture
def preview_all() -> subprocess.CompletedProcess:
    """`preview --all`, its stdout and stderr apart (neither is a terminal). Per test, so that its previews come from the
    session cache (tests/conftest.py routes the commands' previews there for each test, after any module's fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["preview", "--all"])
    assert code == 0, err.getvalue()
    return subprocess.CompletedProcess(["preview", "--all"], code, out.getvalue(), err.getvalue())


def test_preview_all_runs_every_stack_in_deploy_order(preview_all):
    out = preview_all.stdout
    order = out.strip().splitlines()[-1]
    assert order.startswith("Deploy order: ")
    stacks = order[len("Deploy order: ") :].split(" -> ")
    assert sorted(stacks) == sorted(ALL_STACKS)
    assert stacks.index("aws-dr") < stacks.index("gcp-dr") < stacks.index("global")


def test_preview_all_reports_progress_on_stderr_one_line_per_stack(preview_all):
    progress = [line for line in preview_all.stderr.splitlines() if line.startswith("previewing ")]
    assert progress == [
        f"previewing {n}/{len(ALL_STACKS)} {stack}"
        for n, stack in enumerate(preview_all.stdout.strip().splitlines()[-1][len("Deploy order: ") :].split(" -> "), start=1)
    ]
    assert "previewing" not in preview_all.stdout


def test_check_says_how_many_resources_and_rules_it_evaluated(tmp_path, capsys):
    from policies.rules import ALL_RULES

    urn = "urn:pulumi:aws-dev::crm::aws:ec2/vpc:Vpc::"
    steps = [
        {"op": "create", "urn": urn + n, "newState": {"type": "aws:ec2/vpc:Vpc", "urn": urn + n, "inputs": {"cidrBlock": "10.0.0.0/16"}}}
        for n in ("a", "b")
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"steps": steps}))
    main(["check", "--plan", str(plan)])
    summary = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("checked ")]
    assert len(summary) == 1 and summary[0].startswith("checked 2 resources against ")
    assert f"({len(ALL_RULES)} policies, " in summary[0] and "violation(s)" in summary[0]


def test_a_config_error_raised_inside_the_entry_point_reaches_the_cli_as_the_problem_list():
    from stacks.config import ConfigValidationError
    from tests.conftest import stack_config
    from tools.engine.workspace import _run

    with pytest.raises(ConfigValidationError) as caught:
        _run("aws-dr", stack_config("aws-dr", {"crm:redis": {"nodes": 0}, "crm:database": {"instanceClass": 7}}), True, {})
    assert "crm:redis.nodes" in str(caught.value) and "crm:database.instanceClass" in str(caught.value)


def test_tree_shows_components_children_and_counts(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # piped output keeps whole lines (a width would cut them)
    assert main(["preview", "aws-dr"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    database = next(i for i, line in enumerate(lines) if line.endswith("crm:aws:PostgresDatabase  crm-dr-db"))
    assert lines[database][:3] in ("├─ ", "└─ ")
    assert any("aws:rds/instance:Instance  crm-dr-db-postgres [protect]" in line and line.startswith("│  ") for line in lines[database:])
    assert "instanceClass=db.t3.large" in out
    assert "Resources by type:" in out and "aws:ec2/subnet:Subnet" in out


def test_secrets_print_as_secret_and_unknowns_as_unknown(capsys):
    assert main(["preview", "aws-dr", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    rds = next(s for s in document["steps"] if s["newState"]["type"] == "aws:rds/instance:Instance")
    assert rds["newState"]["inputs"]["password"] == "[secret]"
    assert rds["newState"]["inputs"]["kmsKeyId"] == "[unknown]"
    assert rds["newState"]["outputs"]["password"] == "[secret]"
    assert document["outputs"]["databasePassword"] == "[secret]"


def test_unknown_stack_name(capsys):
    assert main(["preview", "aws-nowhere"]) == 2
    assert "unknown stack 'aws-nowhere'" in capsys.readouterr().err


def test_invalid_cidr_exits_non_zero_without_traceback(tmp_path):
    project = copy_with_edit(tmp_path, "aws-dr", "privateSubnets: [10.30.10.0/24", "privateSubnets: [10.30.10.0/33")
    result = run_cli(project, "preview", "aws-dr")
    assert result.returncode != 0
    assert "crm:network.privateSubnets[0]: '10.30.10.0/33' is not a valid IPv4 CIDR" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_aws_dr_overlapping_gcp_dr_fails_preview_all(tmp_path):
    project = copy_with_edit(tmp_path, "aws-dr", "cidr: 10.30.0.0/16", "cidr: 10.0.0.0/8")
    result = run_cli(project, "preview", "--all")
    assert result.returncode != 0
    # Whichever side is read first reports it, naming both ranges.
    assert "overlaps" in result.stderr and "10.0.0.0/8" in result.stderr and "10.20.0.0/20" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_m_stacks_is_an_alias_of_python_m_tools(capsys):
    alias = subprocess.run(
        [sys.executable, "-m", "stacks", "--help"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT_S,
        env={**os.environ, "COLUMNS": "100"},
    )
    with pytest.raises(SystemExit) as exited, pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "100")
        main(["--help"])
    assert exited.value.code == 0 and alias.returncode == 0, alias.stderr
    assert alias.stdout == capsys.readouterr().out and "preview" in alias.stdout
