"""crm:loadBalancer.steering and poolWeights: the three steering choices, validated in config."""

from __future__ import annotations

import pytest

from stacks.config import load
from tests.conftest import stack_config
from tests.stacks.test_config import one_problem


@pytest.mark.parametrize("steering", ["dynamic_latency", "failover", "random"])
def test_each_steering_choice_is_accepted(steering):
    assert load("global", stack_config("global", {"crm:loadBalancer": {"steering": steering}})).load_balancer.steering == steering


def test_random_steering_defaults_to_the_documents_fifty_fifty():
    config = load("global", stack_config("global", {"crm:loadBalancer": {"steering": "random"}}))
    assert dict(config.load_balancer.pool_weights) == {"aws": 50, "gcp": 50}


def test_random_steering_with_both_weights_zero_is_an_error():
    changes = {"crm:loadBalancer": {"steering": "random", "poolWeights": {"aws": 0, "gcp": 0}}}
    assert "above 0" in one_problem("global", changes, "crm:loadBalancer.poolWeights")


def test_a_weight_over_100_names_its_key():
    assert "between 0 and 100" in one_problem(
        "global", {"crm:loadBalancer": {"poolWeights": {"gcp": 120}}}, "crm:loadBalancer.poolWeights.gcp"
    )


def test_an_unknown_cloud_in_pool_weights_names_its_key():
    assert "not a known setting" in one_problem(
        "global", {"crm:loadBalancer": {"poolWeights": {"azure": 10}}}, "crm:loadBalancer.poolWeights.azure"
    )


def test_the_global_stack_previews_random_steering(run_stack):
    balancer = run_stack("global", {"crm:loadBalancer": {"steering": "random", "poolWeights": {"aws": 60, "gcp": 40}}}, preview=False).one(
        "cloudflare:index/loadBalancer:LoadBalancer"
    )
    assert balancer["steeringPolicy"] == "random"
    assert sorted(balancer["randomSteering"]["poolWeights"].values()) == [0.4, 0.6]


def test_random_steering_inputs_are_known_to_the_cloudflare_sdk(run_stack):
    from tests.schema import input_problems

    result = run_stack("global", {"crm:loadBalancer": {"steering": "random"}}, preview=False)
    assert [p for r in result.resources if r.custom for p in input_problems(r.type, r.inputs)] == []
