"""The AWS Load Balancer Controller: registers the application's pods in the ALB target group.

Used only for TargetGroupBinding here: the ALB, its listeners, security group, TLS policy and
access logs stay in `components/aws/alb.py`; the controller just keeps the target group's
membership equal to the ready pods behind the Service (target type `ip`).

Its IAM policy is the controller's published policy at the pinned release
(`policies/aws-load-balancer-controller-v3.5.0.json`, from
https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/docs/install/iam_policy.json),
attached to a role only the controller's service account can assume (IRSA).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.eks import irsa_role
from components.base import Component

CHART_REPOSITORY = "https://aws.github.io/eks-charts"
CHART = "aws-load-balancer-controller"
CHART_VERSION = "3.5.0"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
POLICY_FILE = Path(__file__).resolve().parent / "policies" / f"aws-load-balancer-controller-v{CHART_VERSION}.json"


def published_policy() -> str:
    """The controller's IAM policy exactly as its release publishes it."""
    return json.dumps(json.loads(POLICY_FILE.read_text()))


@dataclass
class LoadBalancerControllerArgs:
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    region: str
    tags: Mapping[str, str]
    chart_version: str = CHART_VERSION

    def __post_init__(self) -> None:
        if self.chart_version != CHART_VERSION:
            raise ValueError(f"the shipped IAM policy is the one of chart {CHART_VERSION}; got chart_version {self.chart_version}")


class LoadBalancerController(Component):
    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:aws:LoadBalancerController", name, None, opts)
        self.require_provider("kubernetes")  # the cluster's, in opts.providers
        child = pulumi.ResourceOptions(parent=self)
        self.role = irsa_role(f"{name}-irsa", args.oidc_provider_arn, args.oidc_provider_url, NAMESPACE, SERVICE_ACCOUNT, args.tags, self)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=published_policy(), opts=child)
        self.release = k8s.helm.v3.Release(
            f"{name}-chart",
            name="aws-load-balancer-controller",
            chart=CHART,
            version=args.chart_version,
            repository_opts={"repo": CHART_REPOSITORY},
            namespace=NAMESPACE,
            atomic=True,
            values={
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": {"eks.amazonaws.com/role-arn": self.role.arn}},
                # Ingress/Service reconcilers stay idle: nothing here creates load balancers from Kubernetes.
                "createIngressClassResource": False,
                "enableServiceMutatorWebhook": False,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role_arn})
