"""A GitHub Actions runner inside the stack's VPC, hosted by CodeBuild, for the jobs that reach the cluster.

The EKS API endpoint is private, so the `pulumi up` that installs the cluster's Kubernetes objects
must run in the VPC. CodeBuild runs a GitHub Actions job as a build of this project when the job
asks for the label `codebuild-<project name>-${{ github.run_id }}-${{ github.run_attempt }}`: the
webhook passes GitHub's `workflow_job` queued events to CodeBuild, which registers a just-in-time
runner in the private subnets for that one job (AWS CodeBuild user guide, "Self-hosted GitHub Actions
runners in AWS CodeBuild"). Nothing runs, and nothing is paid for, between jobs.

The job assumes the deploy role through GitHub's OIDC token as on a hosted runner; the project's own
role may only write the build's logs, attach the build to the VPC and use the GitHub connection.
The runner's security group reaches out on 443 only (GitHub, the AWS APIs, the package registries,
Cloudflare, and the cluster's API, which the cluster admits from this group: `EksClusterArgs.api_client_security_group_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import assume_role_policy, estate_role, policy_document
from components.base import Component

# An Ubuntu image (what `ubuntu-latest` jobs and actions/setup-python expect), x86_64, the smallest size.
RUNNER_IMAGE = "aws/codebuild/standard:7.0"
RUNNER_COMPUTE = "BUILD_GENERAL1_SMALL"
# Only jobs of the deploying workflow start builds (a reusable workflow's jobs carry their caller's name).
DEPLOY_WORKFLOW = "infrastructure"
# A first deploy of aws-dr (EKS, RDS Multi-AZ, MSK) takes over an hour; a build never outlives this.
BUILD_TIMEOUT_MINUTES = 240
# The network interface rights CodeBuild needs to run a build in a VPC (CodeBuild user guide, "Allow
# CodeBuild access to AWS services required to create a VPC network interface"). EC2's Describe calls
# take no resource-level permissions; creating and deleting interfaces are scoped to this account and region
# and to the runner's subnets.
_VPC_READS = [
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
]
# What a GitHub App connection lends CodeBuild (CodeBuild user guide, "GitHub App connections"). The service
# was renamed from codestar-connections: the same connection answers under either prefix, each action on the
# ARN of its own prefix.
_CONNECTION_PREFIXES = ("codeconnections", "codestar-connections")
_CONNECTION_ACTIONS = ("GetConnection", "GetConnectionToken", "UseConnection")


@dataclass
class DeployRunnerArgs:
    project_name: str  # CodeBuild project; jobs ask for `codebuild-<project_name>-<run id>-<run attempt>`
    repository: str  # OWNER/REPO
    connection_arn: pulumi.Input[str]  # an AVAILABLE CodeConnections connection to GitHub
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets, with a NAT route out
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    log_retention_days: int = 90
    region: str = ""
    # The bootstrap stack's permissions boundary, on the runner's role as on every estate role (components/aws/iam.py).
    permissions_boundary: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if not 2 <= len(self.project_name) <= 150:
            raise ValueError(f"CodeBuild project names have 2-150 characters, got '{self.project_name}'")
        if not self.subnet_ids:
            raise ValueError("the runner needs the private subnets it runs in")


class DeployRunner(Component):
    def __init__(self, name: str, args: DeployRunnerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:DeployRunner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{args.project_name}: CI's runner, out on 443 only",
            tags={**tags, "Name": f"{args.project_name}"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="GitHub, the AWS and Cloudflare APIs, package registries, the cluster's API",
            tags=tags,
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/codebuild/{args.project_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        role = estate_role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("codebuild.amazonaws.com"),
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            parent=self,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(logs.arn, args.connection_arn, args.kms_key_arn, account, *args.subnet_ids).apply(
                lambda a: runner_policy(a[0], a[1], a[2], args.region, a[3], a[4:])
            ),
            opts=child,
        )
        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=args.project_name,
            description=f"GitHub Actions runner for {args.repository}'s deploy jobs, in the stack's VPC",
            service_role=role.arn,
            source={
                "type": "GITHUB",
                "location": f"https://github.com/{args.repository}.git",
                "auth": {"type": "CODECONNECTIONS", "resource": args.connection_arn},
            },
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "compute_type": RUNNER_COMPUTE,
                "image": RUNNER_IMAGE,
                "image_pull_credentials_type": "CODEBUILD",
                "privileged_mode": False,
            },
            vpc_config={"vpc_id": args.vpc_id, "subnets": list(args.subnet_ids), "security_group_ids": [self.security_group.id]},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": logs.name}, "s3_logs": {"status": "DISABLED"}},
            encryption_key=args.kms_key_arn,
            build_timeout=BUILD_TIMEOUT_MINUTES,
            tags=tags,
            # CodeBuild checks the role's rights when the project is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.webhook = aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_groups=[
                {
                    "filters": [
                        {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
                        {"type": "WORKFLOW_NAME", "pattern": f"^{DEPLOY_WORKFLOW}$"},
                    ]
                }
            ],
            opts=child,
        )
        self.project_name = self.project.name
        self.security_group_id = self.security_group.id
        self.register_outputs({"projectName": self.project_name, "securityGroupId": self.security_group_id})


def runner_label(project_name: str) -> str:
    """The `runs-on` label a GitHub Actions job gives to run on this project (the run id and attempt follow)."""
    return f"codebuild-{project_name}"


def connection_arn_as(connection_arn: str, prefix: str) -> str:
    """The connection's ARN under one of the service's two prefixes (`arn:aws:codeconnections:...` or `...codestar-connections...`)."""
    parts = connection_arn.split(":", 5)
    if len(parts) != 6 or parts[2] not in _CONNECTION_PREFIXES:
        raise ValueError(f"connection_arn: {connection_arn!r} is not a CodeConnections connection ARN")
    parts[2] = prefix
    return ":".join(parts)


def runner_policy(log_group_arn: str, connection_arn: str, kms_key_arn: str, region: str, account: str, subnet_ids: Sequence[str]) -> str:
    subnets = [f"arn:aws:ec2:{region}:{account}:subnet/{subnet}" for subnet in subnet_ids]
    interfaces = f"arn:aws:ec2:{region}:{account}:network-interface/*"
    return policy_document(
        [
            {
                "Sid": "BuildLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
            },
            {"Sid": "VpcReads", "Effect": "Allow", "Action": _VPC_READS, "Resource": "*"},
            {
                "Sid": "VpcNetworkInterfaces",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [interfaces, *subnets, f"arn:aws:ec2:{region}:{account}:security-group/*"],
            },
            {"Sid": "VpcNetworkInterfaceCleanUp", "Effect": "Allow", "Action": "ec2:DeleteNetworkInterface", "Resource": interfaces},
            {
                "Sid": "VpcNetworkInterfacePermission",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterfacePermission",
                "Resource": interfaces,
                # ec2:Subnet holds ARNs: compared with ArnEquals (IAM user guide, "ARN condition operators").
                "Condition": {"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"}, "ArnEquals": {"ec2:Subnet": subnets}},
            },
            *(
                {
                    "Sid": f"GitHubConnection{''.join(part.title() for part in prefix.split('-'))}",
                    "Effect": "Allow",
                    "Action": [f"{prefix}:{action}" for action in _CONNECTION_ACTIONS],
                    "Resource": connection_arn_as(connection_arn, prefix),
                }
                for prefix in _CONNECTION_PREFIXES
            ),
            {
                "Sid": "ProjectKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": kms_key_arn,
            },
        ]
    )
