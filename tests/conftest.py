"""Shared fixtures: run a stack program or a single component under Pulumi's mock engine.

Every run gets its own event loop, mock monitor and config (see tools.engine.engine), so a test
cannot see another's resources. A preview is a pure function of the stack files and the config
changes a test makes, so each distinct preview runs once per session and every test gets its own
copy: the suite stays fast and no test can see another's changes. That holds for the
commands tests call in-process too (`tools.cli.main`): their previews of the shipped files come
from the same cache. The commands' own process is exercised by the subprocess tests in
tests/tools/test_cli.py.
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from stacks.config import load, read_stack_file
from tools.engine import PreviewResult, StackRun, cache, fakes, preview_stack, run_program, tune_garbage_collector, workspace
from tools.engine.engine import reveal

ROOT = Path(__file__).resolve().parents[1]
ALL_STACKS = [
    "bootstrap",
    "aws-dev",
    "aws-staging",
    "aws-production",
    "aws-dr",
    "gcp-dev",
    "gcp-staging",
    "gcp-production",
    "gcp-dr",
    "global",
]


def deep_merge(base: dict, changes: Mapping[str, Any]) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def stack_config(stack: str, changes: Mapping[str, Any] | None = None) -> dict:
    """The stack's Pulumi.<stack>.yaml config with `changes` merged in (None deletes a key)."""
    return deep_merge(read_stack_file(stack), changes or {})


def _settle() -> None:
    """Moves everything alive now (imported SDK modules, cached previews) out of the garbage collector's sight.

    The provider SDKs hold millions of long-lived objects; without this every full collection
    during a preview walks them all again, which doubles the time of each run.
    """
    gc.collect()
    gc.freeze()
    _settled_modules[0] = len(sys.modules)


_settled_modules = [0]  # how many modules were imported at the last _settle()


def pytest_collection_finish(session) -> None:
    _settle()


