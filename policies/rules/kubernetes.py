"""Rules for Kubernetes workloads the stacks deploy: pod privileges, host namespaces, resources, network policy and its enforcement."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pulumi_policy import Severity

from .base import MANDATORY, UNKNOWN, Resource, Rule

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
WORKLOADS = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET)
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
EKS_CLUSTER, EKS_ADDON = "aws:eks/cluster:Cluster", "aws:eks/addon:Addon"


def _pod(r: Resource) -> dict:
    pod = r.get("spec.template.spec")
    return pod if isinstance(pod, dict) else {}


def _containers(r: Resource) -> list[dict]:
    pod = _pod(r)
    return [c for key in ("initContainers", "containers") for c in pod.get(key) or [] if isinstance(c, dict)]


def not_privileged(r: Resource):
    pod_context = _pod(r).get("securityContext") or {}
    for c in _containers(r):
        context = c.get("securityContext") or {}
        if context.get("privileged") is True:
            yield f"container {c.get('name')} must not be privileged"
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"container {c.get('name')}: securityContext.allowPrivilegeEscalation must be false"
        if (context.get("runAsNonRoot") if "runAsNonRoot" in context else pod_context.get("runAsNonRoot")) is not True:
            yield f"container {c.get('name')} must run as non-root (runAsNonRoot: true)"


def no_host_namespaces(r: Resource):
    pod = _pod(r)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            yield f"spec.template.spec.{key} must not be true"


def resource_limits(r: Resource):
    for c in _containers(r):
        resources = c.get("resources") or {}
        for kind in ("requests", "limits"):
            values = resources.get(kind)
            if values is UNKNOWN:
                continue
            missing = [k for k in ("cpu", "memory") if not isinstance(values, dict) or k not in values]
            if missing:
                yield f"container {c.get('name')}: resources.{kind} must set {' and '.join(missing)}"


def namespaces_have_default_deny(resources: Sequence[Resource]):
    created = {r.get("metadata.name"): r for r in resources if r.type == NAMESPACE}
    workloads = {r.get("metadata.namespace") for r in resources if r.type in WORKLOADS}
    deny = {
        r.get("metadata.namespace")
        for r in resources
        if r.type == NETWORK_POLICY and r.get("spec.podSelector") in ({}, None) and "Ingress" in (r.get("spec.policyTypes") or [])
    }
    for namespace in sorted(n for n in set(created) & workloads if isinstance(n, str)):
        if namespace not in deny:
            yield f"{created[namespace].describe()}: namespace '{namespace}' runs workloads but has no default-deny NetworkPolicy (podSelector {{}}, policyTypes Ingress)"


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
        yield (
            f"{names}: EKS would accept and ignore it; enable the VPC CNI network policy agent "
            '(vpc-cni add-on configurationValues {"enableNetworkPolicy": "true"})'
        )


RULES = [
    Rule(
        "k8s-no-privileged-containers",
        "Containers are not privileged, cannot escalate privileges and run as non-root",
        Severity.HIGH,
        MANDATORY,
        "fails closed (allowPrivilegeEscalation and runAsNonRoot must be set)",
        WORKLOADS,
        not_privileged,
    ),
    Rule(
        "k8s-no-host-namespaces",
        "Pods do not share the node's network, PID or IPC namespaces",
        Severity.HIGH,
        MANDATORY,
        "Kubernetes default off",
        WORKLOADS,
        no_host_namespaces,
    ),
    Rule(
        "k8s-resource-limits",
        "Every container sets CPU and memory requests and limits",
        Severity.MEDIUM,
        MANDATORY,
        "fails closed",
        WORKLOADS,
        resource_limits,
    ),
    Rule(
        "k8s-network-policy",
        "Every namespace the stack creates for workloads has a default-deny NetworkPolicy",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        stack_check=namespaces_have_default_deny,
    ),
    Rule(
        "eks-network-policy-enforced",
        "NetworkPolicies in an EKS stack are enforced by the VPC CNI's network policy agent",
        Severity.HIGH,
        MANDATORY,
        "fails closed: no vpc-cni add-on, or one without enableNetworkPolicy, enforces nothing",
        stack_check=eks_enforces,
    ),
]
