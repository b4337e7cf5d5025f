"""Cluster Autoscaler for the EKS managed node group, so its min and max sizes mean something.

The node group's Auto Scaling group carries the tags EKS puts on every managed node group
(`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>` = `owned`); the
autoscaler finds it by them, and its IAM role may only resize or terminate in groups tagged as
owned by this cluster. Read-only describe calls cannot be scoped by resource.
Policy source: https://github.com/kubernetes/autoscaler/blob/cluster-autoscaler-chart-9.59.0/cluster-autoscaler/cloudprovider/aws/README.md
("Full Cluster Autoscaler Features Policy", with the tag condition it recommends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.aws.iam import policy_document
from components.base import Component
from components.kubernetes.chart_release import ChartRelease, ChartReleaseArgs, IrsaRole, ServiceAccount

CHART_REPOSITORY = "https://kubernetes.github.io/autoscaler"
CHART = "cluster-autoscaler"
CHART_VERSION = "9.59.0"  # Cluster Autoscaler 1.35, the minor of the EKS default version
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
DESCRIBE_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
]
SCALE_ACTIONS = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]


def autoscaler_policy(cluster_name: str) -> str:
    return policy_document(
        [
            {"Sid": "Discover", "Effect": "Allow", "Action": DESCRIBE_ACTIONS, "Resource": "*"},
            {
                "Sid": "ScaleOwnNodeGroups",
                "Effect": "Allow",
                "Action": SCALE_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    }
                },
            },
        ]
    )


@dataclass
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    region: str
    tags: Mapping[str, str]
    chart_version: str = CHART_VERSION
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)


class ClusterAutoscaler(Component):
    release: k8s.helm.v3.Release
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:ClusterAutoscaler", name, None, opts)
        chart = ChartRelease(
            name,
            ChartReleaseArgs(
                release_name="cluster-autoscaler",
                chart=CHART,
                version=args.chart_version,
                repository=CHART_REPOSITORY,
                namespace=NAMESPACE,
                values={
                    "cloudProvider": "aws",
                    "awsRegion": args.region,
                    "autoDiscovery": {"clusterName": args.cluster_name},
                    "containerSecurityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                },
                service_account=ServiceAccount(SERVICE_ACCOUNT, values_path=("rbac", "serviceAccount")),
                aws_role=IrsaRole(
                    oidc_provider_arn=args.oidc_provider_arn,
                    oidc_provider_url=args.oidc_provider_url,
                    policy=pulumi.Output.from_input(args.cluster_name).apply(autoscaler_policy),
                    tags=args.tags,
                    permissions_boundary=args.permissions_boundary,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = chart.release
        self.role_arn = chart.role_arn  # type: ignore[assignment]  # set: aws_role is given
        self.register_outputs({"roleArn": self.role_arn})
