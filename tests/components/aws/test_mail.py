from __future__ import annotations

import json

import pytest

from components.aws.mail import EVENT_TYPES, MailDelivery, MailDeliveryArgs
from tests.helpers import is_secret


@pytest.fixture
def mail(run_component):
    return run_component(lambda: MailDelivery("mail", MailDeliveryArgs(
        domain="crm.example.com", webhook_hosts=["aws.crm.example.com", "gcp.crm.example.com"], kms_key_arn="arn:kms:messaging",
        region="ap-northeast-2", tags={})))


def test_domain_identity_with_dkim(mail):
    assert mail.one("aws:ses/domainIdentity:DomainIdentity")["domain"] == "crm.example.com"
    assert mail.one("aws:ses/domainDkim:DomainDkim")["domain"] == "crm.example.com"


def test_configuration_set_requires_tls(mail):
    assert mail.one("aws:sesv2/configurationSet:ConfigurationSet")["deliveryOptions"] == {"tlsPolicy": "REQUIRE"}


def test_bounce_complaint_delivery_and_reject_go_to_the_encrypted_topic(mail):
    destination = mail.one("aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination")["eventDestination"]
    assert sorted(destination["matchingEventTypes"]) == sorted(EVENT_TYPES) == ["BOUNCE", "COMPLAINT", "DELIVERY", "REJECT"]
    topic = mail.one("aws:sns/topic:Topic")
    assert destination["snsDestination"]["topicArn"] == "arn:aws:sns:ap-northeast-2:123456789012:mail-events"
    assert topic["kmsMasterKeyId"] == "arn:kms:messaging"


def test_only_ses_may_publish_to_the_topic(mail):
    statement = json.loads(mail.one("aws:sns/topicPolicy:TopicPolicy")["policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"} and statement["Action"] == "sns:Publish"


def test_https_webhook_into_each_cloud(mail):
    endpoints = sorted((s["protocol"], s["endpoint"]) for s in mail.of_type("aws:sns/topicSubscription:TopicSubscription"))
    assert endpoints == [("https", "https://aws.crm.example.com/api/webhooks/ses"), ("https", "https://gcp.crm.example.com/api/webhooks/ses")]


def test_sender_may_only_send_through_this_identity(mail):
    statements = json.loads(mail.one("aws:iam/userPolicy:UserPolicy")["policy"])["Statement"]
    assert statements == [{"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                           "Resource": ["arn:aws:ses:ap-northeast-2:123456789012:mail-domain",
                                        "arn:aws:sesv2:ap-northeast-2:123456789012:mail-events"]}]


def test_sender_key_is_exported_only_as_a_secret(shipped):
    outputs = shipped("aws-dr").outputs
    assert is_secret(outputs["sesSenderSecretAccessKey"]) and is_secret(outputs["sesSmtpPassword"])


def test_mail_is_on_in_dr_and_off_elsewhere_by_default(shipped):
    assert len(shipped("aws-dr").of_type("aws:sesv2/configurationSet:ConfigurationSet")) == 1
    assert shipped("aws-production").of_type("aws:sesv2/configurationSet:ConfigurationSet") == []


def test_gcp_dr_subscribes_its_own_host_through_an_aws_provider(shipped):
    gcp = shipped("gcp-dr", preview=False)
    subscription = gcp.one("aws:sns/topicSubscription:TopicSubscription")
    aws_outputs = shipped("aws-dr", preview=False).outputs
    assert subscription["endpoint"] == "https://gcp.crm.example.com/api/webhooks/ses"
    assert subscription["topic"] == aws_outputs["sesEventsTopicArn"]
    assert subscription.provider.startswith(gcp.one("pulumi:providers:aws", "crm-dr-mail-aws").urn)


def test_gcp_subscription_waits_for_its_dns_record_and_gateway(shipped):
    gcp = shipped("gcp-dr")
    subscription = gcp.one("aws:sns/topicSubscription:TopicSubscription")
    record = [r for r in gcp.of_type("cloudflare:index/dnsRecord:DnsRecord") if r.name == "crm-dr-origin-dns-record"][0]
    gateway = gcp.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    waits_on = set(subscription.dependencies) | {u for deps in subscription.property_dependencies.values() for u in deps}
    assert {record.urn, gateway.urn} <= waits_on


def test_aws_dr_subscribes_only_its_own_host(shipped):
    subscriptions = shipped("aws-dr", preview=False).of_type("aws:sns/topicSubscription:TopicSubscription")
    endpoints = [s["endpoint"] for s in subscriptions if s["protocol"] == "https"]  # the alarm topic's are e-mail
    assert endpoints == ["https://aws.crm.example.com/api/webhooks/ses"]
