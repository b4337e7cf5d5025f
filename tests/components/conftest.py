"""Runs a module's tests share: each a run of the root conftest's session cache, copied once for the module."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.conftest import _changed, _shipped
from tools.engine import PreviewResult


@pytest.fixture(scope="module")
def run_once() -> Callable[..., PreviewResult]:
    """run_once("gcp-dr", {"crm:monitoring": {...}}, preview=False): the run `run_stack` would give (the session's one run
    of that stack and change), copied once for the module rather than once per test. For module fixtures whose tests
    only read the result; a test that changes it takes `shipped` or `run_stack`."""
    kept: dict[tuple[str, str, bool], PreviewResult] = {}

    def run(stack: str, changes: Mapping[str, Any] | None = None, preview: bool = True) -> PreviewResult:
        key = (stack, json.dumps(changes or {}, sort_keys=True), preview)
        if key not in kept:
            kept[key] = copy.deepcopy(_changed(stack, key[1], preview) if changes else _shipped(stack, preview))
        return kept[key]

    return run
