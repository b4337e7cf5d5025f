"""The diff tests' kept plans and deployed states (tests/tools/diff/diff_support.py): computed once per tree,
and never kept from a test that patches code."""

from __future__ import annotations

import pickle

from tests.tools.diff import diff_support
from tools.diff import plan as diff


def test_a_plan_kept_once_is_loaded_by_the_next_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_PREVIEW_CACHE", str(tmp_path))
    monkeypatch.setattr(diff_support.PATCHING, "on", False)  # this test patches only the environment
    computed: list[int] = []
    first = diff_support._kept(("plan", "aws-dev", "{}"), lambda: computed.append(1) or ["a plan"])
    again = diff_support._kept(("plan", "aws-dev", "{}"), lambda: computed.append(2) or ["another"])
    assert first == again == ["a plan"] and computed == [1]
    assert list(tmp_path.rglob("*.pickle"))


def test_a_test_that_patches_code_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_PREVIEW_CACHE", str(tmp_path))
    assert diff_support.PATCHING.on  # the test asked for monkeypatch
    computed: list[int] = []
    for number in (1, 2):
        diff_support._kept(("plan", "aws-dev", "{}"), lambda number=number: computed.append(number))
    assert computed == [1, 2] and not list(tmp_path.rglob("*.pickle"))


def test_an_absent_value_is_still_absent_once_loaded():
    assert pickle.loads(pickle.dumps(diff.MISSING)) is diff.MISSING
