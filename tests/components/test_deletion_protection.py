"""A cloud's own deletion protection and Pulumi's `protect` are separate switches, named plainly.

`deletion_protection` (an argument) sets the cloud's guard; `opts.protect` sets Pulumi's. Setting
one leaves the other as it was.
"""

from __future__ import annotations

import pulumi
import pytest

from components.aws.alb import PublicLoadBalancer
from components.aws.eks import EksCluster
from components.gcp.gke import GkeCluster
from tests.components.aws.test_alb import alb_args
from tests.components.aws.test_eks import eks_args
from tests.components.gcp.test_gke import gke_args

# component, its args, the resource carrying the cloud's flag, and that flag's input name
GUARDED = {
    "alb": (PublicLoadBalancer, alb_args, "aws:lb/loadBalancer:LoadBalancer", "enableDeletionProtection"),
    "eks": (EksCluster, eks_args, "aws:eks/cluster:Cluster", "deletionProtection"),
    "gke": (GkeCluster, gke_args, "gcp:container/cluster:Cluster", "deletionProtection"),
}


def build(run_component, kind: str, deletion_protection: bool, protect: bool):
    component, args, type_, flag = GUARDED[kind]
    result = run_component(
        lambda: component(kind, args(deletion_protection=deletion_protection), opts=pulumi.ResourceOptions(protect=protect))
    )
    guarded = result.one(type_)
    return guarded.get(flag), guarded.protect


@pytest.mark.parametrize("kind", sorted(GUARDED))
def test_the_cloud_guard_follows_deletion_protection_alone(run_component, kind):
    assert build(run_component, kind, deletion_protection=False, protect=True)[0] is False


@pytest.mark.parametrize("kind", sorted(GUARDED))
def test_pulumi_protect_does_not_switch_on_the_cloud_guard(run_component, kind):
    assert build(run_component, kind, deletion_protection=True, protect=False) == (True, False)


@pytest.mark.parametrize("kind", sorted(GUARDED))
def test_the_cloud_guard_is_on_by_default(kind):
    assert GUARDED[kind][1]().deletion_protection is True
