"""Rules over Kubernetes objects a stack declares, judged against the cluster that would run them."""
from __future__ import annotations

import json
from typing import Sequence

from pulumi_policy import Severity

from .base import MANDATORY, UNKNOWN, Resource, Rule

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
EKS_CLUSTER, EKS_ADDON = "aws:eks/cluster:Cluster", "aws:eks/addon:Addon"


def _enforces(addon: Resource) -> bool:
    """A vpc-cni add-on whose configuration turns the network policy agent on; unknown counts as on."""
    values = addon.get("configurationValues")
    if values is UNKNOWN:
        return True
    try:
        return str(json.loads(values or "{}").get("enableNetworkPolicy", "false")).lower() == "true"
    except (ValueError, AttributeError):
        return False


def eks_enforces(resources: Sequence[Resource]):
    policies = [r for r in resources if r.type == NETWORK_POLICY]
    if not policies or not any(r.type == EKS_CLUSTER for r in resources):
        return
    cni = [r for r in resources if r.type == EKS_ADDON and r.get("addonName") == "vpc-cni"]
    if not any(_enforces(addon) for addon in cni):
        names = ", ".join(p.describe() for p in policies)
        yield (f"{names}: EKS would accept and ignore it; enable the VPC CNI network policy agent "
               "(vpc-cni add-on configurationValues {\"enableNetworkPolicy\": \"true\"})")


RULES = [
    Rule("eks-network-policy-enforced", "NetworkPolicies in an EKS stack are enforced by the VPC CNI's network policy agent",
         Severity.HIGH, MANDATORY, "fails closed: no vpc-cni add-on, or one without enableNetworkPolicy, enforces nothing",
         stack_check=eks_enforces),
]
