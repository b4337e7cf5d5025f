"""CI identities without stored keys: GitHub Actions' OIDC tokens, trusted for one repository only.

AWS: the GitHub OIDC provider and three roles. The preview role trusts pull requests and pushes to
the preview branches (`sub` = `repo:OWNER/REPO:pull_request` / `...:ref:refs/heads/<branch>`) and
may read; the deploy role trusts only jobs running in the non-production GitHub environments and
the production deploy role only jobs in the production environment, whose reviewers gate them
(`sub` = `repo:OWNER/REPO:environment:<name>`): a job that needs no reviewer cannot deploy
production. All require `aud` = `sts.amazonaws.com`, with StringEquals: no wildcard anywhere.

GCP: a Workload Identity pool and OIDC provider whose attribute condition admits only this
repository's tokens, and a deploy and a preview service account, each impersonable only by the
same subjects as its AWS counterpart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws.iam import ATTACHABLE_MANAGED_POLICIES, ROLE_PATHS, policy_document
from components.base import Component
from components.bootstrap.deploy_permissions import (
    ESTATE_NAMED_RESOURCES,
    GCP_ESTATE_ACCOUNTS,
    aws_services,
    estate_account_id,
    estate_named_arns,
    gcp_project_roles,
    passed_to_services,
)
from components.gcp.gke import NODE_ROLES
from components.gcp.replication import METRIC_WRITER as REPLICATION_METRIC_WRITER
from components.naming import SUFFIX_LENGTH, keep_existing_name, suffixed

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_HOST = "token.actions.githubusercontent.com"
AWS_AUDIENCE = "sts.amazonaws.com"
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")

# The services the aws-* stacks (and gcp-dr's half of the VPN) manage, from the deployer permission table
# (components/bootstrap/deploy_permissions.py); IAM, S3, Secrets Manager, SSM and CodeBuild are granted on the
# estate's names only, below.
# AWS Backup stores recovery points through backup-storage, which the table's backup rows imply.
DEPLOY_SERVICES = [f"{prefix}:*" for prefix in aws_services()] + ["backup-storage:*"]
# MSK's topic API (aws.msk.Topic) authorises each call against the cluster's Kafka permissions as well as kafka:*:
# within the deploy role's kafka-cluster:* on the estate's clusters (EstateKafkaData).
MSK_TOPIC_ADMIN = [
    "kafka-cluster:Connect",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:CreateTopic",
    "kafka-cluster:AlterTopic",
    "kafka-cluster:DeleteTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:AlterTopicDynamicConfiguration",
]
# The SSM agent's channels (AmazonSSMManagedInstanceCore on the node role): no use without a session or command.
NODE_AGENT_CHANNELS = ["ssmmessages:*", "ec2messages:*"]
# What else AmazonSSMManagedInstanceCore lets the node's SSM agent do, all on "*": register the instance and
# report on it. Its ssm:GetParameter* on "*" is capped by the boundary at the estate's own parameters.
NODE_AGENT_ACTIONS = [
    "ssm:DescribeAssociation",
    "ssm:DescribeDocument",
    "ssm:GetDeployablePatchSnapshotForInstance",
    "ssm:GetDocument",
    "ssm:GetManifest",
    "ssm:ListAssociations",
    "ssm:ListInstanceAssociations",
    "ssm:PutComplianceItems",
    "ssm:PutConfigurePackageResult",
    "ssm:PutInventory",
    "ssm:UpdateAssociationStatus",
    "ssm:UpdateInstanceAssociationStatus",
    "ssm:UpdateInstanceInformation",
]
# What the cluster autoscaler does to node groups' Auto Scaling groups (components/aws/cluster_autoscaler.py).
AUTOSCALER_ACTIONS = ["autoscaling:Describe*", "autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
# Denied to the deploy role and to every role under the boundary, whatever else allows them: running commands
# or sessions on any instance of the account, or changing an instance's user data (ec2:ModifyInstanceAttribute;
# all run as that instance's role, which need not carry the boundary), and sharing snapshots or images with
# other accounts. No stack uses them: nodes start from the node groups' launch templates.
NO_REMOTE_EXECUTION_OR_SHARING = [
    "ssm:SendCommand",
    "ssm:StartSession",
    "ssm:ResumeSession",
    "ssm:CreateAssociation",
    "ssm:CreateAssociationBatch",
    "ssm:UpdateAssociation",
    "ssm:StartAssociationsOnce",
    "ssm:StartAutomationExecution",
    "ssm:StartChangeRequestExecution",
    "ec2:GetPasswordData",
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifySnapshotAttribute",
    "ec2:ModifyImageAttribute",
    "rds:ModifyDBSnapshotAttribute",
    "rds:ModifyDBClusterSnapshotAttribute",
]
# A new version of a launch template runs its user data as the instance profile the template names, on every
# instance an Auto Scaling group starts from it: the deploy role changes only the estate's templates, which carry
# the `project` tag every stack sets (stacks/config/model.py CommonSettings.tags), and tags no other template.
PROJECT_TAG = "project"
LAUNCH_TEMPLATE_CHANGES = [
    "ec2:CreateLaunchTemplateVersion",
    "ec2:ModifyLaunchTemplate",
    "ec2:DeleteLaunchTemplate",
    "ec2:DeleteLaunchTemplateVersions",
]
DEPLOY_READS = [
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "autoscaling:Describe*",
    "sts:GetCallerIdentity",
    "s3:ListAllMyBuckets",
    "ssm:DescribeParameters",  # the provider reads a parameter's metadata through it; it takes no resource
]
# The runner's CodeBuild project authenticates to GitHub through bootstrap's CodeConnections connection: the
# stack looks it up by name and lends it to the project and its webhook. The service was renamed from
# codestar-connections, and a connection's ARN may carry either prefix.
CONNECTION_USE = [
    f"{prefix}:{action}"
    for prefix in ("codeconnections", "codestar-connections")
    for action in ("ListConnections", "GetConnection", "ListTagsForResource", "PassConnection", "UseConnection")
]
# Services that create their own service-linked roles on first use.
SERVICE_LINKED = [
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "rds.amazonaws.com",
    "elasticache.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "kafka.amazonaws.com",
    "autoscaling.amazonaws.com",
    "scheduler.amazonaws.com",
    "fis.amazonaws.com",
]
PREVIEW_READS = [
    "codebuild:BatchGetProjects",
    "codestar-connections:ListConnections",
    "codestar-connections:GetConnection",
    "codestar-connections:ListTagsForResource",
    "ec2:Describe*",
    "eks:Describe*",
    "eks:List*",
    "rds:Describe*",
    "rds:ListTagsForResource",
    "elasticache:Describe*",
    "elasticache:ListTagsForResource",
    "ecr:Describe*",
    "ecr:List*",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "elasticloadbalancing:Describe*",
    "kms:Describe*",
    "kms:List*",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecrets",
    "secretsmanager:GetResourcePolicy",
    "ssm:DescribeParameters",
    "ssm:ListTagsForResource",
    "logs:Describe*",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "sqs:GetQueueAttributes",
    "sqs:ListQueues",
    "sqs:ListQueueTags",
    "sns:GetTopicAttributes",
    "sns:GetSubscriptionAttributes",
    "sns:List*",
    "ses:Get*",
    "ses:List*",
    "ses:Describe*",
    "scheduler:Get*",
    "scheduler:List*",
    "kafka:Describe*",
    "kafka:List*",
    "kafka:Get*",
    "iam:Get*",
    "iam:List*",
    "s3:GetBucket*",
    "s3:GetLifecycleConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:ListAllMyBuckets",
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "autoscaling:Describe*",
    "sts:GetCallerIdentity",
    "acm:ListTagsForCertificate",
    "cloudwatch:Describe*",
    "fis:Get*",
    "fis:List*",
    "cloudwatch:GetDashboard",
    "cloudwatch:ListDashboards",
    "cloudwatch:ListTagsForResource",
    "backup:Describe*",
    "backup:Get*",
    "backup:List*",
    "budgets:ViewBudget",
    "budgets:ListTagsForResource",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
]
# The services the deploy role may hand an estate role to (iam:PassedToService): where the stacks pass roles
# (components/bootstrap/deploy_permissions.py AWS_PASSES).
PASSED_TO_SERVICES = passed_to_services()
# What the deploy role may do to a role of the estate that needs no boundary condition (reading,
# tagging, its trust and description, deleting it). Everything that changes what a role may do is
# allowed only on roles that carry the boundary (ROLE_CHANGES_UNDER_BOUNDARY, iam:AttachRolePolicy).
ROLE_UPKEEP = [
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRoleTags",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRole",
]
# Allowed only when the request's iam:PermissionsBoundary (the role's boundary, or the one being set)
# is the bootstrap boundary.
ROLE_CHANGES_UNDER_BOUNDARY = [
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
]
EKS_OIDC_PROVIDER_ACTIONS = [
    "iam:CreateOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
]
STATE_OBJECT_READS = ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"]
STATE_OBJECT_WRITES = ["s3:PutObject", "s3:DeleteObject"]


def trust_policy(provider_arn: str, subjects: Sequence[str]) -> str:
    """Allows AssumeRoleWithWebIdentity only for exactly these `sub` values and GitHub's AWS audience."""
    return policy_document(
        [
            {
                "Sid": "GithubRepository",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{GITHUB_HOST}:aud": AWS_AUDIENCE, f"{GITHUB_HOST}:sub": sorted(subjects)}},
            }
        ]
    )


