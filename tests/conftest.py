"""Shared fixtures: run a stack program or a single component under Pulumi's mock engine.

Every run gets its own event loop, mock monitor and config (see tools.offline.engine), so a test
cannot see another's resources. Previews of the shipped stack files are pure functions of those
files; `shipped` runs each once per session and hands every test its own deep copy, so the suite
stays fast and no test can see another's changes. Anything with config changes runs afresh in the
test that asks for it.
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Mapping, Optional

import pytest

from stacks.config import read_stack_file
from tools.offline import PreviewResult, preview_stack, run_program
from tools.offline.engine import reveal

ALL_STACKS = ["bootstrap", "aws-dev", "aws-staging", "aws-production", "aws-dr", "gcp-dev", "gcp-staging", "gcp-production", "gcp-dr", "global"]


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


def stack_config(stack: str, changes: Optional[Mapping[str, Any]] = None) -> dict:
    """The stack's Pulumi.<stack>.yaml config with `changes` merged in (None deletes a key)."""
    return deep_merge(read_stack_file(stack), changes or {})


@functools.lru_cache(maxsize=None)
def _shipped(stack: str, preview: bool) -> PreviewResult:
    return preview_stack(stack, preview=preview)


@pytest.fixture
def shipped() -> Callable[..., PreviewResult]:
    """shipped("aws-dr") -> the preview of a shipped stack file; shipped("aws-dr", preview=False) resolves values."""
    return lambda stack, preview=True: copy.deepcopy(_shipped(stack, preview))


@pytest.fixture
def run_stack() -> Callable[..., PreviewResult]:
    """run_stack("aws-dr", {"crm:database": {...}}, preview=False): a fresh run with config changes."""

    def run(stack: str, changes: Optional[Mapping[str, Any]] = None, preview: bool = True) -> PreviewResult:
        return preview_stack(stack, preview=preview, config_override=stack_config(stack, changes))

    return run


@pytest.fixture
def run_component() -> Callable[..., PreviewResult]:
    """run_component(lambda: Component(...)): registers one component under mocks, values resolved."""

    def run(build: Callable[[], Any], preview: bool = False, stack: str = "test", config: Optional[Mapping[str, Any]] = None) -> PreviewResult:
        return run_program(stack, dict(config or {}), lambda: build() and None, preview=preview)

    return run


@pytest.fixture
def plain():
    """Opens secrets in a value tree so a test can check what they hold."""
    return reveal
