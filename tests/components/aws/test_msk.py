from __future__ import annotations

from components.aws.msk import KafkaCluster, KafkaClusterArgs


def test_brokers_in_private_subnets_tls_iam_and_kms(run_component):
    cluster = run_component(lambda: KafkaCluster("k", KafkaClusterArgs(
        vpc_id="vpc", subnet_ids=["private-a", "private-c"], app_security_group_id="sg-app", kms_key_arn="arn:kms:kafka",
        logs_kms_key_arn="arn:kms:logs", tags={}))).one("aws:msk/cluster:Cluster")
    assert cluster["brokerNodeGroupInfo"]["clientSubnets"] == ["private-a", "private-c"] and cluster["numberOfBrokerNodes"] == 2
    assert cluster["encryptionInfo"]["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
    assert cluster["encryptionInfo"]["encryptionAtRestKmsKeyArn"] == "arn:kms:kafka"
    assert cluster["clientAuthentication"] == {"sasl": {"iam": True}, "unauthenticated": False}


def test_msk_in_dr_and_switchable_off(shipped, run_stack):
    assert len(shipped("aws-dr").of_type("aws:msk/cluster:Cluster")) == 1
    assert run_stack("aws-dr", {"crm:platform": {"msk": False}}).of_type("aws:msk/cluster:Cluster") == []
