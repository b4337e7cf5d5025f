"""Reading Pulumi.<stack>.yaml: each text is parsed once, and every read sees the file as it is now."""

from __future__ import annotations

import pytest

from stacks.config import ConfigValidationError, read_stack_file


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


def test_a_tab_after_a_value_is_an_error_with_its_place(tmp_path):
    """PyYAML's own parser refuses it (libyaml's accepts it): a stack file means the same to every reader."""
    (tmp_path / "Pulumi.tabbed.yaml").write_text("config:\n  crm:environment: dev\t\n")
    with pytest.raises(ConfigValidationError) as caught:
        read_stack_file("tabbed", tmp_path)
    (problem,) = caught.value.problems
    assert problem.key.startswith("Pulumi.tabbed.yaml:2:") and problem.message.startswith("is not valid YAML")
