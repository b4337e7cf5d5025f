"""CI identities without stored keys: GitHub Actions' OIDC tokens, trusted for one repository only.

AWS: the GitHub OIDC provider and two roles. The preview role trusts pull requests and pushes to
the preview branches (`sub` = `repo:OWNER/REPO:pull_request` / `...:ref:refs/heads/<branch>`) and
may read; the deploy role trusts only jobs running in the protected GitHub environments
(`sub` = `repo:OWNER/REPO:environment:<name>`). Both require `aud` = `sts.amazonaws.com`, with
StringEquals: no wildcard anywhere.

GCP: a Workload Identity pool and OIDC provider whose attribute condition admits only this
repository's tokens, and a deploy and a preview service account, each impersonable only by the
same subjects as its AWS counterpart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws.iam import policy_document
from components.base import Component

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_HOST = "token.actions.githubusercontent.com"
AWS_AUDIENCE = "sts.amazonaws.com"
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")

# The services the aws-* stacks (and gcp-dr's half of the VPN) manage. Enumerated, never "*".
DEPLOY_SERVICES = [
    "ec2:*",
    "eks:*",
    "rds:*",
    "elasticache:*",
    "ecr:*",
    "elasticloadbalancing:*",
    "secretsmanager:*",
    "ssm:*",
    "logs:*",
    "sqs:*",
    "sns:*",
    "ses:*",
    "scheduler:*",
    "kafka:*",
    "kms:*",
    # certificates, alarms and dashboards, backup copies and restore tests, cost budgets
    "acm:*",
    "cloudwatch:*",
    "backup:*",
    "backup-storage:*",
    "budgets:*",
    # the game day's fault-injection experiment templates (creating one passes its role: iam:PassRole on the estate's roles)
    "fis:*",
]
# MSK's topic API (aws.msk.Topic) authorises each call against the cluster's Kafka permissions as well as kafka:*.
MSK_TOPIC_ADMIN = [
    "kafka-cluster:Connect",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:CreateTopic",
    "kafka-cluster:AlterTopic",
    "kafka-cluster:DeleteTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:AlterTopicDynamicConfiguration",
]
DEPLOY_READS = ["acm:DescribeCertificate", "acm:ListCertificates", "autoscaling:Describe*", "sts:GetCallerIdentity", "s3:ListAllMyBuckets"]
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
    deploy_subjects: Sequence[str]
    preview_subjects: Sequence[str]
    deploy_role_name: str
    preview_role_name: str
    name_prefix: str  # the estate's resources (roles, buckets, users) start with this
    region: str
    tags: Mapping[str, str]
    state_bucket_arn: Optional[pulumi.Input[str]] = None  # when the state lives in S3
    state_key_arn: Optional[pulumi.Input[str]] = None
    secrets_key_arn: Optional[pulumi.Input[str]] = None  # when secrets use awskms
    state_log_bucket_arn: Optional[pulumi.Input[str]] = None  # the state bucket's access logs: out of CI's reach
    max_session_seconds: int = 3600

    def __post_init__(self) -> None:
        _check_subjects(self.repository, self.deploy_subjects, "deploy")
        _check_subjects(self.repository, self.preview_subjects, "preview")
        if set(self.deploy_subjects) & set(self.preview_subjects):
            raise ValueError("a subject may not assume both the deploy and the preview role")
        if not 900 <= self.max_session_seconds <= 43200:
            raise ValueError(f"max_session_seconds must be 900-43200, got {self.max_session_seconds}")


class GithubAwsRoles(Component):
    def __init__(self, name: str, args: GithubAwsRolesArgs, opts: Optional[pulumi.ResourceOptions] = None):
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
        aws.iam.RolePolicy(
            f"{name}-deploy",
            role=self.deploy_role.id,
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
        self.register_outputs({"deployRoleArn": self.deploy_role_arn, "previewRoleArn": self.preview_role_arn})


def deploy_policy(
    partition: str, account: str, args: GithubAwsRolesArgs, bucket_arn: str, state_key: str, secrets_key: str, log_bucket_arn: str = ""
) -> str:
    iam = f"arn:{partition}:iam::{account}"
    prefix = args.name_prefix
    statements = [
        {"Sid": "EstateServices", "Effect": "Allow", "Action": DEPLOY_SERVICES + DEPLOY_READS + MSK_TOPIC_ADMIN, "Resource": "*"},
        {
            "Sid": "EstateBuckets",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": [f"arn:{partition}:s3:::{prefix}-*", f"arn:{partition}:s3:::{prefix}-*/*"],
        },
        {
            "Sid": "EstateIdentities",
            "Effect": "Allow",
            "Action": "iam:*",
            "Resource": [
                f"{iam}:role/{prefix}-*",
                f"{iam}:policy/{prefix}-*",
                f"{iam}:instance-profile/{prefix}-*",
                f"{iam}:user/service/{prefix}-*",
                f"{iam}:oidc-provider/oidc.eks.{args.region}.amazonaws.com/*",
            ],
        },
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": SERVICE_LINKED}},
        },
        # The CI identities can never change themselves or the trust they rest on.
        {
            "Sid": "BootstrapOutOfReach",
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": [
                f"{iam}:role/{args.deploy_role_name}",
                f"{iam}:role/{args.preview_role_name}",
                f"{iam}:oidc-provider/{GITHUB_HOST}",
            ],
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

DEPLOY_PROJECT_ROLES = [
    "roles/compute.networkAdmin",
    "roles/compute.securityAdmin",
    "roles/container.admin",
    "roles/cloudsql.admin",
    "roles/redis.admin",
    "roles/artifactregistry.admin",
    "roles/secretmanager.admin",
    "roles/cloudkms.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/resourcemanager.projectIamAdmin",
    "roles/servicenetworking.networksAdmin",
    "roles/serviceusage.serviceUsageConsumer",
    "roles/monitoring.editor",
    "roles/certificatemanager.editor",
    "roles/binaryauthorization.policyEditor",
]
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
        for value in (self.pool_id, self.provider_id):
            if not re.fullmatch(r"[a-z0-9-]{4,32}", value) or value.startswith("gcp-"):
                raise ValueError(f"pool and provider ids are 4-32 of [a-z0-9-] and may not start with gcp-; got '{value}'")


class GithubGcpIdentity(Component):
    def __init__(self, name: str, args: GithubGcpIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:bootstrap:GithubGcpIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=args.project,
            workload_identity_pool_id=args.pool_id,
            display_name="GitHub Actions",
            description=f"GitHub Actions of {args.repository}",
            opts=child,
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
        for project in args.deploy_projects:
            for role in DEPLOY_PROJECT_ROLES:
                gcp.projects.IAMMember(
                    f"{name}-deploy-{project}-{role.split('/')[-1]}", project=project, role=role, member=self.deploy_member, opts=child
                )
            for role in PREVIEW_PROJECT_ROLES:
                gcp.projects.IAMMember(
                    f"{name}-preview-{project}-{role.split('/')[-1]}", project=project, role=role, member=self.preview_member, opts=child
                )
        self.provider_name = self.provider.name
        self.deploy_email = self.deploy_account.email
        self.preview_email = self.preview_account.email
        self.register_outputs({"providerName": self.provider_name, "deployEmail": self.deploy_email, "previewEmail": self.preview_email})


def repository_condition(repository: str) -> str:
    """The CEL attribute condition admitting only this repository's tokens."""
    if not _REPOSITORY.match(repository):
        raise ValueError(f"repository '{repository}' must be OWNER/REPO without wildcards")
    return f"assertion.repository == '{repository}'"
