"""The diff tests' kept plans and deployed states (tests/tools/diff/diff_support.py): computed once per tree,
and never kept from a test that patches code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

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


def test_a_test_that_patches_nothing_keeps_its_plans():
    assert not diff_support.PATCHING.on


def test_plans_of_different_changes_or_states_are_kept_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_PREVIEW_CACHE", str(tmp_path))
    monkeypatch.setattr(diff_support.PATCHING, "on", False)  # patched below: a stand-in plan, counted
    computed: list[str] = []
    monkeypatch.setattr(diff_support, "_plan", lambda stack, changes, state: computed.append(stack) or len(computed))
    moved = diff_support.deployed("aws-dev")
    moved["stacks"]["aws-dev"]["resources"].pop()
    plans = [
        diff_support.planned("aws-dev", {"crm:kubernetes": {"instanceType": "t3.large"}}),
        diff_support.planned("aws-dev", {"crm:kubernetes": {"instanceType": "t3.large"}}),
        diff_support.planned("aws-dev", {"crm:kubernetes": {"instanceType": "t3.xlarge"}}),
        diff_support.planned("aws-dev", {"crm:kubernetes": {"instanceType": "t3.large"}}, base=moved),
    ]
    assert plans == [1, 1, 2, 3]


def test_the_diff_tests_patch_code_only_through_the_monkeypatch_fixture():
    """Kept plans rely on it: a patch made any other way would be kept as the shipped program's plan."""
    other_ways = re.compile(r"\bmock\b|MonkeyPatch|setattr\(")
    for module in set(Path(__file__).parent.glob("*.py")) - {Path(__file__)}:
        text = re.sub(r"monkeypatch\.setattr\(", "", module.read_text())
        assert not other_ways.search(text), module.name
