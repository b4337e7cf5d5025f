"""What the diff tests share: a shipped stack's deployed state (captured once per worker, as JSON so that
no test can change another's), plans of changes to it, and lookups in a plan."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from stacks.config import read_stack_file
from tests.conftest import stack_config
from tools.diff import plan as diff
from tools.diff.snapshot import capture

# The diff tests run on one pytest-xdist worker (each module marks itself), so each stack's deployed
# state is captured once per run.
ONE_WORKER = pytest.mark.xdist_group("diff")


@functools.cache
def _deployed(stack: str) -> str:
    return json.dumps(capture([stack]))


def deployed(stack: str) -> dict[str, Any]:
    """The shipped stack as deployed (and the stacks it reads from): a fresh copy for the caller to edit."""
    return json.loads(_deployed(stack))


def planned(
    stack: str,
    changes: Mapping[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> diff.StackPlan:
    """The plan of `changes` (config keys merged into the stack file, None deletes) against the deployed stack."""
    state = base if base is not None else deployed(stack)
    return diff.plan([stack], state, lambda s: stack_config(s, changes) if s == stack else read_stack_file(s))[0]


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
