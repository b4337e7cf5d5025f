"""`.ci/run`: the linters and the workflows' schema check run before the tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINES = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
COMMANDS = [re.sub(r"^step \S+ ", "", line) for line in LINES]  # `step NAME COMMAND...` times COMMAND


def position(command: str) -> int:
    return next(i for i, line in enumerate(COMMANDS) if line.startswith(command))


def test_the_workflows_are_validated_against_githubs_schema_before_the_tests():
    check = position(".venv/bin/check-jsonschema")
    assert COMMANDS[check].split()[1:] == ["--builtin-schema", "vendor.github-workflows", ".github/workflows/*.yml"]
    assert check < position("python3 dev.py test")


def test_lint_starts_before_the_tests_and_fails_the_run():
    lint = COMMANDS[position("python3 dev.py lint")]
    assert position("python3 dev.py lint") < position("python3 dev.py test")
    if lint.endswith("&"):  # in the background: its status is waited for (`finish`), which fails the run
        assert lint.split(">")[0].split() == ["python3", "dev.py", "lint"]
        assert position('finish "$lint"') > position("python3 dev.py lint")


def test_the_scanners_virtualenvs_are_ready_before_the_tests_that_use_them():
    venvs = position("python3 -c 'import dev; dev.ensure_checkov(); dev.ensure_iam_analysers()'")
    assert venvs < position('finish "$tool_venvs"') < position("python3 dev.py test")


def test_every_background_step_is_waited_for_and_fails_the_run():
    started = [line.split("=")[0] for line in COMMANDS if re.fullmatch(r"\w+=\$!", line)]  # `name=$!` after `... &`
    assert {"lint", "tool_venvs", "drill"} <= set(started)
    for name in started:  # waited for (`finish` prints its log too) after it started
        waited = next(i for i, line in enumerate(COMMANDS) if line.startswith((f'finish "${name}"', f'wait "${name}"')))
        assert waited > COMMANDS.index(f"{name}=$!")
        assert "|| true" not in COMMANDS[waited] and "|| :" not in COMMANDS[waited]  # its failure fails the run


def test_the_drill_runs_beside_the_type_check_and_the_scans_and_the_tests_alone_after_everything():
    drill = position(".venv/bin/python -m dr drill")
    assert COMMANDS[drill].endswith("&")
    assert drill < position('finish "$lint"')  # its one core beside the type check's
    assert drill < position("python3 dev.py scan") < position('finish "$drill"')
    assert drill < position(".venv/bin/python -m tools check") < position('finish "$drill"')
    test = position("python3 dev.py test")
    started = [line.split("=")[0] for line in COMMANDS if re.fullmatch(r"\w+=\$!", line)]
    waits = [i for i, line in enumerate(COMMANDS) for name in started if line.startswith((f'finish "${name}"', f'wait "${name}"'))]
    assert len(waits) == len(started) and max(waits) < test == len(COMMANDS) - 1  # nothing left running beside them


def test_the_policy_pack_is_run_from_a_virtualenv_of_its_own_requirements():
    install = position("build/policy-pack-venv/bin/pip install")
    assert "-r policies/requirements.txt" in COMMANDS[install] and "--require-hashes" in COMMANDS[install]
    assert position(".venv/bin/python -m tools check") > install
    assert "--pack-python build/policy-pack-venv/bin/python" in COMMANDS[position(".venv/bin/python -m tools check")]
    assert "--all" in COMMANDS[position(".venv/bin/python -m tools check")].split()  # every stack, not a sample


def test_the_generated_docs_are_checked_before_the_tests():
    assert COMMANDS[position(".venv/bin/python -m tools.docs")].split()[3:] == ["--check"]
    assert position(".venv/bin/python -m tools.docs") < position("python3 dev.py test")


def test_every_step_keeps_the_modules_python_compiles():
    assert position("unset PYTHONDONTWRITEBYTECODE") < min(i for i, line in enumerate(COMMANDS) if "python" in line)
