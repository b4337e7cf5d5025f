"""Offline runs kept on disk (tools/engine/cache.py): read back only for the very same program, inputs, day and fakes."""

from __future__ import annotations

import pickle
import threading

import pytest

from tools.engine import cache, fakes
from tools.engine.engine import UNKNOWN


@pytest.fixture
def project(tmp_path):
    """A project tree of its own, so that editing its program changes nothing else."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "stacks" / "program.py").write_text("VALUE = 1\n")
    (root / "Pulumi.yaml").write_text("name: crm\n")
    yield root
    cache.program_digest.cache_clear()


def counted(calls: list, value):
    def compute():
        calls.append(1)
        return value

    return compute


def test_the_same_run_is_read_back_instead_of_run_again(project, tmp_path):
    calls: list = []
    first = cache.remember(project, ("run", "aws-dev"), counted(calls, {"a": 1}), where=tmp_path / "kept")
    second = cache.remember(project, ("run", "aws-dev"), counted(calls, {"a": 2}), where=tmp_path / "kept")
    assert first == second == {"a": 1} and len(calls) == 1


def test_other_inputs_are_another_run(project, tmp_path):
    calls: list = []
    cache.remember(project, ("run", "aws-dev", {"crm:x": 1}), counted(calls, 1), where=tmp_path / "kept")
    assert cache.remember(project, ("run", "aws-dev", {"crm:x": 2}), counted(calls, 2), where=tmp_path / "kept") == 2


def test_an_edited_program_file_is_another_run(project, tmp_path):
    calls: list = []
    cache.remember(project, ("run",), counted(calls, "old"), where=tmp_path / "kept")
    (project / "stacks" / "program.py").write_text("VALUE = 2\n")
    cache.program_digest.cache_clear()  # a new process reads the files again
    assert cache.remember(project, ("run",), counted(calls, "new"), where=tmp_path / "kept") == "new"


def test_a_new_day_is_another_run(project, tmp_path, monkeypatch):
    """Rotation keepers follow the calendar: yesterday's run is not today's."""
    calls: list = []
    monkeypatch.setattr(cache, "_today", lambda: "2026-12-05")
    cache.remember(project, ("run",), counted(calls, "yesterday"), where=tmp_path / "kept")
    monkeypatch.setattr(cache, "_today", lambda: "2026-12-06")
    assert cache.remember(project, ("run",), counted(calls, "today"), where=tmp_path / "kept") == "today"


def test_nothing_is_kept_while_the_fakes_answer_differently(project, tmp_path, monkeypatch):
    monkeypatch.setattr(fakes, "invoke", lambda token, args: {})
    assert cache.key(project, "run") is None
    cache.remember(project, ("run",), lambda: "patched", where=tmp_path / "kept")
    assert not list((tmp_path / "kept").rglob("*.pickle"))


def test_what_the_registries_hold_is_part_of_the_key(project, monkeypatch):
    empty = cache.key(project, "run")
    monkeypatch.setattr(fakes, "REGISTRY_TAGS", {"crm-dr/crm-api": ["1.0.0"]})
    assert cache.key(project, "run") not in (None, empty)


def test_the_shipped_fakes_come_back_for_a_while(monkeypatch):
    monkeypatch.setattr(fakes, "invoke", lambda token, args: {})
    with fakes.shipped():
        assert fakes.state() is not None
    assert fakes.state() is None


def test_off_unless_a_directory_is_named(project, monkeypatch):
    monkeypatch.delenv(cache.ENVIRONMENT, raising=False)
    calls: list = []
    cache.remember(project, ("run",), counted(calls, 1))
    cache.remember(project, ("run",), counted(calls, 1))
    assert len(calls) == 2


def test_a_bypassed_caller_neither_reads_nor_keeps(project, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "kept"))
    monkeypatch.setattr(cache.IN_THIS_PROCESS, "on", True)
    with cache.bypassed():
        assert cache.directory() is None
    assert cache.directory() == tmp_path / "kept"


def test_a_value_known_only_after_deploy_is_the_one_marker_after_loading():
    assert pickle.loads(pickle.dumps({"a": [UNKNOWN]}))["a"][0] is UNKNOWN


def test_a_run_is_keyed_on_the_stacks_it_reads_and_reads_back_not_on_others():
    from stacks.config import read_stack_file
    from tools.engine import workspace

    raw = read_stack_file("aws-dr")
    alone = workspace.run_key("aws-dr", raw, True, {})
    assert workspace.run_key("aws-dr", raw, True, {"aws-dev": ({"x": 1}, [])}) == alone
    for read_back in ("global", "gcp-dr"):  # deployed after aws-dr, and read back by it
        assert workspace.run_key("aws-dr", raw, True, {read_back: ({"x": 1}, [])}) != alone


def test_a_run_another_process_is_computing_is_waited_for_and_read_not_computed_again(project, tmp_path):
    calls: list = []
    started, release = threading.Event(), threading.Event()
    results: list = []

    def slow():
        calls.append("first")
        started.set()
        release.wait(30)
        return "first"

    def remember(compute) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.append(cache.remember(project, ("run",), compute, where=tmp_path / "kept")))
        thread.start()
        return thread

    first = remember(slow)
    assert started.wait(30)
    second = remember(counted(calls, "second"))  # an flock is per open file: a thread stands in for the other process
    second.join(0.3)
    assert second.is_alive(), "the second caller did not wait for the run being computed"
    release.set()
    first.join(30)
    second.join(30)
    assert results == ["first", "first"] and calls == ["first"]
