"""The offline diff (tools/diff/plan.py): a shipped stack's deployed state against a changed program.

Each test changes the config, the program or the deployed state the way a change or its history
would, and asserts on the classified steps: create, update, replace, delete, and the refusals.
"""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

import components.aws.ecr
from components.kubernetes import application
from tests.tools.diff.diff_support import changed, deployed, one, planned, resources, secret_texts, steps
from tools.diff import force_new
from tools.diff import plan as diff

TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"


def _rename_type(state: dict, stack: str, old: str, new: str) -> int:
    """Rewrites the deployed URNs of `old`-typed resources (and their children's) to `new`: the state a past type left."""
    renamed = 0
    for record in state["stacks"][stack]["resources"]:
        if record["type"] == old:
            record["type"] = new
        for key in ("urn", "parent"):
            if f"{old}::" in record[key] or f"{old}$" in record[key]:
                record[key] = record[key].replace(f"{old}::", f"{new}::").replace(f"{old}$", f"{new}$")
                renamed += key == "urn"
    return renamed


def test_an_unchanged_program_plans_no_change():
    plan = planned("aws-dev")
    assert len(plan.steps) > 100
    assert plan.changed() == [] and plan.problems() == []


def test_an_alias_makes_a_renamed_type_the_same_resource_not_a_delete_and_create():
    # The certificate's validation records were cloudflare:index/record:Record; the program declares that alias.
    state = deployed("aws-dev")
    assert _rename_type(state, "aws-dev", "cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/record:Record") >= 1
    plan = planned("aws-dev", base=state)
    records = steps(plan, "cloudflare:index/dnsRecord:DnsRecord")
    assert records and {s.op for s in records} == {"same"}
    assert any(s.old_urn != s.urn for s in records)


def test_a_rename_without_an_alias_deletes_and_creates():
    state = deployed("aws-dev")
    assert _rename_type(state, "aws-dev", "cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/gone:Gone") >= 1
    ops = changed(planned("aws-dev", base=state))
    assert "create" in {op for (t, _), op in ops.items() if t == "cloudflare:index/dnsRecord:DnsRecord"}
    assert "delete" in {op for (t, _), op in ops.items() if t == "cloudflare:index/gone:Gone"}


def test_children_follow_their_components_alias(monkeypatch):
    state = deployed("aws-dev")  # deployed by the program before the rename, as every state in this module
    monkeypatch.setattr(components.aws.ecr.ContainerRegistry, "past_types", ("crm:aws:Registry",))
    assert _rename_type(state, "aws-dev", "crm:aws:ContainerRegistry", "crm:aws:Registry") >= 2
    plan = planned("aws-dev", base=state)
    assert changed(plan) == {}
    assert one(plan, "aws:ecr/repository:Repository", "crm-api").old_urn.count("crm:aws:Registry") == 1


def test_ignored_inputs_do_not_change_and_others_do():
    state = deployed("aws-dev")
    (group,) = resources(state, "aws-dev", lambda r: r["type"] == "aws:eks/nodeGroup:NodeGroup")
    group["inputs"]["scalingConfig"]["desiredSize"] = 99  # ignore_changes: the cluster autoscaler owns it
    assert one(planned("aws-dev", base=state), "aws:eks/nodeGroup:NodeGroup").op == "same"
    group["inputs"]["scalingConfig"]["maxSize"] = 99
    step = one(planned("aws-dev", base=state), "aws:eks/nodeGroup:NodeGroup")
    assert step.op == "update" and [c.path for c in step.changes] == ["scalingConfig.maxSize"]


def test_replace_on_changes_replaces_on_a_change_at_or_below_the_path():
    planner = diff.Planner("s", [])
    below = diff.Change("spec.targetGroupARN", "a", "b")
    planner._classify(below, force_new.Rules(known=True), {}, {}, ["spec.targetGroupARN"])
    elsewhere = diff.Change("spec.serviceRef.port", 1, 2)
    planner._classify(elsewhere, force_new.Rules(known=True), {}, {}, ["spec.targetGroupARN"])
    assert below.replaces == "replace_on_changes" and elsewhere.replaces == ""


