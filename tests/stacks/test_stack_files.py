"""Reading Pulumi.<stack>.yaml: each text is parsed once, and every read sees the file as it is now."""

from __future__ import annotations

import pytest
import yaml

from stacks.config import read_stack_file
from tests.conftest import ALL_STACKS, ROOT


def test_an_edit_of_the_same_size_is_read_at_once(tmp_path):
    stack_file = tmp_path / "Pulumi.edited.yaml"
    stack_file.write_text("config:\n  crm:environment: dev\n")
    assert read_stack_file("edited", tmp_path)["crm:environment"] == "dev"
    stack_file.write_text("config:\n  crm:environment: dr \n")  # same length, written within the same clock tick
    assert read_stack_file("edited", tmp_path)["crm:environment"] == "dr"


def test_a_caller_editing_what_it_read_changes_no_later_read(tmp_path):
    (tmp_path / "Pulumi.kept.yaml").write_text("config:\n  crm:network:\n    zones: [a, b]\n")
    first = read_stack_file("kept", tmp_path)
    first["crm:network"]["zones"].append("c")
    assert read_stack_file("kept", tmp_path)["crm:network"]["zones"] == ["a", "b"]


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_libyamls_reading_of_a_shipped_stack_file_is_the_python_parsers(stack):
    assert read_stack_file(stack) == (yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"] or {})
