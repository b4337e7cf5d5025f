"""SES mail for both clouds: a DKIM-signed domain, a TLS-only configuration set whose events reach an
encrypted SNS topic, HTTPS webhooks into each cloud, and a sending role the GCP pods assume with their
Google identity. Neither cloud holds an AWS access key: EKS pods send through their IRSA role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import estate_role, policy_document
from components.base import Component

EVENT_TYPES = ["BOUNCE", "COMPLAINT", "DELIVERY", "REJECT"]
WEBHOOK_PATH = "/api/webhooks/ses"
SEND_ACTIONS = ["ses:SendEmail", "ses:SendRawEmail"]


@dataclass
class MailDeliveryArgs:
    domain: str
    webhook_hosts: Sequence[pulumi.Input[str]]  # pass a DNS record's name so each subscription waits for its record
    kms_key_arn: pulumi.Input[str]
    region: str
    tags: Mapping[str, str]


class MailDelivery(Component):
    configuration_set_arn: pulumi.Output[str]
    configuration_set_name: pulumi.Output[str]
    dkim_tokens: pulumi.Output[Sequence[str]]
    identity_arn: pulumi.Output[str]
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MailDeliveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:MailDelivery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.identity = aws.ses.DomainIdentity(f"{name}-domain", domain=args.domain, opts=child)
        self.dkim = aws.ses.DomainDkim(f"{name}-dkim", domain=self.identity.domain, opts=child)
        self.configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-events",
            configuration_set_name=f"{name}-events",
            delivery_options={"tls_policy": "REQUIRE"},
            reputation_options={"reputation_metrics_enabled": True},
            tags=tags,
            opts=child,
        )
        self.topic = aws.sns.Topic(f"{name}-events", name=f"{name}-ses-events", kms_master_key_id=args.kms_key_arn, tags=tags, opts=child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-events",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account).apply(
                lambda a: policy_document(
                    [
                        {
                            "Sid": "SesPublishes",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": a[0],
                            "Condition": {"StringEquals": {"AWS:SourceAccount": a[1]}},
                        }
                    ]
                )
            ),
            opts=child,
        )
        aws.sesv2.ConfigurationSetEventDestination(
            f"{name}-to-sns",
            configuration_set_name=self.configuration_set.configuration_set_name,
            event_destination_name="sns",
            event_destination={"enabled": True, "matching_event_types": EVENT_TYPES, "sns_destination": {"topic_arn": self.topic.arn}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic_policy]),
        )
        # The application confirms each subscription itself (SubscribeURL); docs/ingress.md states the contract.
        self.webhooks = [
            aws.sns.TopicSubscription(
                f"{name}-webhook-{i}",
                topic=self.topic.arn,
                protocol="https",
                endpoint=webhook_endpoint(host),
                endpoint_auto_confirms=False,
                raw_message_delivery=False,
                opts=child,
            )
            for i, host in enumerate(args.webhook_hosts)
        ]
        self.topic_arn = self.topic.arn

        self.identity_arn = self.identity.arn
        self.configuration_set_name = self.configuration_set.configuration_set_name
        self.configuration_set_arn = self.configuration_set.arn
        self.dkim_tokens = self.dkim.dkim_tokens
        self.register_outputs(
            {
                "configurationSet": self.configuration_set_name,
                "topicArn": self.topic_arn,
                "configurationSetArn": self.configuration_set_arn,
                "dkimTokens": self.dkim_tokens,
                "identityArn": self.identity_arn,
            }
        )


def webhook_endpoint(host: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.format("https://{0}{1}", host, WEBHOOK_PATH)


@dataclass
class MailWebhookArgs:
    topic_arn: pulumi.Input[str]
    host: pulumi.Input[str]  # pass the DNS record's name (and anything else to wait for) so SNS posts only once it resolves


class MailWebhook(Component):
    """One HTTPS subscription to the SES event topic from another stack (gcp-dr subscribes its own host).

    Pass an AWS provider for the topic's account and region in `opts.providers`.
    """

    def __init__(self, name: str, args: MailWebhookArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:MailWebhook", name, None, opts)
        self.subscription = aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=args.topic_arn,
            protocol="https",
            endpoint=webhook_endpoint(args.host),
            endpoint_auto_confirms=False,
            raw_message_delivery=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.subscription_arn = self.subscription.arn
        self.register_outputs({"subscriptionArn": self.subscription_arn})


# The audience the GCP pods request their Google ID token for; the role admits no other.
GOOGLE_TOKEN_AUDIENCE = "sts.amazonaws.com"


@dataclass
class GoogleMailSenderArgs:
    google_account_id: pulumi.Input[str]  # the Google service account's numeric unique ID (the token's `sub` and `azp`)
    identity_arn: pulumi.Input[str]
    configuration_set_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)


class GoogleMailSender(Component):
    """An IAM role that one Google service account assumes with its Google-signed ID token
    (AssumeRoleWithWebIdentity against accounts.google.com), allowed only to send mail.

    The GCP pods get short-lived AWS credentials from it instead of a long-lived access key. Pass an
    AWS provider for the SES account in `opts.providers`.
    """

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: GoogleMailSenderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:GoogleMailSender", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = estate_role(
            f"{name}-role",
            name=f"{name}-ses",
            path="/service/",
            description="Sends SES mail for the GCP application pods",
            assume_role_policy=pulumi.Output.from_input(args.google_account_id).apply(google_trust_policy),
            max_session_duration=3600,
            permissions_boundary=args.permissions_boundary,
            tags=args.tags,
            parent=self,
        )
        aws.iam.RolePolicy(
            f"{name}-send",
            role=self.role.id,
            policy=pulumi.Output.all(args.identity_arn, args.configuration_set_arn).apply(lambda a: send_mail_policy(a[0], a[1])),
            opts=child,
        )
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role_arn})


def google_trust_policy(google_account_id: str) -> str:
    """Admits ID tokens Google signed for exactly this service account and audience.

    For Google tokens AWS compares `accounts.google.com:aud` with the token's `azp` claim (the
    service account's numeric ID), `:oaud` with its `aud` claim, and `:sub` with its subject.
    """
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "accounts.google.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "accounts.google.com:aud": google_account_id,
                        "accounts.google.com:sub": google_account_id,
                        "accounts.google.com:oaud": GOOGLE_TOKEN_AUDIENCE,
                    }
                },
            }
        ]
    )


def send_mail_policy(identity_arn: str, configuration_set_arn: str) -> str:
    return policy_document([{"Effect": "Allow", "Action": SEND_ACTIONS, "Resource": [identity_arn, configuration_set_arn]}])
