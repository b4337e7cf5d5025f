"""Pull requests show what they would do to each stack: the diff job of infrastructure.yml."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from tools.cli import _parser

WORKFLOW = Path(__file__).resolve().parents[2] / ".github/workflows/infrastructure.yml"


def _job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["diff"]


def _diff_step() -> dict:
    (step,) = [s for s in _job()["steps"] if "tools diff" in s.get("run", "")]
    return step


def test_every_pull_request_plans_every_stack_against_the_branch_it_targets():
    job = _job()
    assert job["if"] == "github.event_name == 'pull_request'"
    command, _, _summary = _diff_step()["run"].partition(">>")
    args = shlex.split(command)
    assert args[:3] == [".venv/bin/python", "-m", "tools"]
    parsed = _parser().parse_args(args[3:])
    assert (parsed.command, parsed.all, parsed.stack) == ("diff", True, None)
    assert parsed.base == "origin/${{ github.base_ref }}"


def test_the_plan_goes_to_the_job_summary_as_markdown():
    command, redirect, summary = _diff_step()["run"].partition(">>")
    assert "--markdown" in shlex.split(command) and redirect
    assert shlex.split(summary) == ["$GITHUB_STEP_SUMMARY"]


def test_the_base_branch_is_in_the_checkout_and_the_tools_are_installed_first():
    steps = _job()["steps"]
    checkout = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/checkout@"))
    assert steps[checkout]["with"]["fetch-depth"] == 0  # a shallow clone has no origin/<base> to diff against
    install = next(i for i, s in enumerate(steps) if s.get("run") == "python3 dev.py install")
    assert checkout < install < steps.index(_diff_step())


def test_a_refused_plan_fails_the_job():
    # The redirect keeps the command's own exit status: nothing after it masks a refusal.
    run = _diff_step()["run"]
    assert "||" not in run and "continue-on-error" not in _diff_step() and "continue-on-error" not in _job()