def test_delete_before_replace_is_taken_from_the_resource_option():
    planner = diff.Planner("s", [])

    class Request:
        type = "aws:rds/instance:Instance"
        deleteBeforeReplaceDefined = True
        deleteBeforeReplace = True

    assert planner._delete_before_replace(Request(), {}, {}) is True
    Request.deleteBeforeReplaceDefined = False
    assert planner._delete_before_replace(Request(), {}, {}) is False


def test_a_type_without_force_new_data_is_said_to_be_unpredictable():
    planner = diff.Planner("s", [])

    class Request:
        type = "aws:newservice/thing:Thing"
        provider = ""
        ignoreChanges: ClassVar[list] = []
        replaceOnChanges: ClassVar[list] = []
        propertyDependencies: ClassVar[dict] = {}
        deleteBeforeReplaceDefined = False

    step = diff.Step("s", "urn:thing", Request.type, "thing", "create")
    planner._compare(step, Request(), {"inputs": {"size": 1}}, {"size": 2})
    assert step.op == "update" and any("no force-new data covers aws:newservice/thing:Thing" in n for n in step.notes)


def test_what_reads_a_replaced_resource_becomes_unknown_and_changes_with_it():
    plan = planned("aws-dev", {"crm:application": {"port": 9090}})
    group = one(plan, "aws:lb/targetGroup:TargetGroup")
    assert group.op == "replace" and "port forces a new resource" in " ".join(group.reasons)
    listener = one(plan, "aws:lb/listener:Listener", "https")
    (arn,) = [c for c in listener.changes if c.path.endswith("targetGroupArn")]
    assert listener.op == "update" and arn.new is diff.engine.UNKNOWN and arn.old.startswith("arn:aws:")


def test_secrets_are_compared_but_never_printed():
    state = deployed("aws-production")
    texts = secret_texts(state)
    assert texts, "the deployed state holds no secret to look for"
    plan = planned("aws-production", {"crm:rotation": {"generation": 1}}, base=state)
    assert any(isinstance(c.old, diff.Secret) for s in plan.changed() for c in s.changes)
    printed = diff.text([plan]) + diff.markdown([plan], "HEAD") + json.dumps(diff.to_json([plan], "HEAD"))
    assert "[secret]" in printed
    assert [t for t in texts if t in printed] == []


def test_a_kubeconfig_for_another_cluster_replaces_every_object_on_it():
    state = deployed("aws-dev")
    (provider,) = resources(state, "aws-dev", lambda r: r["type"] == "pulumi:providers:kubernetes")
    kubeconfig = json.loads(provider["inputs"]["kubeconfig"]["__secret__"])
    kubeconfig["clusters"][0]["cluster"]["server"] = "https://another.example.com"
    provider["inputs"]["kubeconfig"]["__secret__"] = json.dumps(kubeconfig)
    plan = planned("aws-dev", base=state)
    objects = [s for s in plan.steps if s.type.startswith("kubernetes:")]
    assert objects and {s.op for s in objects} == {"replace"}
    assert all("its provider" in " ".join(s.reasons) for s in objects)


def test_a_kubeconfig_that_names_the_same_cluster_updates_the_provider_only():
    state = deployed("aws-dev")
    (provider,) = resources(state, "aws-dev", lambda r: r["type"] == "pulumi:providers:kubernetes")
    kubeconfig = json.loads(provider["inputs"]["kubeconfig"]["__secret__"])
    kubeconfig["users"][0]["user"]["exec"]["args"] = ["eks", "get-token"]
    provider["inputs"]["kubeconfig"]["__secret__"] = json.dumps(kubeconfig)
    assert changed(planned("aws-dev", base=state)) == {("pulumi:providers:kubernetes", provider["name"]): "update"}


def test_a_field_the_load_balancer_controller_refuses_to_change_replaces_the_binding():
    state = deployed("aws-dev")
    (binding,) = resources(state, "aws-dev", lambda r: r["type"] == TGB)
    binding["inputs"]["spec"]["targetGroupARN"] = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/old/1"
    step = one(planned("aws-dev", base=state), TGB)
    assert step.op == "replace" and step.delete_before_replace and step.problems == []


