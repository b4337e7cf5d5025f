"""eks-network-policy-enforced over the real AWS previews: their own NetworkPolicies, or only a synthetic one."""

from __future__ import annotations

import json

import pytest

from policies.rules import RULES_BY_NAME
from policies.rules.base import Resource
from tools.policy_check import from_preview

RULE = RULES_BY_NAME["eks-network-policy-enforced"]
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def as_rule_resources(result, *, cni_config=None, with_policy=True) -> list[Resource]:
    # The stack's own NetworkPolicies are replaced by one synthetic policy (or none), so each test
    # controls exactly what the rule sees.
    resources = [Resource(r.type, r.name, r.urn, dict(r.inputs), r.protect) for r in from_preview(result) if r.type != POLICY]
    if cni_config is not None:
        for r in resources:
            if r.type == "aws:eks/addon:Addon" and r.props.get("addonName") == "vpc-cni":
                r.props["configurationValues"] = cni_config
    if with_policy:
        stack = resources[0].urn.split("::")[0]
        resources.append(
            Resource(
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                "crm-default-deny",
                f"{stack}::crm::kubernetes:networking.k8s.io/v1:NetworkPolicy::crm-default-deny",
                {"metadata": {"namespace": "crm"}},
            )
        )
    return resources


@pytest.mark.parametrize("stack", ["aws-dev", "aws-staging", "aws-production", "aws-dr"])
def test_every_aws_stack_enables_the_network_policy_agent(shipped, stack):
    cni = next(r for r in shipped(stack).of_type("aws:eks/addon:Addon") if r["addonName"] == "vpc-cni")
    assert json.loads(cni["configurationValues"])["enableNetworkPolicy"] == "true"


def test_a_network_policy_in_the_shipped_stack_is_enforced(shipped):
    assert RULE.stack_violations(as_rule_resources(shipped("aws-dr"))) == []


def test_a_network_policy_with_the_agent_off_fails(shipped):
    messages = RULE.stack_violations(as_rule_resources(shipped("aws-dr"), cni_config=json.dumps({"enableNetworkPolicy": "false"})))
    assert len(messages) == 1 and "'crm-default-deny'" in messages[0]


def test_a_network_policy_with_no_cni_configuration_fails(shipped):
    assert len(RULE.stack_violations(as_rule_resources(shipped("aws-dr"), cni_config=""))) == 1


def test_the_shipped_stack_declares_network_policies_the_agent_enforces(shipped):
    result = shipped("aws-dr")
    assert result.of_type(POLICY)
    resources = [Resource(r.type, r.name, r.urn, dict(r.inputs), r.protect) for r in from_preview(result)]
    assert RULE.stack_violations(resources) == []


def test_without_network_policies_the_rule_has_nothing_to_judge(shipped):
    assert RULE.stack_violations(as_rule_resources(shipped("aws-dr"), cni_config="", with_policy=False)) == []


def test_gcp_stacks_are_not_judged(shipped):
    """GKE enforces through Dataplane V2 (gke-network-policy); this rule is about EKS."""
    assert RULE.stack_violations(as_rule_resources(shipped("gcp-dr"))) == []
