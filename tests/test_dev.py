"""dev.py builds .venv from the lock with every hash checked, and only when the lock changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import dev

UV_ENTRY = "uv==0.13.9 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"


@pytest.fixture
def installs(tmp_path, monkeypatch):
    """A .venv under tmp_path whose python exists; records each install dev.py would run (pip installing uv
    puts uv in .venv/bin, as it would; `failing` names the programs whose runs fail)."""
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    lock = tmp_path / "requirements-dev.txt"
    lock.write_text("pytest==9.2.0 --hash=sha256:00\n" + UV_ENTRY + "zipp==3.23.0 \\\n    --hash=sha256:cc\n")
    calls: list[list[str]] = []
    failing: set[str] = set()

    def run(command, **kwargs):
        calls.append(command)
        if "-r" in command and Path(command[command.index("-r") + 1]).read_text() == UV_ENTRY:
            (venv / "bin" / "uv").touch()
        return subprocess.CompletedProcess(command, 1 if Path(command[0]).name in failing else 0)

    monkeypatch.setattr(dev, "VENV", venv)
    monkeypatch.setattr(dev, "PYTHON", venv / "bin" / "python")
    monkeypatch.setattr(dev, "STAMP", venv / ".requirements.sha256")
    monkeypatch.setattr(dev, "LOCK", lock)
    monkeypatch.setattr(subprocess, "run", run)
    return lock, calls, failing


def _requirements(command: list[str]) -> Path:
    return Path(command[command.index("-r") + 1])


def test_pip_installs_uv_first_from_the_locks_own_entry_with_its_hashes(installs):
    _, calls, _ = installs
    dev.ensure_environment()
    command = calls[0]
    assert command[1:4] == ["-m", "pip", "install"] and "--require-hashes" in command
    assert _requirements(command).read_text() == UV_ENTRY


def test_uv_installs_the_lock_with_hashes_required(installs):
    lock, calls, _ = installs
    dev.ensure_environment()
    command = calls[1]
    assert Path(command[0]).name == "uv" and command[1:3] == ["pip", "install"] and "--require-hashes" in command
    assert "--compile-bytecode" in command  # as pip does: no process compiles where PYTHONDONTWRITEBYTECODE is set
    assert command[command.index("--python") + 1] == str(dev.PYTHON)
    assert _requirements(command) == lock
    assert len(calls) == 2


def test_pip_installs_the_lock_when_uv_cannot(installs):
    lock, calls, failing = installs
    failing.add("uv")
    dev.ensure_environment()
    command = calls[-1]
    assert command[1:4] == ["-m", "pip", "install"] and "--require-hashes" in command
    assert _requirements(command) == lock


def test_a_lock_without_uv_is_installed_by_pip(installs):
    lock, calls, _ = installs
    lock.write_text("pytest==9.2.0 --hash=sha256:00\n")
    dev.ensure_environment()
    (command,) = calls
    assert command[1:4] == ["-m", "pip", "install"] and _requirements(command) == lock


def test_an_unchanged_lock_installs_nothing(installs):
    _, calls, _ = installs
    dev.ensure_environment()
    installed = len(calls)
    dev.ensure_environment()
    assert len(calls) == installed


def test_a_changed_lock_installs_again(installs):
    lock, calls, _ = installs
    dev.ensure_environment()
    installed = len(calls)
    lock.write_text(lock.read_text() + "ruff==0.17.6 --hash=sha256:11\n")
    dev.ensure_environment()
    assert len(calls) == 2 * installed


def test_lint_runs_every_check_and_fails_when_one_does(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda command, **kwargs: calls.append(command) or subprocess.CompletedProcess(command, 1 if len(calls) == 1 else 0),
    )
    assert dev.lint([]) == 1
    assert [command[1:3] for command in calls] == [["check", "."], ["format", "--check"], []]
    assert [command[0].rsplit("/", 1)[-1] for command in calls] == ["ruff", "ruff", "basedpyright"]


def test_the_suite_runs_with_pythons_bytecode_cache_and_the_preview_cache(monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("CRM_PREVIEW_CACHE", raising=False)
    monkeypatch.setattr(dev, "ensure_environment", lambda: None)
    seen: list[dict[str, str]] = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: seen.append(kwargs["env"]) or subprocess.CompletedProcess(command, 0))
    assert dev.main(["test"]) == 0 and dev.main(["bench"]) == 0
    test, bench = seen
    assert "PYTHONDONTWRITEBYTECODE" not in test and "PYTHONDONTWRITEBYTECODE" not in bench
    assert test["CRM_PREVIEW_CACHE"] == str(dev.PREVIEW_CACHE) and "CRM_PREVIEW_CACHE" not in bench


def test_the_suite_runs_one_worker_more_than_the_cores(monkeypatch):
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert dev.suite_workers() == 3


@pytest.mark.xdist_group("dev-suite-groups")  # at least this test is in a group, whichever tests the run selected
def test_the_suites_xdist_groups_reach_the_scheduler(request):
    """A test marked xdist_group runs on its group's worker only if pytest-xdist could give its node id the group's
    suffix: with pytest 9.2 it cannot, and every group is silently dealt out test by test (pytest-xdist#1386)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not a worker of `--dist loadgroup` (python3 dev.py test)")
    grouped = {
        item.nodeid: sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")})
        for item in request.session.items
    }
    grouped = {nodeid: names for nodeid, names in grouped.items() if names}
    assert request.node.nodeid in grouped
    assert [nodeid for nodeid, names in grouped.items() if not nodeid.endswith("@" + "_".join(names))] == []
