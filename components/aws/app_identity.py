"""The application's IAM role on EKS (IRSA): exactly what the app does in AWS, on exactly its resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.eks import irsa_role
from components.aws.iam import policy_document
from components.aws.mail import SEND_ACTIONS
from components.base import Component

# What the application does on MSK: describe, read and write its topics and commit its groups' offsets.
# No CreateTopic, DeleteTopic, AlterTopic or topic-configuration changes: the platform creates topics (components/aws/msk.py).
KAFKA_ACTIONS = (
    "kafka-cluster:Connect",
    "kafka-cluster:DescribeCluster",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:ReadData",
    "kafka-cluster:WriteData",
    "kafka-cluster:AlterGroup",
    "kafka-cluster:DescribeGroup",
)
APP_TOPIC_PREFIX, APP_GROUP_PREFIX = "crm.", "crm"


@dataclass
class ApplicationRoleArgs:
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    namespace: str
    service_account: str
    app_env_secret_arn: pulumi.Input[str]
    secrets_kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    ses_identity_arn: pulumi.Input[str] | None = None
    ses_configuration_set_arn: pulumi.Input[str] | None = None
    queue_arn: pulumi.Input[str] | None = None
    queue_kms_key_arn: pulumi.Input[str] | None = None
    schedule_group_name: pulumi.Input[str] | None = None
    scheduler_role_arn: pulumi.Input[str] | None = None
    kafka_cluster_arn: pulumi.Input[str] | None = None
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)


class ApplicationRole(Component):
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ApplicationRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:ApplicationRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = irsa_role(
            f"{name}-role",
            args.oidc_provider_arn,
            args.oidc_provider_url,
            args.namespace,
            args.service_account,
            args.tags,
            self,
            args.permissions_boundary,
        )
        account_region = pulumi.Output.all(
            aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id,
            aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region,
        )
        values = pulumi.Output.all(
            account_region,
            args.app_env_secret_arn,
            args.secrets_kms_key_arn,
            args.ses_identity_arn,
            args.ses_configuration_set_arn,
            args.queue_arn,
            args.queue_kms_key_arn,
            args.schedule_group_name,
            args.scheduler_role_arn,
            args.kafka_cluster_arn,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=values.apply(lambda v: application_policy(*v[0], *v[1:])), opts=child
        )
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role_arn})


def application_policy(
    account: str,
    region: str,
    secret_arn: str,
    secrets_key_arn: str,
    ses_identity_arn,
    ses_config_set_arn,
    queue_arn,
    queue_key_arn,
    schedule_group,
    scheduler_role_arn,
    kafka_cluster_arn,
) -> str:
    statements = [
        {"Sid": "ReadOwnEnvironment", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
        {"Sid": "DecryptOwnEnvironment", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": secrets_key_arn},
    ]
    if ses_identity_arn:
        statements.append(
            {"Sid": "SendMail", "Effect": "Allow", "Action": SEND_ACTIONS, "Resource": [ses_identity_arn, ses_config_set_arn]}
        )
    if queue_arn:
        statements.append(
            {
                "Sid": "UseTaskQueue",
                "Effect": "Allow",
                "Resource": queue_arn,
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                    "sqs:SendMessage",
                ],
            }
        )
        statements.append(
            {"Sid": "UseTaskQueueKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": queue_key_arn}
        )
    if schedule_group:
        statements.append(
            {
                "Sid": "ManageSchedules",
                "Effect": "Allow",
                "Action": ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"],
                "Resource": f"arn:aws:scheduler:{region}:{account}:schedule/{schedule_group}/*",
            }
        )
        statements.append(
            {
                "Sid": "HandSchedulerItsRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": scheduler_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            }
        )
    if kafka_cluster_arn:
        cluster_path = kafka_cluster_arn.split(":cluster/", 1)[-1]
        statements.append(
            {
                "Sid": "UseKafka",
                "Effect": "Allow",
                "Action": list(KAFKA_ACTIONS),
                "Resource": [
                    kafka_cluster_arn,
                    f"arn:aws:kafka:{region}:{account}:topic/{cluster_path}/{APP_TOPIC_PREFIX}*",
                    f"arn:aws:kafka:{region}:{account}:group/{cluster_path}/{APP_GROUP_PREFIX}*",
                ],
            }
        )
    return policy_document(statements)
