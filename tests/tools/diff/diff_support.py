"""What the diff tests share: a shipped stack's deployed state (captured once, as JSON so that no test can
change another's), plans of changes to it, and lookups in a plan.

A deployed state and a plan are functions of the program, the diff's own code, these helpers, the stack files,
the config and state planned, and the fake providers' answers; like the suite's previews (tests/conftest.py),
each is kept on disk under a digest of all of these, so a run's workers compute it once and the next run of an
unchanged tree loads it. A test that patches code (it asks for `monkeypatch`) or answers with fakes of its own
keeps nothing, on disk or in memory.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stacks.config import read_stack_file
from tests.conftest import ROOT, kept_runs, stack_config
from tools.diff import plan as diff
from tools.diff.snapshot import capture
from tools.engine import cache, fakes


class _Patching:
    """Whether the running test patches code (set per test by tests/tools/diff/conftest.py): then nothing is kept."""

    on = False


PATCHING = _Patching()


@functools.cache
def _inputs_digest() -> str:
    """What a plan reads beyond the program that tools/engine/cache.py digests: the diff's own code and data, the
    suite's config merge and these helpers, and every stack file (the planned one and those it reads from)."""
    digest = hashlib.sha256()
    files = [*(ROOT / "tools" / "diff").rglob("*"), *ROOT.glob("Pulumi.*.yaml"), ROOT / "tests" / "conftest.py", Path(__file__)]
    cache.add_files(digest, ROOT, sorted(files))
    return digest.hexdigest()


def _kept(parts: tuple, compute: Callable[[], Any]) -> Any:
    directory = kept_runs()
    if directory is None or PATCHING.on:
        return compute()
    return cache.remember(ROOT, ("tools diff", _inputs_digest(), *parts), compute, where=directory)


def _capture(stack: str) -> str:
    with fakes.shipped():  # deployed by the shipped program, whatever a test's fakes answer now
        return json.dumps(capture([stack]))


_deployed_states: dict[str, str] = {}  # only what the unpatched program deployed


def _deployed(stack: str) -> str:
    if stack in _deployed_states:
        return _deployed_states[stack]
    if PATCHING.on:  # the state would be the patched program's: the test's own
        return _capture(stack)
    _deployed_states[stack] = _kept(("deployed", stack), lambda: _capture(stack))
    return _deployed_states[stack]


def deployed(stack: str) -> dict[str, Any]:
    """The shipped stack as deployed (and the stacks it reads from): a fresh copy for the caller to edit."""
    return json.loads(_deployed(stack))


def planned(
    stack: str,
    changes: Mapping[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> diff.StackPlan:
    """The plan of `changes` (config keys merged into the stack file, None deletes) against the deployed stack.

    The stacks it reads from are planned as diff.plan plans them, but each distinct plan once per worker (keyed
    by its deployed state, config and references), unless the test patches code."""
    # The state as JSON: the shipped one is kept as such, so a plan that is kept is found without parsing it.
    state = _deployed(stack) if base is None else json.dumps(base, sort_keys=True)
    parts = ("plan", stack, stack_config(stack, changes), hashlib.sha256(state.encode()).hexdigest())
    return _kept(parts, lambda: _plan(stack, changes, json.loads(state)))


def _plan(stack: str, changes: Mapping[str, Any] | None, state: dict[str, Any]) -> diff.StackPlan:
    planning = diff.plan_stack
    diff.plan_stack = functools.partial(_plan_stack_once_upstream, stack, planning)
    try:
        return diff.plan([stack], state, lambda s: stack_config(s, changes) if s == stack else read_stack_file(s))[0]
    finally:
        diff.plan_stack = planning


_upstream_plans: dict[str, Any] = {}


def _plan_stack_once_upstream(wanted: str, planning: Callable, stack: str, old_stack, raw_config, references):
    if stack == wanted or fakes.state() is None or PATCHING.on:  # the stack under test, or patched: planned afresh
        return planning(stack, old_stack, raw_config, references)
    # What else a plan reads: the images the fakes' registries hold (diff.plan sets them from the stack files).
    state = json.dumps([old_stack, raw_config, fakes.REGISTRY_TAGS], sort_keys=True)
    key = hashlib.sha256(pickle.dumps((stack, state, references))).hexdigest()
    if key not in _upstream_plans:
        _upstream_plans[key] = planning(stack, old_stack, raw_config, references)
    return _upstream_plans[key]


def steps(plan: diff.StackPlan, type_: str, op: str | None = None) -> list[diff.Step]:
    return [s for s in plan.steps if s.type == type_ and (op is None or s.op == op)]


def one(plan: diff.StackPlan, type_: str, name_part: str = "") -> diff.Step:
    found = [s for s in plan.steps if s.type == type_ and name_part in s.name]
    assert len(found) == 1, f"expected one {type_} named *{name_part}*, found {[s.name for s in found]}"
    return found[0]


def changed(plan: diff.StackPlan) -> dict[tuple[str, str], str]:
    """(type, name) -> op of every resource the plan touches."""
    return {(s.type, s.name): s.op for s in plan.changed()}


def resources(state: dict[str, Any], stack: str, where: Callable[[dict], bool]) -> list[dict[str, Any]]:
    found = [r for r in state["stacks"][stack]["resources"] if where(r)]
    assert found, "the deployed state holds no such resource"
    return found


def secret_texts(value: Any) -> list[str]:
    """Every string (8 characters or more) that a snapshot value holds only inside secret markers."""
    inside: set[str] = set()
    outside: set[str] = set()

    def walk(item: Any, secret: bool) -> None:
        if isinstance(item, dict):
            if set(item) == {"__secret__"}:
                walk(item["__secret__"], True)
            else:
                for value in item.values():
                    walk(value, secret)
        elif isinstance(item, list):
            for value in item:
                walk(value, secret)
        elif isinstance(item, str):
            (inside if secret else outside).add(item)
            if secret:  # a secret JSON document: its values are secret too
                with contextlib.suppress(ValueError):
                    walk(json.loads(item), True)

    walk(value, False)
    return sorted(t for t in inside - outside if len(t) >= 8)
