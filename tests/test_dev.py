"""dev.py builds .venv from the lock with every hash checked, and only when the lock changes."""

from __future__ import annotations

import subprocess

import pytest

import dev


@pytest.fixture
def installs(tmp_path, monkeypatch):
    """A .venv under tmp_path whose python exists; records each install dev.py would run."""
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    lock = tmp_path / "requirements-dev.txt"
    lock.write_text("pytest==9.2.0 --hash=sha256:00\n")
    calls: list[list[str]] = []
    monkeypatch.setattr(dev, "VENV", venv)
    monkeypatch.setattr(dev, "PYTHON", venv / "bin" / "python")
    monkeypatch.setattr(dev, "STAMP", venv / ".requirements.sha256")
    monkeypatch.setattr(dev, "LOCK", lock)
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append(command) or subprocess.CompletedProcess(command, 0))
    return lock, calls


def test_the_venv_is_installed_from_the_lock_with_hashes_required(installs):
    lock, calls = installs
    dev.ensure_environment()
    (command,) = calls
    assert command[1:4] == ["-m", "pip", "install"] and "--require-hashes" in command
    assert command[command.index("-r") + 1] == str(lock)


def test_an_unchanged_lock_installs_nothing(installs):
    _, calls = installs
    dev.ensure_environment()
    dev.ensure_environment()
    assert len(calls) == 1


def test_a_changed_lock_installs_again(installs):
    lock, calls = installs
    dev.ensure_environment()
    lock.write_text(lock.read_text() + "ruff==0.17.6 --hash=sha256:11\n")
    dev.ensure_environment()
    assert len(calls) == 2


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
