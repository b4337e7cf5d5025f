from __future__ import annotations

import pytest


@pytest.fixture
def kafka(shipped):
    return shipped("gcp-dr")


def test_strimzi_operator_from_its_helm_chart(kafka):
    release = kafka.one("kubernetes:helm.sh/v3:Release")
    assert (release["chart"], release["repositoryOpts"]["repo"], release["version"]) == ("strimzi-kafka-operator", "https://strimzi.io/charts/", "0.45.0")


def test_three_brokers_with_an_internal_listener_on_9092(kafka):
    cluster = kafka.one("kubernetes:kafka.strimzi.io/v1beta2:Kafka")
    pool = kafka.one("kubernetes:kafka.strimzi.io/v1beta2:KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert cluster["spec"]["kafka"]["listeners"] == [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]
    assert cluster["spec"]["kafka"]["config"]["min.insync.replicas"] == 2


def test_runs_on_the_gke_provider(kafka):
    provider = kafka.one("pulumi:providers:kubernetes")
    assert kafka.one("kubernetes:kafka.strimzi.io/v1beta2:Kafka").provider.startswith(provider.urn)


def test_bootstrap_servers_exported(kafka):
    assert kafka.outputs["kafkaBootstrapServers"] == "crm-kafka-bootstrap.kafka.svc.cluster.local:9092"
