from __future__ import annotations

import hashlib

import pytest


@pytest.fixture
def kafka(shipped):
    return shipped("gcp-dr")


def test_strimzi_operator_from_its_oci_chart(kafka):
    release = kafka.one("kubernetes:helm.sh/v3:Release", "crm-dr-kafka-strimzi")
    assert release["chart"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert "repositoryOpts" not in release.inputs  # an oci:// reference is the chart itself, not a repository


def test_strimzi_release_runs_on_kubernetes_1_33_and_newer(kafka):
    # 0.45.0 does not start on Kubernetes >= 1.33; 1.x supports 1.30 and newer.
    release = kafka.one("kubernetes:helm.sh/v3:Release", "crm-dr-kafka-strimzi")
    assert int(release["version"].split(".")[0]) >= 1


def test_operator_does_not_list_its_own_namespace_again(kafka):
    # The chart always watches the release namespace; naming it in watchNamespaces renders duplicate RoleBindings.
    release = kafka.one("kubernetes:helm.sh/v3:Release", "crm-dr-kafka-strimzi")
    assert release["namespace"] not in (release.get("values") or {}).get("watchNamespaces", [])


def test_kafka_resources_use_the_v1_api_strimzi_1_serves(kafka):
    assert {r.type for r in kafka.resources if "strimzi" in r.type} == {
        "kubernetes:kafka.strimzi.io/v1:KafkaNodePool",
        "kubernetes:kafka.strimzi.io/v1:Kafka",
        "kubernetes:kafka.strimzi.io/v1:KafkaUser",
        "kubernetes:kafka.strimzi.io/v1:KafkaTopic",
    }


def test_three_brokers_with_min_insync_replicas_two(kafka):
    cluster = kafka.one("kubernetes:kafka.strimzi.io/v1:Kafka")
    pool = kafka.one("kubernetes:kafka.strimzi.io/v1:KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert cluster["spec"]["kafka"]["config"]["min.insync.replicas"] == 2


def test_only_listener_is_tls_with_scram_sha_512(kafka):
    listeners = kafka.one("kubernetes:kafka.strimzi.io/v1:Kafka")["spec"]["kafka"]["listeners"]
    assert [(x["port"], x["tls"], x["authentication"]["type"]) for x in listeners] == [(9093, True, "scram-sha-512")]


def test_brokers_enforce_acls(kafka):
    assert kafka.one("kubernetes:kafka.strimzi.io/v1:Kafka")["spec"]["kafka"]["authorization"] == {"type": "simple"}


def test_app_user_may_only_touch_its_own_topics_and_groups(kafka):
    acls = kafka.one("kubernetes:kafka.strimzi.io/v1:KafkaUser")["spec"]["authorization"]["acls"]
    resources = {(a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"]) for a in acls}
    assert resources == {("topic", "crm.", "prefix"), ("group", "crm", "prefix")}
    assert all("All" not in a["operations"] and "Alter" not in a["operations"] for a in acls)


def test_app_user_password_comes_from_a_secret_in_kafka_namespace(shipped, plain):
    kafka = shipped("gcp-dr", preview=False)
    user = kafka.one("kubernetes:kafka.strimzi.io/v1:KafkaUser")
    ref = user["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
    secret = kafka.one("kubernetes:core/v1:Secret", "crm-dr-kafka-app-password")
    assert (ref["name"], user["metadata"]["namespace"]) == (secret["metadata"]["name"], secret["metadata"]["namespace"])
    assert ref["key"] in plain(secret["stringData"])


def test_runs_on_the_gke_provider(kafka):
    provider = kafka.one("pulumi:providers:kubernetes")
    assert kafka.one("kubernetes:kafka.strimzi.io/v1:Kafka").provider.startswith(provider.urn)


def test_bootstrap_servers_exported(kafka):
    assert kafka.outputs["kafkaBootstrapServers"] == "crm-kafka-bootstrap.kafka.svc.cluster.local:9093"


def test_app_user_may_not_create_delete_or_alter_topics(kafka):
    acls = kafka.one("kubernetes:kafka.strimzi.io/v1:KafkaUser")["spec"]["authorization"]["acls"]
    [topics] = [a for a in acls if a["resource"]["type"] == "topic"]
    assert sorted(topics["operations"]) == ["Describe", "Read", "Write"]


def test_platform_creates_the_configured_topics(kafka):
    topics = {t["spec"]["topicName"]: t for t in kafka.of_type("kubernetes:kafka.strimzi.io/v1:KafkaTopic")}
    assert sorted(topics) == ["crm.messages", "crm.scheduled-tasks"]
    spec = topics["crm.messages"]["spec"]
    assert (spec["partitions"], spec["replicas"], spec["config"]["min.insync.replicas"]) == (6, 3, 2)
    assert topics["crm.messages"]["metadata"]["labels"] == {"strimzi.io/cluster": "crm"}


def test_topics_follow_crm_platform_kafka_topics(run_stack):
    result = run_stack("gcp-dr", {"crm:platform": {"kafkaTopics": ["crm.orders_v2"], "kafkaTopicPartitions": 12}})
    [topic] = result.of_type("kubernetes:kafka.strimzi.io/v1:KafkaTopic")
    assert (topic["metadata"]["name"], topic["spec"]["topicName"], topic["spec"]["partitions"]) == ("crm.orders-v2", "crm.orders_v2", 12)


def test_topic_outside_the_app_prefix_is_refused():
    from components.gcp.kafka import KafkaOnGkeArgs

    with pytest.raises(ValueError, match="outside the application's prefix"):
        KafkaOnGkeArgs(topics=["billing.events"])


def test_the_listener_admits_only_the_application_pods(kafka):
    [listener] = kafka.one("kubernetes:kafka.strimzi.io/v1:Kafka")["spec"]["kafka"]["listeners"]
    assert listener["networkPolicyPeers"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "crm"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "crm", "app.kubernetes.io/component": "api"}},
        }
    ]


def test_the_peers_select_the_pods_the_deployment_runs(kafka):
    [listener] = kafka.one("kubernetes:kafka.strimzi.io/v1:Kafka")["spec"]["kafka"]["listeners"]
    template = kafka.one("kubernetes:apps/v1:Deployment")["spec"]["template"]["metadata"]["labels"]
    assert listener["networkPolicyPeers"][0]["podSelector"]["matchLabels"].items() <= template.items()


def test_the_app_user_counts_as_updated_once_strimzi_has_reconciled_its_generation(kafka):
    user = kafka.one("kubernetes:kafka.strimzi.io/v1:KafkaUser")
    # pulumi-kubernetes' jsonpath wait requires status.observedGeneration to reach metadata.generation first.
    assert user["metadata"]["annotations"]["pulumi.com/waitFor"].startswith('jsonpath={.status.conditions[?(@.type=="Ready")]')


def test_a_new_password_is_a_new_generation_of_the_app_user(shipped, plain):
    # The template carries a digest of the password the Secret holds: a new password changes the KafkaUser's spec.
    kafka = shipped("gcp-dr", preview=False)
    user = kafka.one("kubernetes:kafka.strimzi.io/v1:KafkaUser")
    password = plain(kafka.one("kubernetes:core/v1:Secret", "crm-dr-kafka-app-password")["stringData"])["password"]
    revision = user["spec"]["template"]["secret"]["metadata"]["annotations"]["crm/password-revision"]
    assert revision == hashlib.sha256(password.encode()).hexdigest()[:16]
