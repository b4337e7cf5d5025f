"""AWS Fault Injection Service experiment templates for the game day (`python -m dr gameday`).

One template per scenario of components/aws/experiments.py, each with:

- a role only FIS may assume, for experiments of this account and region, whose one inline policy
  allows the action on this stack's own targets and nothing else (created through the project's
  IAM helper, so whatever every role of the estate carries, these carry too);
- stop conditions: the game day's guard alarm (the supervisor's abort, or a person's:
  docs/runbooks/gameday.md) and, for the AWS outage, the replication-lag alarm: cutting the
  application tier off must not reach the database path to the GCP copy;
- a bounded duration: the network cut lasts `network_cut_minutes` (at most MAX_ACTION_MINUTES);
  the reboot and the node termination act once.

Nothing here runs an experiment: a template costs nothing until it is started.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.experiments import MAX_ACTION_MINUTES, SCENARIOS, duration_seconds, iso_minutes
from components.aws.iam import policy_document, service_role_with_policies
from components.base import Component

GUARD_NAMESPACE = "CRM/GameDay"
GUARD_METRIC = "Abort"  # 1: stop every experiment of this environment now
GUARD_PERIOD = 10  # a high-resolution alarm: FIS stops within seconds of an abort


@dataclass
class FaultInjectionArgs:
    environment: str  # the guard metric's Environment dimension
    vpc_id: pulumi.Input[str]
    application_subnet_arns: Sequence[pulumi.Input[str]]  # where the application's pods run (the ALB's targets)
    cluster_name: pulumi.Input[str]
    node_group_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    database_instance_arn: pulumi.Input[str] | None = None  # a Multi-AZ instance: its failover needs the standby
    replication_alarm_arn: pulumi.Input[str] | None = None  # the GCP copy falling behind stops aws-outage
    network_cut_minutes: int = 10
    node_termination_percent: int = 34
    # The bootstrap stack's permissions boundary, on each experiment's role as on every estate role (components/aws/iam.py).
    permissions_boundary: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.application_subnet_arns:
            problems.append("the application tier's subnets are needed (aws-outage cuts them off)")
        if not 1 <= self.network_cut_minutes <= MAX_ACTION_MINUTES:
            problems.append(f"network_cut_minutes must be 1-{MAX_ACTION_MINUTES}, got {self.network_cut_minutes}")
        if not 1 <= self.node_termination_percent <= 100:
            problems.append(f"node_termination_percent must be 1-100, got {self.node_termination_percent}")
        if problems:
            raise ValueError("FaultInjectionArgs: " + "; ".join(problems))


@dataclass(frozen=True)
class _Target:
    """One scenario's action and target, and what its role may do."""

    scenario: str
    action_name: str
    parameters: Mapping[str, str]
    target_name: str
    resource_arns: Sequence[pulumi.Input[str]]
    stop_alarm_arns: Sequence[pulumi.Input[str]]