def _check_subjects(repository: str, subjects: Sequence[str], what: str) -> None:
    if not _REPOSITORY.match(repository):
        raise ValueError(f"repository '{repository}' must be OWNER/REPO without wildcards")
    if not subjects:
        raise ValueError(f"{what} needs at least one subject")
    for subject in subjects:
        if not subject.startswith(f"repo:{repository}:") or "*" in subject or "?" in subject:
            raise ValueError(f"{what} subject '{subject}' must be repo:{repository}:<context>, without wildcards")


@dataclass
class GithubAwsRolesArgs:
    repository: str  # OWNER/REPO
    deploy_subjects: Sequence[str]  # the non-production environments' jobs
    preview_subjects: Sequence[str]
    deploy_role_name: str
    preview_role_name: str
    name_prefix: str  # the estate's resources (roles, buckets, users) start with this
    region: str
    tags: Mapping[str, str]
    state_bucket_arn: pulumi.Input[str] | None = None  # when the state lives in S3
    state_key_arn: pulumi.Input[str] | None = None
    secrets_key_arn: pulumi.Input[str] | None = None  # when secrets use awskms
    state_log_bucket_arn: pulumi.Input[str] | None = None  # the state bucket's access logs: out of CI's reach
    max_session_seconds: int = 3600
    # The managed policy every role the deploy role creates must carry as its permissions boundary;
    # named outside the estate's `<name_prefix>-*` names. Default: `<name_prefix>-permissions-boundary`.
    boundary_policy_name: str = ""
    # The production environment's jobs, and the role they alone assume (no role when empty).
    production_deploy_subjects: Sequence[str] = ()
    production_deploy_role_name: str = ""
    # The stacks only the production role deploys (patterns of stack names, `*` any characters): the deploy role may
    # neither read nor write their state, so a job outside the production environment cannot run them.
    production_stacks: Sequence[str] = ()

    def __post_init__(self) -> None:
        _check_subjects(self.repository, self.deploy_subjects, "deploy")
        _check_subjects(self.repository, self.preview_subjects, "preview")
        if set(self.deploy_subjects) & set(self.preview_subjects):
            raise ValueError("a subject may not assume both the deploy and the preview role")
        if self.production_deploy_subjects or self.production_deploy_role_name:
            _check_subjects(self.repository, self.production_deploy_subjects, "production deploy")
            if not self.production_deploy_role_name:
                raise ValueError("production_deploy_subjects need a production_deploy_role_name")
            if set(self.production_deploy_subjects) & {*self.deploy_subjects, *self.preview_subjects}:
                raise ValueError("a subject that assumes the production deploy role may assume no other CI role")
        if not 900 <= self.max_session_seconds <= 43200:
            raise ValueError(f"max_session_seconds must be 900-43200, got {self.max_session_seconds}")
        if not self.boundary_policy_name:
            self.boundary_policy_name = boundary_policy_name(self.name_prefix)
        if self.boundary_policy_name.startswith(f"{self.name_prefix}-") and self.boundary_policy_name != boundary_policy_name(
            self.name_prefix
        ):
            raise ValueError(f"boundary_policy_name '{self.boundary_policy_name}' must not look like an estate name ({self.name_prefix}-*)")

    @property
    def ci_role_names(self) -> list[str]:
        """Every CI role: none of them is within the deploy roles' reach."""
        return [n for n in (self.deploy_role_name, self.production_deploy_role_name, self.preview_role_name) if n]