def test_a_field_the_load_balancer_controller_refuses_is_refused_in_place_without_replace_on_changes(monkeypatch):
    # A program that left the binding to be updated in place (as the stacks once did) is refused: the
    # controller's webhook rejects the update and `pulumi up` stops half-way.
    state = deployed("aws-dev")  # deployed by the shipped program; the patch is the program that follows it
    monkeypatch.setattr(application, "TGB_REPLACING_FIELDS", ())
    (binding,) = resources(state, "aws-dev", lambda r: r["type"] == TGB)
    binding["inputs"]["spec"]["targetGroupARN"] = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/old/1"
    step = one(planned("aws-dev", base=state), TGB)
    assert step.op == "update"
    (problem,) = step.problems
    assert "spec.targetGroupARN cannot change in place" in problem and "docs/runbooks/changes.md" in problem


@pytest.mark.parametrize(("size", "refused"), [("500Gi", True), ("50Gi", False)])
def test_strimzi_refuses_shrinking_a_broker_volume_and_lets_it_grow(size, refused):
    state = deployed("gcp-dev")
    (pool,) = resources(state, "gcp-dev", lambda r: r["type"] == "kubernetes:kafka.strimzi.io/v1:KafkaNodePool")
    storage = pool["inputs"]["spec"]["storage"]
    target = storage["volumes"][0] if "volumes" in storage else storage
    assert target["size"] not in (size, None)
    target["size"] = size
    step = one(planned("gcp-dev", base=state), "kubernetes:kafka.strimzi.io/v1:KafkaNodePool")
    assert step.op == "update"
    assert bool(step.problems) is refused


@pytest.mark.parametrize(("size", "op"), [(50, "replace"), (200, "update")])
def test_a_cloud_sql_disk_is_replaced_when_made_smaller_and_updated_when_grown(size, op):
    # google-beta's diskSizeCutomizeDiff forces a new instance on a shrink: every row would go.
    step = one(planned("gcp-production", {"crm:database": {"diskSizeGb": size}}), "gcp:sql/databaseInstance:DatabaseInstance")
    assert step.op == op
    assert bool(step.problems) is (op == "replace")


@pytest.mark.parametrize(
    ("new", "old", "smaller"),
    [
        ("10.0.0.0/21", "10.0.0.0/20", True),
        ("10.0.0.0/19", "10.0.0.0/20", False),
        ("REDIS_7_0", "REDIS_7_2", True),
        ("50Gi", "100Gi", True),
        (200, 100, False),
    ],
)
def test_what_counts_as_smaller(new, old, smaller):
    assert diff._smaller(new, old) is smaller


def test_a_replacement_under_a_fixed_name_is_refused():
    # The repository was deployed with another key: a change of kmsKey replaces it, and its name is fixed.
    state = deployed("aws-dev")
    (repository,) = resources(state, "aws-dev", lambda r: r["type"] == "aws:ecr/repository:Repository" and r["name"].endswith("crm-api"))
    repository["inputs"]["encryptionConfigurations"][0]["kmsKey"] = "arn:aws:kms:ap-northeast-2:123456789012:key/old"
    step = one(planned("aws-dev", base=state), "aws:ecr/repository:Repository", "crm-api")
    assert step.op == "replace" and not step.delete_before_replace
    assert any("same name" in p and "collides" in p for p in step.problems)
    assert any("holds the images" in p for p in step.problems)


def test_the_clouds_deletion_protection_blocks_a_replacement():
    state = deployed("aws-dev")
    (balancer,) = resources(state, "aws-dev", lambda r: r["type"] == "aws:lb/loadBalancer:LoadBalancer")
    balancer["inputs"]["internal"] = True
    balancer["inputs"]["enableDeletionProtection"] = True
    step = one(planned("aws-dev", base=state), "aws:lb/loadBalancer:LoadBalancer")
    assert step.op == "replace"
    assert any("enableDeletionProtection on" in p for p in step.problems)