class FaultInjection(Component):
    """`templates`: scenario -> experiment template id; `plan`: what `dr gameday` needs to run and judge each."""

    def __init__(self, name: str, args: FaultInjectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:FaultInjection", name, None, opts)
        self._name, self._tags = name, dict(args.tags)
        self._permissions_boundary = args.permissions_boundary
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition

        self.guard = aws.cloudwatch.MetricAlarm(
            f"{name}-guard",
            name=f"{name}-guard",
            namespace=GUARD_NAMESPACE,
            metric_name=GUARD_METRIC,
            dimensions={"Environment": args.environment},
            statistic="Maximum",
            period=GUARD_PERIOD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            # No data is no abort: an experiment whose supervisor died ends with its bounded duration.
            treat_missing_data="notBreaching",
            alarm_description=f"a game day asked to stop every fault-injection experiment of {args.environment} "
            "(docs/runbooks/gameday.md); FIS stops them on this alarm",
            alarm_actions=[args.alarm_topic_arn],
            ok_actions=[args.alarm_topic_arn],
            tags=self._tags,
            opts=child,
        )

        guard = [self.guard.arn]
        targets = [
            _Target(
                "aws-outage",
                "cut-application-subnets",
                {"duration": iso_minutes(args.network_cut_minutes), "scope": "all"},
                "application-subnets",
                list(args.application_subnet_arns),
                guard + ([args.replication_alarm_arn] if args.replication_alarm_arn is not None else []),
            ),
            _Target(
                "eks-nodes",
                "terminate-nodes",
                {"instanceTerminationPercentage": str(args.node_termination_percent)},
                "node-group",
                [args.node_group_arn],
                guard,
            ),
        ]
        if args.database_instance_arn is not None:
            targets.append(
                _Target("rds-failover", "fail-over-writer", {"forceFailover": "true"}, "writer", [args.database_instance_arn], guard)
            )

        inputs = {
            "aws-outage": [args.vpc_id, *args.application_subnet_arns],
            "eks-nodes": [args.cluster_name, args.node_group_arn],
            "rds-failover": [args.database_instance_arn],
        }
        self.templates: dict[str, pulumi.Output[str]] = {}
        self.roles: dict[str, aws.iam.Role] = {}
        plan: dict[str, Any] = {}
        for target in targets:
            scenario = SCENARIOS[target.scenario]
            role, _ = service_role_with_policies(
                f"{name}-{target.scenario}",
                "fis.amazonaws.com",
                self._tags,
                self,
                trust_policy=pulumi.Output.all(partition, region, account).apply(lambda s: fis_trust_policy(*s)),
                permissions_boundary=self._permissions_boundary,
            )
            policy = aws.iam.RolePolicy(
                f"{name}-{target.scenario}",
                role=role.id,
                policy=pulumi.Output.all(partition, region, account, *inputs[target.scenario]).apply(
                    lambda values, scenario=target.scenario: role_policy(scenario, *values)
                ),
                opts=child,
            )
            template = aws.fis.ExperimentTemplate(
                f"{name}-{target.scenario}",
                description=f"{name} game day {target.scenario}: {scenario.summary}"[:512],
                role_arn=role.arn,
                stop_conditions=[{"source": "aws:cloudwatch:alarm", "value": arn} for arn in target.stop_alarm_arns],
                actions=[
                    {
                        "name": target.action_name,
                        "action_id": scenario.action_id,
                        "parameters": [{"key": k, "value": v} for k, v in target.parameters.items()],
                        "target": {"key": scenario.target_key, "value": target.target_name},
                    }
                ],
                targets=[
                    {
                        "name": target.target_name,
                        "resource_type": scenario.resource_type,
                        "selection_mode": "ALL",
                        "resource_arns": list(target.resource_arns),
                    }
                ],
                experiment_options={"account_targeting": "single-account", "empty_target_resolution_mode": "fail"},
                tags={**self._tags, "Name": f"{name}-{target.scenario}", "scenario": target.scenario},
                # The role's rights are in place before an experiment can assume it.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
            self.roles[target.scenario] = role
            self.templates[target.scenario] = template.id
            plan[target.scenario] = {
                "templateId": template.id,
                "actionId": scenario.action_id,
                "summary": scenario.summary,
                "parameters": dict(target.parameters),
                "durationSeconds": duration_seconds(target.parameters.get("duration")) or 0,
                "expectsFailover": scenario.expects_failover,
                "stopAlarms": list(target.stop_alarm_arns),
            }
        self.plan = {
            "guard": {
                "namespace": GUARD_NAMESPACE,
                "metric": GUARD_METRIC,
                "dimensions": {"Environment": args.environment},
                "alarmName": self.guard.name,
            },
            "scenarios": plan,
        }
        self.register_outputs({"templates": self.templates, "guardAlarm": self.guard.name})


def role_policy(scenario: str, partition: str, region: str, account: str, *targets: str) -> str:
    """The inline policy of one scenario's role, from the ARNs (and names) of its targets."""
    if scenario == "aws-outage":
        return network_cut_policy(partition, region, account, vpc_id=targets[0], subnet_arns=targets[1:])
    if scenario == "eks-nodes":
        return node_termination_policy(partition, region, account, cluster_name=targets[0], node_group_arn=targets[1])
    if scenario == "rds-failover":
        return db_failover_policy(partition, region, account, instance_arn=targets[0])
    raise ValueError(f"no role policy for scenario {scenario!r}")


def fis_trust_policy(partition: str, region: str, account: str) -> str:
    """FIS may assume the role only for experiments of this account and region (the confused-deputy conditions of the FIS guide)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "fis.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": f"arn:{partition}:fis:{region}:{account}:experiment/*"},
                    },
                }
            ],
        }
    )


def network_cut_policy(partition: str, region: str, account: str, *, vpc_id: str, subnet_arns: Sequence[str]) -> str:
    """What `aws:network:disrupt-connectivity` (scope all) needs, on this VPC and these subnets only.

    FIS creates a network ACL tagged managedByFIS=true in the VPC, adds its deny entries, swaps it
    onto the target subnets, and at the end swaps the original ACL back and deletes its own
    (the AWSFaultInjectionSimulatorNetworkAccess managed policy, narrowed to the targets).
    """
    acls = f"arn:{partition}:ec2:{region}:{account}:network-acl/*"
    vpc = f"arn:{partition}:ec2:{region}:{account}:vpc/{vpc_id}"
    fis_tag = {"aws:RequestTag/managedByFIS": "true"}
    return policy_document(
        [
            {"Sid": "CreateFisAclInThisVpc", "Effect": "Allow", "Action": "ec2:CreateNetworkAcl", "Resource": vpc},
            {
                "Sid": "CreateFisAcl",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkAcl",
                "Resource": acls,
                "Condition": {"StringEquals": fis_tag},
            },
            {
                "Sid": "TagFisAcl",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": acls,
                "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkAcl", **fis_tag}},
            },
            {
                "Sid": "ChangeOnlyFisAcls",
                "Effect": "Allow",
                "Action": ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
                "Resource": acls,
                "Condition": {"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}},
            },
            {
                "Sid": "SwapAclsOnTheTargetSubnets",
                "Effect": "Allow",
                "Action": "ec2:ReplaceNetworkAclAssociation",
                "Resource": [*subnet_arns, acls],
            },
            {
                "Sid": "ReadNetwork",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeNetworkAcls",
                    "ec2:DescribeManagedPrefixLists",
                ],
                "Resource": "*",  # EC2's Describe calls take no resource-level permissions
            },
            {
                "Sid": "ReadPrefixLists",
                "Effect": "Allow",
                "Action": "ec2:GetManagedPrefixListEntries",
                # AWS-managed prefix lists belong to the account "aws", customer-managed ones to their owner.
                "Resource": f"arn:{partition}:ec2:{region}:*:prefix-list/*",
            },
        ]
    )


def node_termination_policy(partition: str, region: str, account: str, *, cluster_name: str, node_group_arn: str) -> str:
    """What `aws:eks:terminate-nodegroup-instances` needs: read the node group, terminate only this cluster's nodes."""
    return policy_document(
        [
            {"Sid": "ReadNodeGroup", "Effect": "Allow", "Action": "eks:DescribeNodegroup", "Resource": node_group_arn},
            {"Sid": "ReadInstances", "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"},
            {
                "Sid": "TerminateThisClustersNodes",
                "Effect": "Allow",
                "Action": "ec2:TerminateInstances",
                "Resource": f"arn:{partition}:ec2:{region}:{account}:instance/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/eks:cluster-name": cluster_name}},
            },
        ]
    )


def db_failover_policy(partition: str, region: str, account: str, *, instance_arn: str) -> str:
    """What `aws:rds:reboot-db-instances` needs: reboot (with failover) this instance only."""
    del partition, region, account  # the instance's own ARN names them
    return policy_document(
        [
            {"Sid": "RebootTheWriter", "Effect": "Allow", "Action": "rds:RebootDBInstance", "Resource": instance_arn},
            {"Sid": "ReadInstances", "Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": "*"},
        ]
    )
