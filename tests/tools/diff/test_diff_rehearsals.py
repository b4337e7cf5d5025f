"""Rehearsals of the changes a platform team makes every week, each applied to a shipped stack and planned
by `tools diff`: the plan asserted is the one that keeps the service up and the data in place, or a
refusal that says what to do instead (docs/runbooks/changes.md says it too).

Where today's program cannot make the change safely yet, the test is marked with the issue item
that fixes it (strict: it fails the day the fix lands, so the mark is removed with it).
"""

from __future__ import annotations

import copy
import re

import pytest

from tests.tools.diff.diff_support import changed, deployed, one, planned, resources, steps
from tools.diff import plan as diff
from tools.engine import fakes

EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
RULES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
RUNBOOK = "docs/runbooks/changes.md"


# -- Kubernetes version


def test_an_eks_version_bump_updates_the_control_plane_in_place():
    plan = planned("aws-production", {"crm:kubernetes": {"version": "1.36"}})
    (cluster,) = plan.changed()
    assert (cluster.type, cluster.op) == (EKS, "update")
    assert [c.path for c in cluster.changes] == ["version"] and plan.problems() == []


def test_a_gke_release_channel_change_updates_the_cluster_in_place():
    # GKE clusters follow their release channel (no pinned minor): moving channel is how the version moves.
    plan = planned("gcp-production", {"crm:kubernetes": {"releaseChannel": "RAPID"}})
    (cluster,) = plan.changed()
    assert (cluster.type, cluster.op) == (GKE, "update") and plan.problems() == []


# -- Node machine type


def test_an_eks_instance_type_change_replaces_the_node_group_new_nodes_first():
    plan = planned("aws-production", {"crm:kubernetes": {"instanceType": "m6i.2xlarge"}})
    (group,) = plan.changed()
    assert group.type == "aws:eks/nodeGroup:NodeGroup" and group.op == "replace" and not group.delete_before_replace
    assert plan.problems() == []  # autonamed: the new group is created beside the old one, then the old one drains


def test_a_gke_machine_type_change_updates_the_node_pool_and_leaves_the_cluster_alone():
    plan = planned("gcp-production", {"crm:kubernetes": {"machineType": "n2-standard-32"}})
    assert changed(plan) == {(NODE_POOL, "crm-production-gke-pool"): "update"}
    assert plan.problems() == []


# -- Application port


def test_an_application_port_change_moves_traffic_to_a_new_target_group_without_a_refusal():
    plan = planned("aws-production", {"crm:application": {"port": 9090}})
    group = one(plan, "aws:lb/targetGroup:TargetGroup")
    assert group.op == "replace" and not group.delete_before_replace
    assert one(plan, "aws:lb/listener:Listener", "https").op == "update"
    assert plan.problems() == []


def test_an_application_port_change_on_gcp_updates_in_place():
    plan = planned("gcp-production", {"crm:application": {"port": 9090}})
    assert plan.changed() and {s.op for s in plan.changed()} == {"update"}
    assert plan.problems() == []


# -- Cloudflare's ranges


@pytest.fixture
def ranges_changed(monkeypatch):
    """Cloudflare publishes one range more and one less."""
    published = copy.deepcopy(fakes.cloudflare_ip_ranges())
    added, removed = "198.51.100.0/24", published["ipv4Cidrs"][5]
    published["ipv4Cidrs"] = [added] + [c for c in published["ipv4Cidrs"] if c != removed]
    monkeypatch.setattr(fakes, "cloudflare_ip_ranges", lambda: published)
    return added, removed


def test_a_cloudflare_range_added_and_one_removed_create_and_delete_one_rule_each_per_port(ranges_changed):
    deployed("aws-production")  # the state before the ranges changed
    added, removed = ranges_changed
    plan = planned("aws-production")
    rules = [s for s in plan.changed() if s.type in RULES]
    created = sorted(s.new_inputs.get("fromPort") for s in rules if s.op == "create" and s.new_inputs.get("cidrIpv4") == added)
    deleted = sorted(s.old["inputs"].get("fromPort") for s in rules if s.op == "delete" and s.old["inputs"].get("cidrIpv4") == removed)
    assert created == deleted == [80, 443]
    assert len(rules) == 4 and plan.problems() == []


def test_a_cloudflare_range_change_updates_the_cloud_armor_policy_in_place(ranges_changed):
    deployed("gcp-production")
    plan = planned("gcp-production")
    (policy,) = plan.changed()
    assert (policy.type, policy.op) == ("gcp:compute/securityPolicy:SecurityPolicy", "update") and plan.problems() == []


# -- Kafka topics


