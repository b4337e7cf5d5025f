from __future__ import annotations

import json

from components.aws.msk import KafkaCluster, KafkaClusterArgs


def test_brokers_in_private_subnets_tls_iam_and_kms(run_component):
    cluster = run_component(
        lambda: KafkaCluster(
            "k",
            KafkaClusterArgs(
                vpc_id="vpc",
                subnet_ids=["private-a", "private-c"],
                app_security_group_id="sg-app",
                kms_key_arn="arn:kms:kafka",
                logs_kms_key_arn="arn:kms:logs",
                tags={},
            ),
        )
    ).one("aws:msk/cluster:Cluster")
    assert cluster["brokerNodeGroupInfo"]["clientSubnets"] == ["private-a", "private-c"]
    assert cluster["encryptionInfo"]["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
    assert cluster["encryptionInfo"]["encryptionAtRestKmsKeyArn"] == "arn:kms:kafka"
    assert cluster["clientAuthentication"] == {"sasl": {"iam": True}, "unauthenticated": False}


# Off by default: the application reads SQS on AWS (tests/stacks/test_paid_capacity.py).
WITH_MSK = {"crm:platform": {"msk": True}}


def test_msk_off_by_default_and_switchable_on(shipped, run_stack):
    assert shipped("aws-dr").of_type("aws:msk/cluster:Cluster") == []
    assert len(run_stack("aws-dr", WITH_MSK).of_type("aws:msk/cluster:Cluster")) == 1


def test_platform_creates_the_configured_topics_protected(run_stack):
    topics = {t["name"]: t for t in run_stack("aws-dr", WITH_MSK).of_type("aws:msk/topic:Topic")}
    assert sorted(topics) == ["crm.messages", "crm.scheduled-tasks"]
    topic = topics["crm.messages"]
    assert (topic["partitionCount"], topic["replicationFactor"], json.loads(topic["configs"])) == (6, 3, {"min.insync.replicas": "2"})
    assert topic.protect


def test_app_role_may_not_create_delete_or_alter_topics(run_stack):
    result = run_stack("aws-dr", WITH_MSK, preview=False)
    statements = {s["Sid"]: s for s in json.loads(result.one("aws:iam/rolePolicy:RolePolicy", "crm-dr-app-policy")["policy"])["Statement"]}
    actions = statements["UseKafka"]["Action"]
    assert not [a for a in actions if "*" in a or a.split(":")[1].startswith(("Create", "Delete", "AlterTopic", "AlterCluster"))]
    assert "kafka-cluster:DescribeTopic" in actions and "kafka-cluster:WriteData" in actions


def test_app_role_topics_and_groups_are_its_own_prefix(run_stack):
    result = run_stack("aws-dr", WITH_MSK, preview=False)
    statements = {s["Sid"]: s for s in json.loads(result.one("aws:iam/rolePolicy:RolePolicy", "crm-dr-app-policy")["policy"])["Statement"]}
    scoped = [r for r in statements["UseKafka"]["Resource"] if ":topic/" in r or ":group/" in r]
    assert len(scoped) == 2 and scoped[0].endswith("/crm.*") and scoped[1].endswith("/crm*")


def test_four_brokers_over_the_two_zones_so_every_topic_keeps_three_copies(run_stack):
    result = run_stack("aws-dr", WITH_MSK)
    cluster = result.one("aws:msk/cluster:Cluster")
    subnets = cluster["brokerNodeGroupInfo"]["clientSubnets"]
    assert len(subnets) == 2 and cluster["numberOfBrokerNodes"] == 4
    assert cluster["numberOfBrokerNodes"] % len(subnets) == 0
    topics = result.of_type("aws:msk/topic:Topic")
    assert topics and all(t["replicationFactor"] == 3 and json.loads(t["configs"])["min.insync.replicas"] == "2" for t in topics)


def test_a_topics_replication_factor_change_is_never_planned_as_a_replacement(run_stack):
    """The provider replaces a topic when its factor changes; a running topic's factor moves by reassignment."""
    topics = run_stack("aws-dr", WITH_MSK).of_type("aws:msk/topic:Topic")
    assert topics and all(t.protect and "replicationFactor" in t.options.get("ignoreChanges", []) for t in topics)


def test_fewer_brokers_than_the_replication_factor_are_refused():
    import pytest

    with pytest.raises(ValueError, match="at least 3 brokers"):
        KafkaClusterArgs(
            vpc_id="v", subnet_ids=["a"], app_security_group_id="s", kms_key_arn="k", logs_kms_key_arn="l", tags={}, brokers_per_zone=2
        )
