"""Scheduled tasks in AWS mode: EventBridge Scheduler puts messages on an SQS queue the app listens to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import estate_role, policy_document
from components.base import Component

MAX_RECEIVES = 5


@dataclass
class ScheduledTasksArgs:
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    visibility_timeout_seconds: int = 60
    retention_days: int = 4
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)


class ScheduledTasks(Component):
    dead_letter_queue_name: pulumi.Output[str]
    group_name: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ScheduledTasksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:ScheduledTasks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.group = aws.scheduler.ScheduleGroup(f"{name}-group", name=f"{name}", tags=tags, opts=child)
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{name}-dlq",
            kms_master_key_id=args.kms_key_arn,
            message_retention_seconds=14 * 86400,
            tags=tags,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=f"{name}-tasks",
            kms_master_key_id=args.kms_key_arn,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=args.retention_days * 86400,
            receive_wait_time_seconds=20,
            redrive_policy=self.dead_letters.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES})
            ),
            tags=tags,
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        self.role = estate_role(
            f"{name}-scheduler",
            assume_role_policy=pulumi.Output.all(account, self.group.arn).apply(lambda a: scheduler_trust_policy(a[0], a[1])),
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            parent=self,
        )
        aws.iam.RolePolicy(
            f"{name}-scheduler",
            role=self.role.id,
            policy=pulumi.Output.all(self.queue.arn, args.kms_key_arn).apply(lambda a: scheduler_policy(a[0], a[1])),
            opts=child,
        )
        self.group_name = self.group.name
        self.group_arn = self.group.arn
        self.queue_arn = self.queue.arn
        self.queue_url = self.queue.url
        self.role_arn = self.role.arn
        self.dead_letter_queue_name = self.dead_letters.name  # the QueueName dimension of its depth metric
        self.register_outputs(
            {
                "groupName": self.group_name,
                "queueArn": self.queue_arn,
                "queueUrl": self.queue_url,
                "roleArn": self.role_arn,
                "deadLetterQueueName": self.dead_letter_queue_name,
            }
        )


def scheduler_trust_policy(account: str, group_arn: str) -> str:
    """EventBridge Scheduler may assume the role only for schedules of this group (the Scheduler guide's execution-role conditions)."""
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account, "aws:SourceArn": group_arn}},
            }
        ]
    )


def scheduler_policy(queue_arn: str, kms_key_arn: str) -> str:
    """The scheduler may send to this one queue, and use the key that encrypts it, nothing else."""
    return policy_document(
        [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
            {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": kms_key_arn},
        ]
    )