@pytest.mark.parametrize(
    ("stack", "topic_type"),
    [("gcp-production", "kubernetes:kafka.strimzi.io/v1:KafkaTopic")],  # MSK's topics: tests/components/test_lifecycle.py
)
def test_removing_a_kafka_topic_is_refused_and_its_messages_kept(stack, topic_type):
    plan = planned(stack, {"crm:platform": {"kafkaTopics": ["crm.scheduled-tasks"]}})
    (topic,) = plan.changed()
    assert (topic.type, topic.op) == (topic_type, "delete") and "crm.messages" in topic.name
    # Protected: `pulumi up` refuses the delete; retained: even a deliberate delete leaves the messages.
    assert topic.protect and any("is protected" in p and RUNBOOK in p for p in topic.problems)
    assert any("retain_on_delete" in note for note in topic.notes)


# -- Credential rotation


def test_raising_the_rotation_generation_replaces_the_generated_passwords_and_updates_their_users():
    plan = planned("aws-production", {"crm:rotation": {"generation": 1}})
    passwords = steps(plan, "random:index/randomPassword:RandomPassword", "replace")
    assert len(passwords) >= 3 and all("keepers" in " ".join(p.reasons) for p in passwords)
    assert one(plan, "aws:rds/instance:Instance").op == "update"
    assert one(plan, "aws:elasticache/replicationGroup:ReplicationGroup").op == "update"
    assert plan.problems() == []


def test_pods_roll_with_the_new_password_only_after_the_roles_job_has_set_it():
    plan = planned("aws-production", {"crm:rotation": {"generation": 1}})
    job = one(plan, "kubernetes:batch/v1:Job", "db-roles")
    deployment = one(plan, "kubernetes:apps/v1:Deployment", "app")
    waits = {s.urn: set(s.dependencies) | {u for us in s.property_dependencies.values() for u in us} for s in plan.steps}
    reached, frontier = set(), [deployment.urn]
    while frontier:
        urn = frontier.pop()
        for dependency in waits.get(urn, ()):
            if dependency not in reached:
                reached.add(dependency)
                frontier.append(dependency)
    assert job.op == "replace" and job.urn in reached


def test_gcp_pods_roll_with_the_new_kafka_password_only_after_strimzi_has_set_it():
    plan = planned("gcp-production", {"crm:rotation": {"generation": 1}})
    user = one(plan, "kubernetes:kafka.strimzi.io/v1:KafkaUser")
    deployment = one(plan, "kubernetes:apps/v1:Deployment", "app")
    waits = {s.urn: set(s.dependencies) | {u for us in s.property_dependencies.values() for u in us} for s in plan.steps}
    reached, frontier = set(), [deployment.urn]
    while frontier:
        urn = frontier.pop()
        for dependency in waits.get(urn, ()):
            if dependency not in reached:
                reached.add(dependency)
                frontier.append(dependency)
    # A new generation of the KafkaUser (so Strimzi reconciles it at once) that the pods' new secret waits for.
    assert user.op == "update" and any(c.path.startswith("spec.template") for c in user.changes)
    assert user.urn in reached


# -- Customer-managed keys on Artifact Registry and Secret Manager (docs/hardening.md)


def _before_cmek() -> dict:
    """gcp-production as deployed before the repository and the secret had keys of their own."""
    state = deployed("gcp-production")
    records = state["stacks"]["gcp-production"]["resources"]
    (repository,) = resources(state, "gcp-production", lambda r: r["type"] == "gcp:artifactregistry/repository:Repository")
    for part in ("inputs", "outputs"):
        repository[part].pop("kmsKeyName", None)
    (secret,) = resources(state, "gcp-production", lambda r: r["type"] == "gcp:secretmanager/secret:Secret")
    for part in ("inputs", "outputs"):
        secret[part]["replication"] = {"auto": {}}
    added = ("-keys-registry", "-keys-secrets", "-registry-agent", "-secrets-agent")
    state["stacks"]["gcp-production"]["resources"] = [r for r in records if not r["name"].endswith(added)]
    assert len(state["stacks"]["gcp-production"]["resources"]) < len(records)
    return state


def test_the_cmek_migration_is_refused_with_the_runbook_for_the_repository_and_the_secret():
    plan = planned("gcp-production", base=_before_cmek())
    repository = one(plan, "gcp:artifactregistry/repository:Repository")
    secret = one(plan, "gcp:secretmanager/secret:Secret")
    assert repository.op == secret.op == "replace"
    assert "kmsKeyName forces a new resource" in " ".join(repository.reasons)
    for step in (repository, secret):
        assert any("is protected" in p and RUNBOOK in p for p in step.problems)
    assert len(steps(plan, "gcp:kms/cryptoKey:CryptoKey", "create")) == 2


