"""Every input the programs register exists in the installed provider SDKs, nested keys included."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_STACKS
from tests.schema import input_problems


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_registered_input_is_known_to_the_provider(stack, shipped):
    problems = [p for r in shipped(stack).resources if r.custom for p in input_problems(r.type, r.inputs)]
    assert problems == []


def test_the_check_catches_a_misspelt_nested_key():
    inputs = {"databaseVersion": "POSTGRES_15", "settings": {"tier": "db-custom-2-7680", "backupConfigration": {"enabled": True}}}
    assert input_problems("gcp:sql/databaseInstance:DatabaseInstance", inputs) == [
        "gcp:sql/databaseInstance:DatabaseInstance settings.backupConfigration: not an input of DatabaseInstanceSettingsArgs"
    ]


def test_the_check_leaves_free_form_maps_alone():
    assert input_problems("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16", "tags": {"any-key": "x"}}) == []
