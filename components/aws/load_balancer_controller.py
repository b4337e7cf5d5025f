"""The AWS Load Balancer Controller: registers the application's pods in the ALB target group.

Used only for TargetGroupBinding here: the ALB, its listeners, security group, TLS policy and
access logs stay in `components/aws/alb.py`; the controller just keeps the target group's
membership equal to the ready pods behind the Service (target type `ip`).

Its IAM policy is the subset the controller's installation guide gives for TargetGroupBinding only
(not the full published policy, which creates and deletes load balancers, listeners and rules on
"*"): reading load balancing and EC2, registering targets in this stack's target group alone, and
security-group ingress inside this VPC alone. It is attached to a role only the controller's service
account can assume (IRSA).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import Component
from components.kubernetes.chart_release import ChartRelease, ChartReleaseArgs, IrsaRole, ServiceAccount

CHART_REPOSITORY = "https://aws.github.io/eks-charts"
CHART = "aws-load-balancer-controller"
CHART_VERSION = "3.5.0"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"


# Read-only calls the TargetGroupBinding reconciler and its webhook make (these actions take no resource scope).
DESCRIBE_ACTIONS = [
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
]


def target_group_binding_policy(target_group_arn: str, vpc_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": DESCRIBE_ACTIONS, "Resource": "*"},
                {
                    "Sid": "BindPods",
                    "Effect": "Allow",
                    "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                    "Resource": target_group_arn,
                },
                {
                    "Sid": "OpenPodsToTheLoadBalancer",
                    "Effect": "Allow",
                    "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn}},
                },
            ],
        }
    )


@dataclass
class LoadBalancerControllerArgs:
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]  # the only target group the controller may register pods in
    region: str
    tags: Mapping[str, str]
    chart_version: str = CHART_VERSION
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)

    def __post_init__(self) -> None:
        if self.chart_version != CHART_VERSION:
            raise ValueError(f"the shipped IAM policy is the one of chart {CHART_VERSION}; got chart_version {self.chart_version}")


class LoadBalancerController(Component):
    release: k8s.helm.v3.Release
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:LoadBalancerController", name, None, opts)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        vpc_arn = pulumi.Output.format("arn:aws:ec2:{0}:{1}:vpc/{2}", args.region, account, args.vpc_id)
        chart = ChartRelease(
            name,
            ChartReleaseArgs(
                release_name="aws-load-balancer-controller",
                chart=CHART,
                version=args.chart_version,
                repository=CHART_REPOSITORY,
                namespace=NAMESPACE,
                values={
                    "clusterName": args.cluster_name,
                    "region": args.region,
                    "vpcId": args.vpc_id,
                    # Ingress/Service reconcilers stay idle: nothing here creates load balancers from Kubernetes.
                    "createIngressClassResource": False,
                    "enableServiceMutatorWebhook": False,
                },
                service_account=ServiceAccount(SERVICE_ACCOUNT),
                aws_role=IrsaRole(
                    oidc_provider_arn=args.oidc_provider_arn,
                    oidc_provider_url=args.oidc_provider_url,
                    policy=pulumi.Output.all(args.target_group_arn, vpc_arn).apply(lambda a: target_group_binding_policy(a[0], a[1])),
                    tags=args.tags,
                    permissions_boundary=args.permissions_boundary,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = chart.release
        self.role_arn = chart.role_arn  # type: ignore[assignment]  # set: aws_role is given
        self.register_outputs({"roleArn": self.role_arn})