def test_the_cmek_migration_meets_no_name_collision_and_no_deletion_protection_stop():
    plan = planned("gcp-production", base=_before_cmek())
    for type_ in ("gcp:artifactregistry/repository:Repository", "gcp:secretmanager/secret:Secret"):
        step = one(plan, type_)
        assert [p for p in step.problems if "collides" in p or "deletionProtection" in p] == []


# -- Redis cluster mode


def test_switching_redis_to_cluster_mode_in_one_step_is_refused_with_the_two_step_migration():
    plan = planned("aws-production", {"crm:redis": {"clusterMode": True}})
    group = one(plan, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert group.op == "update"
    (problem,) = group.problems
    assert "compatible first" in problem and RUNBOOK in problem


def test_redis_alarms_in_cluster_mode_watch_the_shards_members():
    plan = planned("aws-production", {"crm:redis": {"clusterMode": True, "shards": 2, "replicasPerShard": 1}})
    group = one(plan, "aws:elasticache/replicationGroup:ReplicationGroup").new_inputs["replicationGroupId"]
    alarms = [
        s for s in plan.steps if s.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and s.new_inputs.get("namespace") == "AWS/ElastiCache"
    ]
    members = {diff._plain(s.new_inputs.get("dimensions", {})).get("CacheClusterId") for s in alarms}
    assert alarms and all(re.fullmatch(re.escape(group) + r"-000[12]-00[12]", m or "") for m in members)


# -- Database instance class


def test_an_rds_instance_class_change_updates_the_instance_in_place():
    plan = planned("aws-production", {"crm:database": {"instanceClass": "db.t3.large"}})
    (instance,) = plan.changed()
    assert (instance.type, instance.op) == ("aws:rds/instance:Instance", "update") and plan.problems() == []


def test_a_cloud_sql_tier_change_updates_the_instance_in_place():
    plan = planned("gcp-production", {"crm:database": {"tier": "db-custom-8-30720"}})
    (instance,) = plan.changed()
    assert (instance.type, instance.op) == ("gcp:sql/databaseInstance:DatabaseInstance", "update") and plan.problems() == []


# -- Origin host


CERTIFICATE_TYPES = (
    "gcp:certificatemanager/certificate:Certificate",
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization",
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry",
)


def test_a_new_origin_host_gets_its_certificate_alongside_and_the_public_hosts_is_left_alone():
    plan = planned("gcp-production", {"crm:dns": {"originHost": "crm-production-origin.example.com"}})
    touched = [s for s in plan.changed() if s.type in CERTIFICATE_TYPES]
    assert sorted(s.op for s in touched) == ["create"] * 3 + ["delete"] * 3
    created = [s for s in touched if s.op == "create"]
    assert {(s.new_inputs.get("domain") or s.new_inputs.get("hostname") or s.new_inputs["managed"]["domains"][0]) for s in created} == {
        "crm-production-origin.example.com"
    }
    public = [s for s in plan.steps if s.type in CERTIFICATE_TYPES and "'crm-production.example.com'" in str(s.new_inputs)]
    assert len(public) == 3 and {s.op for s in public} == {"same"}
    assert [p for s in touched for p in s.problems] == []


# -- Upgrades


def test_a_binding_deployed_without_vpc_and_ip_type_gains_them_in_place():
    """As deployed before the program wrote them: the values the controller set at create are accepted in place."""
    tgb = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
    state = deployed("aws-production")
    (binding,) = resources(state, "aws-production", lambda r: r["type"] == tgb)
    for field in ("vpcID", "ipAddressType"):
        binding["inputs"]["spec"].pop(field)
    plan = planned("aws-production", base=state)
    step = one(plan, tgb)
    assert step.op == "update" and {c.path for c in step.changes} == {"spec.vpcID", "spec.ipAddressType"}
    # Nothing else is replaced on its account: the listener keeps forwarding to the group the pods are in.
    assert [s.name for s in plan.changed() if s.op == "replace"] == []


def test_a_change_that_replaces_the_gke_node_pool_deletes_it_first_without_a_collision():
    # As if deployed with other OAuth scopes: a replacing change (scopes, service account, boot-disk key) of a fixed name.
    state = deployed("gcp-production")
    (pool,) = resources(state, "gcp-production", lambda r: r["type"] == NODE_POOL)
    pool["inputs"]["nodeConfig"]["oauthScopes"] = ["https://www.googleapis.com/auth/devstorage.read_only"]
    step = one(planned("gcp-production", base=state), NODE_POOL)
    assert step.op == "replace" and step.delete_before_replace
    assert step.problems == []
