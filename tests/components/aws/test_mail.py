from __future__ import annotations

import json

import pytest

from components.aws.mail import EVENT_TYPES, GOOGLE_TOKEN_AUDIENCE, GoogleMailSender, GoogleMailSenderArgs, MailDelivery, MailDeliveryArgs


@pytest.fixture
def mail(run_component):
    return run_component(
        lambda: MailDelivery(
            "mail",
            MailDeliveryArgs(
                domain="crm.example.com",
                webhook_hosts=["aws.crm.example.com", "gcp.crm.example.com"],
                kms_key_arn="arn:kms:messaging",
                region="ap-northeast-2",
                tags={},
            ),
        )
    )


def test_domain_identity_with_dkim(mail):
    assert mail.one("aws:ses/domainIdentity:DomainIdentity")["domain"] == "crm.example.com"
    assert mail.one("aws:ses/domainDkim:DomainDkim")["domain"] == "crm.example.com"


def test_configuration_set_requires_tls(mail):
    assert mail.one("aws:sesv2/configurationSet:ConfigurationSet")["deliveryOptions"] == {"tlsPolicy": "REQUIRE"}


def test_bounce_complaint_delivery_and_reject_go_to_the_encrypted_topic(mail):
    destination = mail.one("aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination")["eventDestination"]
    assert sorted(destination["matchingEventTypes"]) == sorted(EVENT_TYPES) == ["BOUNCE", "COMPLAINT", "DELIVERY", "REJECT"]
    topic = mail.one("aws:sns/topic:Topic")
    assert destination["snsDestination"]["topicArn"] == topic.output("arn")
    assert topic["kmsMasterKeyId"] == "arn:kms:messaging"


def test_only_ses_may_publish_to_the_topic(mail):
    statement = json.loads(mail.one("aws:sns/topicPolicy:TopicPolicy")["policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"} and statement["Action"] == "sns:Publish"


def test_https_webhook_into_each_cloud(mail):
    endpoints = sorted((s["protocol"], s["endpoint"]) for s in mail.of_type("aws:sns/topicSubscription:TopicSubscription"))
    assert endpoints == [
        ("https", "https://aws.crm.example.com/api/webhooks/ses"),
        ("https", "https://gcp.crm.example.com/api/webhooks/ses"),
    ]


def test_no_iam_user_or_access_key_anywhere(mail, shipped):
    for result in (mail, shipped("aws-dr"), shipped("gcp-dr")):
        assert not result.of_type("aws:iam/user:User") and not result.of_type("aws:iam/accessKey:AccessKey")


def test_no_aws_key_or_smtp_password_is_exported(shipped):
    assert not {k for k in shipped("aws-dr").outputs if "AccessKey" in k or "Smtp" in k}


@pytest.fixture
def google_sender(run_component):
    return run_component(
        lambda: GoogleMailSender(
            "sender",
            GoogleMailSenderArgs(
                google_account_id="112233445566778899001",
                identity_arn="arn:aws:ses:ap-northeast-2:1:identity/crm.example.com",
                configuration_set_arn="arn:aws:ses:ap-northeast-2:1:configuration-set/crm",
                tags={},
            ),
        )
    )


def test_only_that_google_account_assumes_the_sending_role(google_sender):
    statement = json.loads(google_sender.one("aws:iam/role:Role")["assumeRolePolicy"])["Statement"]
    assert statement == [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "accounts.google.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "accounts.google.com:aud": "112233445566778899001",
                    "accounts.google.com:sub": "112233445566778899001",
                    "accounts.google.com:oaud": GOOGLE_TOKEN_AUDIENCE,
                }
            },
        }
    ]


def test_the_sending_role_may_only_send_through_the_identity_and_configuration_set(google_sender):
    statements = json.loads(google_sender.one("aws:iam/rolePolicy:RolePolicy")["policy"])["Statement"]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": ["arn:aws:ses:ap-northeast-2:1:identity/crm.example.com", "arn:aws:ses:ap-northeast-2:1:configuration-set/crm"],
        }
    ]


def test_the_sending_role_issues_credentials_for_an_hour_at_most(google_sender):
    assert google_sender.one("aws:iam/role:Role")["maxSessionDuration"] == 3600


def test_gcp_dr_trusts_its_application_service_account(shipped):
    result = shipped("gcp-dr", preview=False)
    role = result.one("aws:iam/role:Role")
    # The trust policy is built from the app account's unique ID, read from the account bootstrap created (named in its
    # output), and from nothing else of the stack.
    (bootstrap,) = [r.urn for r in result.of_type("pulumi:pulumi:StackReference") if r.name == "bootstrap-outputs"]
    assert role.property_dependencies["assumeRolePolicy"] == [bootstrap]
    assert "gcp:serviceaccount/getAccount:getAccount" in result.invokes
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert trust["accounts.google.com:sub"] == trust["accounts.google.com:aud"] and trust["accounts.google.com:sub"].isdigit()


def test_gcp_dr_scopes_the_role_to_aws_drs_identity_and_configuration_set(shipped):
    aws_outputs = shipped("aws-dr", preview=False).outputs
    policy = json.loads(shipped("gcp-dr", preview=False).one("aws:iam/rolePolicy:RolePolicy")["policy"])
    assert policy["Statement"][0]["Resource"] == [aws_outputs["sesIdentityArn"], aws_outputs["sesConfigurationSetArn"]]


def test_mail_is_on_in_dr_and_off_elsewhere_by_default(shipped):
    assert len(shipped("aws-dr").of_type("aws:sesv2/configurationSet:ConfigurationSet")) == 1
    assert shipped("aws-production").of_type("aws:sesv2/configurationSet:ConfigurationSet") == []


def test_gcp_dr_subscribes_its_own_host_through_an_aws_provider(shipped):
    gcp = shipped("gcp-dr", preview=False)
    subscription = gcp.one("aws:sns/topicSubscription:TopicSubscription")
    aws_outputs = shipped("aws-dr", preview=False).outputs
    record = gcp.one("cloudflare:index/dnsRecord:DnsRecord", "crm-dr-origin-dns-record")
    assert subscription["endpoint"] == f"https://{record['name']}/api/webhooks/ses"
    assert subscription["topic"] == aws_outputs["sesEventsTopicArn"]
    assert subscription.provider.startswith(gcp.one("pulumi:providers:aws", "crm-dr-mail-aws").urn)


def test_gcp_subscription_waits_for_its_dns_record_and_gateway(shipped):
    gcp = shipped("gcp-dr")
    subscription = gcp.one("aws:sns/topicSubscription:TopicSubscription")
    record = next(r for r in gcp.of_type("cloudflare:index/dnsRecord:DnsRecord") if r.name == "crm-dr-origin-dns-record")
    gateway = gcp.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    waits_on = set(subscription.dependencies) | {u for deps in subscription.property_dependencies.values() for u in deps}
    assert {record.urn, gateway.urn} <= waits_on


def test_aws_dr_subscribes_only_its_own_host(shipped):
    aws = shipped("aws-dr", preview=False)
    subscriptions = aws.of_type("aws:sns/topicSubscription:TopicSubscription")
    endpoints = [s["endpoint"] for s in subscriptions if s["protocol"] == "https"]  # the alarm topic's are e-mail
    record = aws.one("cloudflare:index/dnsRecord:DnsRecord", "crm-dr-origin-dns-record")
    assert endpoints == [f"https://{record['name']}/api/webhooks/ses"]