def boundary_policy_name(name_prefix: str) -> str:
    return f"{name_prefix}-permissions-boundary"


def boundary_policy_arn(partition: str, account: str, name: str) -> str:
    """The ARN IAM gives a customer managed policy of this name on the root path."""
    return f"arn:{partition}:iam::{account}:policy/{name}"


class GithubAwsRoles(Component):
    boundary_arn: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str]
    production_deploy_role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: GithubAwsRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:bootstrap:GithubAwsRoles", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        tags = dict(args.tags)
        self.provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=GITHUB_ISSUER,
            client_id_lists=[AWS_AUDIENCE],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The provider's ARN is known from the account before it exists, so the trust policies are
        # plain text in a preview (and the policy pack can judge them); depends_on keeps the order.
        provider_arn = pulumi.Output.all(partition, account_id).apply(lambda a: f"arn:{a[0]}:iam::{a[1]}:oidc-provider/{GITHUB_HOST}")
        after_provider = pulumi.ResourceOptions(parent=self, depends_on=[self.provider])
        self.deploy_role = aws.iam.Role(
            f"{name}-deploy",
            name=args.deploy_role_name,
            description=f"GitHub Actions deploys from {args.repository}",
            assume_role_policy=provider_arn.apply(lambda arn: trust_policy(arn, args.deploy_subjects)),
            max_session_duration=args.max_session_seconds,
            tags={**tags, "purpose": "ci-deploy"},
            opts=after_provider,
        )
        # The production environment's own role, with the same policy: a job in a non-production environment (no
        # reviewer) cannot assume it. The non-production role keeps the resource and the name the single deploy
        # role had, so an upgrade replaces nothing and a running non-production pipeline keeps its role.
        self.production_deploy_role = (
            aws.iam.Role(
                f"{name}-deploy-production",
                name=args.production_deploy_role_name,
                description=f"GitHub Actions deploys of the production stacks from {args.repository}",
                assume_role_policy=provider_arn.apply(lambda arn: trust_policy(arn, args.production_deploy_subjects)),
                max_session_duration=args.max_session_seconds,
                tags={**tags, "purpose": "ci-deploy-production"},
                opts=after_provider,
            )
            if args.production_deploy_role_name
            else None
        )
        self.preview_role = aws.iam.Role(
            f"{name}-preview",
            name=args.preview_role_name,
            description=f"GitHub Actions previews of {args.repository} (read-only)",
            assume_role_policy=provider_arn.apply(lambda arn: trust_policy(arn, args.preview_subjects)),
            max_session_duration=args.max_session_seconds,
            tags={**tags, "purpose": "ci-preview"},
            opts=after_provider,
        )
        state = [args.state_bucket_arn, args.state_key_arn, args.secrets_key_arn, args.state_log_bucket_arn]
        values = pulumi.Output.all(partition, account_id, *[s if s is not None else "" for s in state])
        # The boundary every estate role carries: what the deploy role creates can never do more than this.
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=args.boundary_policy_name,
            description="Permissions boundary of every role the CI deploy role creates",
            policy=values.apply(lambda v: boundary_policy(v[0], v[1], args, *v[2:])),
            tags={**tags, "purpose": "permissions-boundary"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Known before the policy exists (IAM names a policy by account and name), so the deploy policy's
        # conditions and the other stacks' roles can name it in a preview.
        self.boundary_arn = pulumi.Output.all(partition, account_id).apply(
            lambda a: boundary_policy_arn(a[0], a[1], args.boundary_policy_name)
        )
        aws.iam.RolePolicy(
            f"{name}-deploy",
            role=self.deploy_role.id,
            policy=values.apply(lambda v: deploy_policy(v[0], v[1], args, *v[2:], state_out_of_reach=args.production_stacks)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if self.production_deploy_role is not None:
            aws.iam.RolePolicy(
                f"{name}-deploy-production",
                role=self.production_deploy_role.id,
                policy=values.apply(lambda v: deploy_policy(v[0], v[1], args, *v[2:])),
                opts=pulumi.ResourceOptions(parent=self),
            )
        aws.iam.RolePolicy(
            f"{name}-preview",
            role=self.preview_role.id,
            policy=values.apply(lambda v: preview_policy(*v[2:5])),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.deploy_role_arn = self.deploy_role.arn
        self.preview_role_arn = self.preview_role.arn
        self.production_deploy_role_arn = self.production_deploy_role.arn if self.production_deploy_role is not None else None
        self.register_outputs(
            {
                "deployRoleArn": self.deploy_role_arn,
                "productionDeployRoleArn": self.production_deploy_role_arn,
                "previewRoleArn": self.preview_role_arn,
                "boundaryArn": self.boundary_arn,
            }
        )


def _service_linked_roles_and_bootstrap_out_of_reach(partition: str, account: str, args: GithubAwsRolesArgs) -> list[dict]:
    """Statements the deploy policy and the boundary share: services may create their linked roles, and the CI
    identities can never change themselves, the trust they rest on, or the boundary."""
    iam = f"arn:{partition}:iam::{account}"
    return [
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": SERVICE_LINKED}},
        },
        {
            "Sid": "BootstrapOutOfReach",
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": [
                *[f"{iam}:role/{role}" for role in args.ci_role_names],
                f"{iam}:oidc-provider/{GITHUB_HOST}",
                boundary_policy_arn(partition, account, args.boundary_policy_name),
            ],
        },
    ]


def deploy_policy(
    partition: str,
    account: str,
    args: GithubAwsRolesArgs,
    bucket_arn: str,
    state_key: str,
    secrets_key: str,
    log_bucket_arn: str = "",
    state_out_of_reach: Sequence[str] = (),
) -> str:
    """The deploy roles' policy; `state_out_of_reach`: stacks (name patterns) whose state this role may not touch."""
    iam = f"arn:{partition}:iam::{account}"
    prefix = args.name_prefix
    roles = estate_role_arns(partition, account, prefix)
    boundary = boundary_policy_arn(partition, account, args.boundary_policy_name)
    attachable = [arn.replace("arn:aws:", f"arn:{partition}:", 1) for arn in ATTACHABLE_MANAGED_POLICIES]
    statements = [
        {
            "Sid": "EstateServices",
            "Effect": "Allow",
            "Action": DEPLOY_SERVICES + DEPLOY_READS + CONNECTION_USE,
            "Resource": "*",
        },
        {
            "Sid": "EstateBuckets",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": [f"arn:{partition}:s3:::{prefix}-*", f"arn:{partition}:s3:::{prefix}-*/*"],
        },
        *estate_named_statements(partition, account, prefix),
        # What any role it creates under the boundary may hold anyway (boundary_policy): said here so that the
        # boundary never reaches past the deploy role.
        {
            "Sid": "WhatEstateRolesMayDo",
            "Effect": "Allow",
            "Action": NODE_AGENT_CHANNELS + NODE_AGENT_ACTIONS + AUTOSCALER_ACTIONS + ["tag:GetResources"],
            "Resource": "*",
        },
        {
            "Sid": "EstateKafkaData",
            "Effect": "Allow",
            "Action": "kafka-cluster:*",
            "Resource": estate_kafka_arns(partition, account, prefix),
        },
        {"Sid": "NoRemoteExecutionOrSharing", "Effect": "Deny", "Action": NO_REMOTE_EXECUTION_OR_SHARING, "Resource": "*"},
        {
            "Sid": "OnlyTheEstatesLaunchTemplates",
            "Effect": "Deny",
            "Action": LAUNCH_TEMPLATE_CHANGES,
            "Resource": f"arn:{partition}:ec2:*:{account}:launch-template/*",
            "Condition": {"StringNotEquals": {f"aws:ResourceTag/{PROJECT_TAG}": prefix}},
        },
        {
            # Tags only when it creates the template (ec2:CreateAction), or on a template that is the estate's already.
            "Sid": "NoEstateTagOnOtherLaunchTemplates",
            "Effect": "Deny",
            "Action": "ec2:CreateTags",
            "Resource": f"arn:{partition}:ec2:*:{account}:launch-template/*",
            "Condition": {"StringNotEquals": {"ec2:CreateAction": "CreateLaunchTemplate", f"aws:ResourceTag/{PROJECT_TAG}": prefix}},
        },
        {"Sid": "EstateRolesUpkeep", "Effect": "Allow", "Action": ROLE_UPKEEP, "Resource": roles},
        {
            "Sid": "EstateRolesOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": ROLE_CHANGES_UNDER_BOUNDARY,
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {
            "Sid": "EstateRolesOnlyKnownManagedPolicies",
            "Effect": "Allow",
            "Action": "iam:AttachRolePolicy",
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary, "iam:PolicyARN": attachable}},
        },
        {
            "Sid": "PassEstateRolesToTheirServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": roles,
            # The services the stacks pass roles to, and those a workload passes an estate role to (which any role the
            # deploy role creates under the boundary may do anyway).
            "Condition": {"StringEquals": {"iam:PassedToService": sorted({*PASSED_TO_SERVICES, *WORKLOAD_PASSED_TO_SERVICES})}},
        },
        {
            "Sid": "EksOidcProviders",
            "Effect": "Allow",
            "Action": EKS_OIDC_PROVIDER_ACTIONS,
            "Resource": f"{iam}:oidc-provider/oidc.eks.{args.region}.amazonaws.com/id/*",
        },
        *_service_linked_roles_and_bootstrap_out_of_reach(partition, account, args),
        # Explicit, so that no other allow (now or added later) can open these paths to escalation.
        {
            "Sid": "NoRoleWithoutTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
            "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {"Sid": "BoundaryStays", "Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"},
        {
            "Sid": "NoOtherManagedPolicies",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"],
            "Resource": "*",
            "Condition": {"ArnNotEquals": {"iam:PolicyARN": attachable}},
        },
    ]
    if bucket_arn:
        statements += [
            {
                "Sid": "StateReadWrite",
                "Effect": "Allow",
                "Action": STATE_OBJECT_READS + STATE_OBJECT_WRITES,
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
            },
            {
                "Sid": "StateBucketUntouchable",
                "Effect": "Deny",
                "NotAction": STATE_OBJECT_READS + STATE_OBJECT_WRITES,
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
            },
        ]
        if state_out_of_reach:
            # The backend keeps a stack's checkpoint, history, backups and locks under .pulumi/<kind>/<project>/<stack>.
            statements.append(
                {
                    "Sid": "OtherEnvironmentsStateOutOfReach",
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "Resource": [f"{bucket_arn}/.pulumi/*/{stack}*" for stack in state_out_of_reach],
                }
            )
    if log_bucket_arn:
        statements.append(
            {"Sid": "StateLogsUntouchable", "Effect": "Deny", "Action": "s3:*", "Resource": [log_bucket_arn, f"{log_bucket_arn}/*"]}
        )
    keys = [k for k in (state_key, secrets_key) if k]
    if keys:
        statements += [
            {
                "Sid": "BootstrapKeysUse",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": keys,
            },
            {
                "Sid": "BootstrapKeysUseOnly",
                "Effect": "Deny",
                "NotAction": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": keys,
            },
        ]
    return policy_document(statements)


def estate_kafka_arns(partition: str, account: str, prefix: str) -> list[str]:
    """MSK's data-plane resources of the estate's clusters (named `<prefix>-*`): the cluster, its topics, groups and transactional ids."""
    return [f"arn:{partition}:kafka:*:{account}:{kind}/{prefix}-*" for kind in ("cluster", "topic", "group", "transactional-id")]


def estate_named_statements(partition: str, account: str, prefix: str) -> list[dict]:
    """Secrets Manager, SSM and CodeBuild on the estate's own names only (ESTATE_NAMED_RESOURCES): another team's
    secret, parameter or build project in the account is out of reach."""
    return [
        {
            "Sid": f"EstateNamed{service.capitalize()}",
            "Effect": "Allow",
            "Action": f"{service}:*",
            "Resource": estate_named_arns(service, partition, account, prefix),
        }
        for service in sorted(ESTATE_NAMED_RESOURCES)
    ]


def estate_role_arns(partition: str, account: str, prefix: str) -> list[str]:
    """The ARNs of the estate's roles under every path they may live on (components/aws/iam.py ROLE_PATHS)."""
    return [f"arn:{partition}:iam::{account}:role{path}{prefix}-*" for path in ROLE_PATHS]


# The services the estate's roles use (their inline policies, the AWS-managed policies they carry and
# the add-ons' service accounts). The boundary grants nothing by itself: a role's rights are what its
# own policies allow and this boundary also allows.
# S3, MSK's data plane, Secrets Manager and SSM parameters are granted on the estate's names only (boundary_policy);
# autoscaling only as far as the cluster autoscaler goes, the rest of SSM only as far as the node's agent goes. The
# deploy role holds everything the boundary allows (a role it creates under the boundary can do no more than the
# deploy role itself): tests/components/bootstrap/test_deploy_escalation.py.
BOUNDARY_SERVICES = [
    "backup:*",
    "backup-storage:*",
    "cloudwatch:*",
    "ec2:*",
    "ecr:*",
    "eks:*",
    "elasticloadbalancing:*",
    "kms:*",
    "logs:*",
    "rds:*",
    "scheduler:*",
    "ses:*",
    "sns:*",
    "sqs:*",
    *NODE_AGENT_CHANNELS,
    *NODE_AGENT_ACTIONS,
    *AUTOSCALER_ACTIONS,
    "tag:GetResources",
]


# The services a workload hands an estate role to: the application gives EventBridge Scheduler the
# scheduler's role (components/aws/app_identity.py, HandSchedulerItsRole).
WORKLOAD_PASSED_TO_SERVICES = ["scheduler.amazonaws.com"]


def boundary_policy(
    partition: str, account: str, args: GithubAwsRolesArgs, bucket_arn: str, state_key: str, secrets_key: str, log_bucket_arn: str = ""
) -> str:
    """The permissions boundary of every estate role: the services the workloads use, never IAM beyond
    passing and reading roles, never the bootstrap's state, keys or identities."""
    roles = estate_role_arns(partition, account, args.name_prefix)
    statements: list[dict] = [
        {"Sid": "WorkloadServices", "Effect": "Allow", "Action": BOUNDARY_SERVICES, "Resource": "*"},
        {
            "Sid": "EstateBuckets",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": [f"arn:{partition}:s3:::{args.name_prefix}-*", f"arn:{partition}:s3:::{args.name_prefix}-*/*"],
        },
        {
            "Sid": "EstateKafkaData",
            "Effect": "Allow",
            "Action": "kafka-cluster:*",
            "Resource": estate_kafka_arns(partition, account, args.name_prefix),
        },
        # The estate's secrets and parameters (the application reads its app_env secret); no role needs a build.
        *[s for s in estate_named_statements(partition, account, args.name_prefix) if s["Action"] != "codebuild:*"],
        {"Sid": "NoRemoteExecutionOrSharing", "Effect": "Deny", "Action": NO_REMOTE_EXECUTION_OR_SHARING, "Resource": "*"},
        {"Sid": "ReadEstateRoles", "Effect": "Allow", "Action": "iam:GetRole", "Resource": roles},
        {
            "Sid": "PassEstateRolesToWorkloadServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": roles,
            "Condition": {"StringEquals": {"iam:PassedToService": WORKLOAD_PASSED_TO_SERVICES}},
        },
        *_service_linked_roles_and_bootstrap_out_of_reach(partition, account, args),
    ]
    protected = [arn for arn in (bucket_arn, log_bucket_arn) if arn]
    if protected:
        statements.append(
            {
                "Sid": "StateOutOfReach",
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": [*protected, *[f"{arn}/*" for arn in protected]],
            }
        )
    keys = [k for k in (state_key, secrets_key) if k]
    if keys:
        statements.append({"Sid": "BootstrapKeysOutOfReach", "Effect": "Deny", "Action": "kms:*", "Resource": keys})
    return policy_document(statements)


def preview_policy(bucket_arn: str, state_key: str, secrets_key: str) -> str:
    statements = [
        {"Sid": "ReadTheEstate", "Effect": "Allow", "Action": PREVIEW_READS, "Resource": "*"},
        {"Sid": "NoSecretValues", "Effect": "Deny", "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter*"], "Resource": "*"},
    ]
    if bucket_arn:
        statements += [
            {"Sid": "StateRead", "Effect": "Allow", "Action": STATE_OBJECT_READS, "Resource": [bucket_arn, f"{bucket_arn}/*"]},
            {"Sid": "StateLocks", "Effect": "Allow", "Action": STATE_OBJECT_WRITES, "Resource": f"{bucket_arn}/.pulumi/locks/*"},
        ]
    if state_key:
        statements.append(
            {
                "Sid": "StateKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": state_key,
            }
        )
    if secrets_key:
        statements.append(
            {"Sid": "SecretsDecrypt", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": secrets_key}
        )
    return policy_document(statements)


# ---------------------------------------------------------------- GCP

# The narrowest predefined role for each type the GCP stacks create (components/bootstrap/deploy_permissions.py).
# No service account role on the project: a project-level grant reaches every account there, and Google's IAM
# conditions cannot narrow it to some. Bootstrap creates the accounts the stacks use (GCP_ESTATE_ACCOUNTS) and
# grants the deploy account its one role on each of them alone; NO_CREDENTIALS_FROM_ACCOUNTS denies it every way
# of minting credentials of any account there besides.
DEPLOY_PROJECT_ROLES = gcp_project_roles()
# Denied to the deploy account on every deploy project by an IAM deny policy, whatever an allow policy says
# (https://cloud.google.com/iam/docs/deny-overview): minting keys or tokens of any service account there.
# No stack needs them: workloads get tokens through Workload Identity, nodes from the metadata server.
NO_CREDENTIALS_FROM_ACCOUNTS = [
    "iam.googleapis.com/serviceAccountKeys.create",
    "iam.googleapis.com/serviceAccountKeys.upload",
    "iam.googleapis.com/serviceAccounts.getAccessToken",
    "iam.googleapis.com/serviceAccounts.getOpenIdToken",
    "iam.googleapis.com/serviceAccounts.implicitDelegation",
    "iam.googleapis.com/serviceAccounts.signBlob",
    "iam.googleapis.com/serviceAccounts.signJwt",
]
PROJECT_IAM_ADMIN = "roles/resourcemanager.projectIamAdmin"
# The only roles the deploy account may grant on a deploy project (its Project IAM Admin binding carries an
# iam.googleapis.com/modifiedGrantsByRole condition): what the GCP stacks grant at project level.
GRANTABLE_PROJECT_ROLES = sorted({*NODE_ROLES, REPLICATION_METRIC_WRITER})
PREVIEW_PROJECT_ROLES = [
    "roles/compute.viewer",
    "roles/container.viewer",
    "roles/cloudsql.viewer",
    "roles/redis.viewer",
    "roles/artifactregistry.reader",
    "roles/cloudkms.viewer",
    "roles/secretmanager.viewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.securityReviewer",
    "roles/serviceusage.serviceUsageViewer",
    "roles/binaryauthorization.policyViewer",
]
ATTRIBUTE_MAPPING = {
    "google.subject": "assertion.sub",
    "attribute.repository": "assertion.repository",
    "attribute.repository_owner": "assertion.repository_owner",
    "attribute.ref": "assertion.ref",
    "attribute.environment": "assertion.environment",
}


@dataclass
class GithubGcpIdentityArgs:
    project: str  # where the pool and the service accounts live
    repository: str
    deploy_subjects: Sequence[str]
    preview_subjects: Sequence[str]
    deploy_projects: Sequence[str]  # projects the deploy account manages and the preview account reads
    pool_id: str = "github"
    provider_id: str = "github-actions"
    account_prefix: str = "crm"

    def __post_init__(self) -> None:
        _check_subjects(self.repository, self.deploy_subjects, "deploy")
        _check_subjects(self.repository, self.preview_subjects, "preview")
        # Google's account ids: 6-30 characters of [a-z0-9-], starting with a letter.
        for key in GCP_ESTATE_ACCOUNTS:
            account_id = estate_account_id(self.account_prefix, key)
            if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account_id):
                raise ValueError(
                    f"account_prefix '{self.account_prefix}' makes the service account id '{account_id}', not 6-30 of [a-z0-9-]"
                )
        # The pool's id takes a suffix of SUFFIX_LENGTH + 1 characters (components/naming.py) within Google's 32.
        for value, longest in ((self.pool_id, 32 - SUFFIX_LENGTH - 1), (self.provider_id, 32)):
            if not re.fullmatch(rf"[a-z0-9-]{{4,{longest}}}", value) or value.startswith("gcp-"):
                raise ValueError(f"pool and provider ids are 4-{longest} of [a-z0-9-] and may not start with gcp-; got '{value}'")


class GithubGcpIdentity(Component):
    """Also creates, in each deploy project, the service accounts the GCP stacks use (GCP_ESTATE_ACCOUNTS), and
    grants the deploy account its role on each of them: `estate_accounts` maps project -> key -> account."""

    deploy_email: pulumi.Output[str]
    deploy_member: pulumi.Output[str]
    estate_account_outputs: dict[str, dict[str, dict[str, str]]]
    preview_email: pulumi.Output[str]
    preview_member: pulumi.Output[str]
    provider_name: pulumi.Output[str]

    def __init__(self, name: str, args: GithubGcpIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:bootstrap:GithubGcpIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # A deleted pool keeps its id for 30 days: the id carries a suffix drawn once per incarnation of the stack,
        # and a pool created before the suffix keeps its recorded id (components/naming.py).
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=args.project,
            workload_identity_pool_id=suffixed(args.pool_id, f"{name}-pool", self),
            display_name="GitHub Actions",
            description=f"GitHub Actions of {args.repository}",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=keep_existing_name("workloadIdentityPoolId")),
        )
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-provider",
            project=args.project,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=args.provider_id,
            display_name="GitHub OIDC",
            attribute_mapping=ATTRIBUTE_MAPPING,
            attribute_condition=repository_condition(args.repository),
            oidc={"issuer_uri": GITHUB_ISSUER},
            opts=child,
        )
        self.deploy_account = gcp.serviceaccount.Account(
            f"{name}-deploy",
            project=args.project,
            account_id=f"{args.account_prefix}-ci-deploy",
            display_name=f"GitHub Actions deploys from {args.repository}",
            opts=child,
        )
        self.preview_account = gcp.serviceaccount.Account(
            f"{name}-preview",
            project=args.project,
            account_id=f"{args.account_prefix}-ci-preview",
            display_name=f"GitHub Actions previews of {args.repository}",
            opts=child,
        )
        self.deploy_member = pulumi.Output.concat("serviceAccount:", self.deploy_account.email)
        self.preview_member = pulumi.Output.concat("serviceAccount:", self.preview_account.email)
        for account, subjects, label in (
            (self.deploy_account, args.deploy_subjects, "deploy"),
            (self.preview_account, args.preview_subjects, "preview"),
        ):
            for i, subject in enumerate(sorted(subjects)):
                gcp.serviceaccount.IAMMember(
                    f"{name}-{label}-wi-{i}",
                    service_account_id=account.name,
                    role="roles/iam.workloadIdentityUser",
                    member=self.pool.name.apply(lambda pool, s=subject: f"principal://iam.googleapis.com/{pool}/subject/{s}"),
                    opts=child,
                )
        self.estate_accounts: dict[str, dict[str, gcp.serviceaccount.Account]] = {}
        for project in args.deploy_projects:
            self.estate_accounts[project] = {}
            for key, estate in GCP_ESTATE_ACCOUNTS.items():
                account = gcp.serviceaccount.Account(
                    f"{name}-{project}-{estate.suffix}",
                    project=project,
                    account_id=estate_account_id(args.account_prefix, key),
                    display_name=estate.display_name,
                    description=f"Used by the GCP stacks; the CI deploy account {estate.why}",
                    opts=child,
                )
                self.estate_accounts[project][key] = account
                # On this account alone: a project-level grant would reach every account of the project.
                gcp.serviceaccount.IAMMember(
                    f"{name}-deploy-{project}-{estate.suffix}",
                    service_account_id=account.name,
                    role=estate.deployer_role,
                    member=self.deploy_member,
                    opts=child,
                )
            for role in DEPLOY_PROJECT_ROLES:
                gcp.projects.IAMMember(
                    f"{name}-deploy-{project}-{role.split('/')[-1]}",
                    project=project,
                    role=role,
                    member=self.deploy_member,
                    condition=grantable_roles_condition() if role == PROJECT_IAM_ADMIN else None,
                    opts=child,
                )
            gcp.iam.DenyPolicy(
                f"{name}-deploy-{project}-no-credentials",
                parent=f"cloudresourcemanager.googleapis.com%2Fprojects%2F{project}",
                name="crm-ci-deploy-no-credentials",
                display_name="CI deploys mint no service account credentials",
                rules=[
                    {
                        "description": "The deploy account may not create keys for, or tokens of, any service account here",
                        "deny_rule": {
                            "denied_principals": [deny_principal(self.deploy_account.email)],
                            "denied_permissions": NO_CREDENTIALS_FROM_ACCOUNTS,
                        },
                    }
                ],
                opts=child,
            )
            for role in PREVIEW_PROJECT_ROLES:
                gcp.projects.IAMMember(
                    f"{name}-preview-{project}-{role.split('/')[-1]}", project=project, role=role, member=self.preview_member, opts=child
                )
        self.provider_name = self.provider.name
        # What the gcp-* stacks read (project -> key -> email). The email is known before the account exists (Google
        # names a user-managed account <id>@<project>.iam.gserviceaccount.com), so their previews name it too.
        self.estate_account_outputs = {
            project: {key: {"email": estate_account_email(project, estate_account_id(args.account_prefix, key))} for key in accounts}
            for project, accounts in self.estate_accounts.items()
        }
        self.deploy_email = self.deploy_account.email
        self.preview_email = self.preview_account.email
        self.register_outputs(
            {
                "providerName": self.provider_name,
                "deployEmail": self.deploy_email,
                "previewEmail": self.preview_email,
                "deployMember": self.deploy_member,
                "previewMember": self.preview_member,
                "estateAccounts": self.estate_account_outputs,
            }
        )


def estate_account_email(project: str, account_id: str) -> str:
    """The email Google gives a user-managed service account (https://cloud.google.com/iam/docs/service-account-overview)."""
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def deny_principal(email: pulumi.Input[str]) -> pulumi.Output[str]:
    """A service account as an IAM deny policy names it (https://cloud.google.com/iam/docs/principal-identifiers)."""
    return pulumi.Output.concat("principal://iam.googleapis.com/projects/-/serviceAccounts/", email)


def grantable_roles_condition() -> gcp.projects.IAMMemberConditionArgs:
    """Limits a Project IAM Admin binding to granting and revoking GRANTABLE_PROJECT_ROLES
    (https://cloud.google.com/iam/docs/setting-limits-on-granting-roles): it cannot make itself Owner."""
    roles = ", ".join(f"'{role}'" for role in GRANTABLE_PROJECT_ROLES)
    return gcp.projects.IAMMemberConditionArgs(
        title="estate-grants-only",
        description="May grant and revoke only the roles the GCP stacks grant at project level",
        expression=f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{roles}])",
    )


def repository_condition(repository: str) -> str:
    """The CEL attribute condition admitting only this repository's tokens."""
    if not _REPOSITORY.match(repository):
        raise ValueError(f"repository '{repository}' must be OWNER/REPO without wildcards")
    return f"assertion.repository == '{repository}'"
