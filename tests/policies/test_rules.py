"""Every rule with its passing and failing fixtures; a meta-test keeps it that way."""

from __future__ import annotations

import pytest

from policies.rules import ALL_RULES, RULES_BY_NAME
from policies.rules.base import MANDATORY, Rule
from tests.policies.fixtures import FIXTURES, _generated_stack


def violations(rule: Rule, fixture) -> list[str]:
    if rule.stack_check is not None:
        return rule.stack_violations(fixture)
    return rule.violations(fixture)


def all_violations(fixture) -> dict[str, list[str]]:
    """Every rule's findings for a fixture: a failing fixture must trip only its own rule."""
    found = {}
    for rule in ALL_RULES:
        resources = fixture if isinstance(fixture, list) else [fixture]
        messages = rule.stack_violations(resources) if rule.stack_check else [m for r in resources for m in rule.violations(r)]
        if messages:
            found[rule.name] = messages
    return found


def test_every_rule_has_passing_and_failing_fixtures():
    missing = [name for name in RULES_BY_NAME if name not in FIXTURES or not FIXTURES[name][0] or not FIXTURES[name][1]]
    assert missing == []
    assert set(FIXTURES) <= set(RULES_BY_NAME), "fixtures for rules that do not exist"


def test_the_pack_has_at_least_forty_rules():
    assert len(ALL_RULES) >= 40


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_passing_fixtures_pass(name):
    for fixture in FIXTURES[name][0]:
        assert violations(RULES_BY_NAME[name], fixture) == []


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_failing_fixture_gives_exactly_one_violation_of_its_rule(name):
    for fixture in FIXTURES[name][1]:
        found = all_violations(fixture)
        assert list(found) == [name], found
        assert len(found[name]) == 1


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_every_rule_is_documented(rule):
    assert rule.description and rule.missing and rule.severity and rule.enforcement
    assert (rule.check is None) != (rule.stack_check is None)
    assert rule.stack_check is not None or rule.resource_types


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_messages_name_the_resource(name):
    for fixture in FIXTURES[name][1]:
        message = violations(RULES_BY_NAME[name], fixture)[0]
        resources = fixture if isinstance(fixture, list) else [fixture]
        assert any(f"'{r.name}'" in message for r in resources) or name == "vpn-four-tunnels"


def test_a_secret_value_is_never_echoed():
    message = RULES_BY_NAME["secrets-are-generated"].stack_violations(_generated_stack(False))[0]
    assert "typed-in" not in message and "password" in message


def test_data_loss_and_exposure_rules_are_mandatory():
    for name in (
        "rds-storage-encrypted",
        "rds-not-public",
        "rds-deletion-protection",
        "rds-final-snapshot",
        "elasticache-auth",
        "eks-endpoint-not-world",
        "cloudsql-private",
        "gke-authorized-networks",
        "firewall-no-world-sensitive-ports",
        "stateful-resources-protected",
        "secrets-are-generated",
        "sg-no-world-data-ports",
    ):
        assert RULES_BY_NAME[name].enforcement == MANDATORY, name


def test_an_unknown_environment_is_judged_as_production():
    from tests.policies.fixtures import RDS, resource

    unnamed = resource(RDS, {"multiAz": False}, stack="mystery")
    assert RULES_BY_NAME["rds-multi-az"].violations(unnamed) != []