# As the commands do (tools.engine.engine.COLLECTOR_THRESHOLDS): with the default thresholds the collector's full
# collections took a third of the suite's time.
tune_garbage_collector()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A test module whose tests imported modules (an SDK's submodule the first stack run needs) left them in the
    collector's sight: settle them once the module's own fixtures are gone, so that nothing of the module's is
    frozen with them (a cycle frozen while alive is never collected)."""
    result = yield
    module_ended = nextitem is None or getattr(nextitem, "module", None) is not getattr(item, "module", None)
    if module_ended and len(sys.modules) != _settled_modules[0]:
        _settle()
    return result


# The workers of one run share their previews through a directory: one worker computes, the others load.
# `python3 dev.py test` names a lasting one (CRM_PREVIEW_CACHE, build/preview-cache): runs are kept there by
# content (tools/engine/cache.py), so the next run of an unchanged tree loads them, and so do the commands the
# tests start as subprocesses. Without it, a directory that lives as long as the run.
_RUN_DIR = "CRM_TESTS_PREVIEW_DIR"
cache.IN_THIS_PROCESS.on = False  # in here a test may patch a program's function before a run: only the keys below are pure


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): run on one pytest-xdist worker with the group (`--dist loadgroup`)")
    if not hasattr(config, "workerinput") and not os.environ.get(cache.ENVIRONMENT):
        os.environ[_RUN_DIR] = tempfile.mkdtemp(prefix="crm-test-previews-")


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput") and _RUN_DIR in os.environ:
        shutil.rmtree(os.environ.pop(_RUN_DIR), ignore_errors=True)


def kept_runs() -> Path | None:
    directory = os.environ.get(cache.ENVIRONMENT) or os.environ.get(_RUN_DIR)
    return Path(directory) if directory else None


def _while_the_fakes_are_shipped(function: Callable) -> Callable:
    """functools.cache, except for calls made while a test answers with fakes of its own: those run and are not kept."""
    cached = functools.cache(function)

    @functools.wraps(function)
    def call(*args):
        return cached(*args) if fakes.state() is not None else function(*args)

    return call


_pickled: dict[int, tuple[Any, bytes]] = {}


def _own_copy(value: Any) -> Any:
    """A test's own deep copy of a kept run: unpickled from the run pickled once (copy.deepcopy of a whole
    stack's run takes six times as long, and tests take thousands of copies)."""
    if fakes.state() is None:  # a test answering with its own fakes: the value is its own run, not a kept one
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    entry = _pickled.get(id(value))
    if entry is None or entry[0] is not value:  # held in the entry, so its id is not reused while the entry lives
        entry = _pickled[id(value)] = (value, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return pickle.loads(entry[1])


@_while_the_fakes_are_shipped
def _shipped(stack: str, preview: bool) -> PreviewResult:
    result = _with_changes(stack, {}, preview, keep=True)
    _settle()
    return result


@_while_the_fakes_are_shipped
def _shipped_together(stacks: tuple[str, ...], preview: bool) -> list[StackRun]:
    """As workspace.preview_stacks runs them: in deploy order, each reading the ones before (the same runs as _shipped's)."""
    return [StackRun(stack, _shipped(stack, preview)) for stack in workspace.deploy_order(stacks)]


def _with_changes(stack: str, changes: Mapping[str, Any], preview: bool, *, keep: bool = False) -> PreviewResult:
    """The stack with config changes (none: the shipped file); the stacks it references are the shipped ones, so their
    previews come from the cache. keep: the run is kept by content for the run's workers, and for the next run and the
    commands' subprocesses when CRM_PREVIEW_CACHE is set (the very entries workspace.preview_stack keeps)."""
    config = stack_config(stack, changes)
    with fakes.shipped():  # a test's own fake answers are for its stack, not for the stacks it reads from
        references = {
            dependency: workspace.exported_for_reference(_shipped(dependency, preview)) for dependency in load(stack, config).references
        }

    def run() -> PreviewResult:
        return preview_stack(stack, preview=preview, config_override=config, reference_outputs=references)

    directory = kept_runs() if keep else None
    if directory is None:
        return run()
    return cache.remember(ROOT, workspace.run_key(stack, config, preview, references), run, where=directory)


@_while_the_fakes_are_shipped
def _changed(stack: str, changes: str, preview: bool) -> PreviewResult:
    return _with_changes(stack, json.loads(changes), preview, keep=True)


def _cached_preview_stack(stack: str, *, preview: bool = True, **other) -> PreviewResult:
    if other:
        return _real_preview_stack(stack, preview=preview, **other)
    return _own_copy(_shipped(stack, preview))


def _cached_preview_stacks(stacks, *, preview: bool = True, on_start=None, **other) -> list[StackRun]:
    if other:
        return _real_preview_stacks(stacks, preview=preview, on_start=on_start, **other)
    runs = _own_copy(_shipped_together(tuple(sorted(stacks)), preview))
    for number, run in enumerate(runs, start=1):
        if on_start is not None:
            on_start(run.stack, number, len(runs))
    return runs


_real_preview_stack, _real_preview_stacks = workspace.preview_stack, workspace.preview_stacks


_packs: dict[str, Any] = {}


def _pooled_check(resources, stack: str | None = None):
    """policy_check.check through one policy-pack process per stack name, started on first use and kept for the session."""
    from tools import policy_check

    stack = stack or policy_check.stack_of(resources)
    pack = _packs.get(stack)
    if pack is None or pack.process.poll() is not None:
        pack = _packs[stack] = policy_check.PolicyPackProcess(stack)
    return pack.analyze(resources)


@pytest.fixture(scope="session", autouse=True)
def _stop_policy_packs():
    yield
    for pack in _packs.values():
        pack.close()


@pytest.fixture(scope="session", autouse=True)
def _commands_use_the_session_caches():
    """The commands a test runs in-process read the shipped files; their previews come from the session cache,
    and their policy checks go to the session's policy-pack processes (the pack's Analyzer keeps no state between calls).
    For the whole session, so that a module or session fixture calling a command is routed too."""
    import tools.cli
    import tools.reports.cli
    from tools import policy_check

    with pytest.MonkeyPatch.context() as patch:
        for module in (tools.cli, tools.reports.cli, workspace):
            if hasattr(module, "preview_stack"):
                patch.setattr(module, "preview_stack", _cached_preview_stack)
            if hasattr(module, "preview_stacks"):
                patch.setattr(module, "preview_stacks", _cached_preview_stacks)
        patch.setattr(policy_check, "check", _pooled_check)
        yield


@pytest.fixture(autouse=True)
def _documents_forget_a_tests_previews():
    """tools.docs keeps the last previews it read; a test that patched the fakes must not leave its own behind."""
    yield
    from tools import docs

    for function in (docs._previews, docs._deployed, docs._estimates):
        function.cache_clear()


@pytest.fixture(autouse=True)
def _no_terminal_width():
    """Commands print as into a pipe unless a test sets a width: the caller's COLUMNS (pytest-xdist's
    workers run with COLUMNS=80) would otherwise fold the reports some tests read line by line.
    Not through the `monkeypatch` fixture: only a test that asks for that one patches code (tests/tools/diff)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        patch.delenv("LINES", raising=False)
        yield


@pytest.fixture
def shipped() -> Callable[..., PreviewResult]:
    """shipped("aws-dr") -> the preview of a shipped stack file; shipped("aws-dr", preview=False) resolves values."""
    return lambda stack, preview=True: _own_copy(_shipped(stack, preview))


@pytest.fixture
def run_stack() -> Callable[..., PreviewResult]:
    """run_stack("aws-dr", {"crm:database": {...}}, preview=False): a run with config changes (each distinct change runs once).

    fresh=True runs it anew, for a test that changes what the fake providers answer.
    """

    def run(stack: str, changes: Mapping[str, Any] | None = None, preview: bool = True, fresh: bool = False) -> PreviewResult:
        if fresh:
            return _with_changes(stack, changes or {}, preview)
        if not changes:
            return _own_copy(_shipped(stack, preview))
        try:
            key = json.dumps(changes, sort_keys=True)
        except TypeError:  # not plain data: run it as it is
            return _with_changes(stack, changes, preview)
        return _own_copy(_changed(stack, key, preview))

    return run


@pytest.fixture
def run_component() -> Callable[..., PreviewResult]:
    """run_component(lambda: Component(...)): registers one component under mocks, values resolved."""

    def run(build: Callable[[], Any], preview: bool = False, stack: str = "test", config: Mapping[str, Any] | None = None) -> PreviewResult:
        return run_program(stack, dict(config or {}), lambda: build() and None, preview=preview)

    return run


@pytest.fixture(name="copy")  # the name the documents' tests take; `copy` is the module here
def _documents_copy(tmp_path, monkeypatch) -> Path:
    """A copy of every document `python -m tools.docs` writes, which the command then reads and writes instead."""
    from tools import docs

    for path in {path for part in docs.PARTS.values() for path in part.paths}:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, tmp_path / path)
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    return tmp_path


@pytest.fixture
def plain():
    """Opens secrets in a value tree so a test can check what they hold."""
    return reveal