def test_a_stack_the_program_no_longer_has_is_deleted_and_its_data_refused():
    (plan,) = diff.plan(["aws-dev"], deployed("aws-dev"), lambda s: None)
    assert plan.steps and {s.op for s in plan.steps} <= {"delete", "read"}
    assert any("holds" in p for _s, p in plan.problems())


def test_the_plan_flags_a_replacement_of_the_rds_instance():
    plan = planned("aws-production", {"crm:database": {"username": "crmowner"}})
    step = one(plan, "aws:rds/instance:Instance")
    assert step.op == "replace" and "username forces a new resource" in " ".join(step.reasons)
    assert step.protect and any("is protected" in p for p in step.problems)


def test_the_plan_flags_a_replacement_of_the_cloud_sql_instance():
    moved = {
        "gcp:region": "asia-northeast1",
        "crm:network": {"zones": ["asia-northeast1-a", "asia-northeast1-b"]},
        "crm:database": {"backupLocation": "asia-northeast3"},
    }
    plan = planned("gcp-production", moved)
    step = one(plan, "gcp:sql/databaseInstance:DatabaseInstance")
    assert step.op == "replace" and "region forces a new resource" in " ".join(step.reasons)
    assert any("is protected" in p for p in step.problems)
    assert any("same name" in p for p in step.problems)


def test_the_plan_flags_a_replacement_of_the_target_group_binding():
    plan = planned("aws-production", {"crm:platform": {"appNamespace": "crm-app"}})
    step = one(plan, TGB)
    # The controller admits one binding per target group, so the old binding goes first.
    assert step.op == "replace" and step.delete_before_replace
    assert "metadata.namespace forces a new resource" in " ".join(step.reasons)


def test_every_step_of_a_refused_plan_is_in_its_json():
    plan = planned("aws-production", {"crm:database": {"username": "crmowner"}})
    document = diff.to_json([plan], "HEAD")
    assert document["refused"] == len(plan.problems()) > 0
    (stack,) = document["stacks"]
    ops = {(s["type"], s["name"]): s["op"] for s in stack["steps"]}
    assert ops == changed(plan)


def test_a_change_the_installed_sdk_documents_as_forcing_a_new_cluster_replaces_the_eks_cluster():
    """pulumi-aws 7 bridges terraform-provider-aws 6, where bootstrap_self_managed_addons forces a new
    cluster; the Terraform source the data was read from predates it, the SDK's docstring says so."""
    state = deployed("aws-dev")
    (cluster,) = resources(state, "aws-dev", lambda r: r["type"] == "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["bootstrapSelfManagedAddons"] is False
    cluster["inputs"]["bootstrapSelfManagedAddons"] = True  # created with the provider's default
    step = one(planned("aws-dev", base=state), "aws:eks/cluster:Cluster")
    assert step.op == "replace"
    assert "bootstrapSelfManagedAddons forces a new resource (the provider's documentation)" in " ".join(step.reasons)
    assert "pulumi-aws" in step.rules_source and "docstrings" in step.rules_source


@pytest.mark.parametrize("stack", ["aws-production", "gcp-production"])
def test_a_deployed_stack_runs_its_workload_from_the_image_its_stack_file_names(stack):
    """The deployed base's registries hold the shipped tag: its Deployment is the autoscaler's, not held at zero."""
    state = deployed(stack)
    (app,) = resources(state, stack, lambda r: r["type"] == "kubernetes:apps/v1:Deployment")
    assert app["inputs"]["spec"].get("replicas") is None
    assert one(planned(stack, base=state), "kubernetes:apps/v1:Deployment").op == "same"


def test_a_running_deployment_going_to_zero_replicas_is_refused(monkeypatch):
    """An image missing from the registry (or a tag never pushed) holds the workload at zero: on a stack where it
    runs, that is an outage, so the plan refuses it."""
    from tools.diff import snapshot as diff_snapshot

    state = deployed("aws-production")
    monkeypatch.setattr(diff_snapshot, "deployed_registries", lambda configs: {})
    step = one(planned("aws-production", base=state), "kubernetes:apps/v1:Deployment")
    assert step.op == "update" and [c.new for c in step.changes if c.path == "spec.replicas"] == [0]
    assert any("would go to 0 replicas" in p for p in step.problems)
