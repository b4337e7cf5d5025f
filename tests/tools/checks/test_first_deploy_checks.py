"""The first deploy rehearsed offline: each check passes on the shipped stacks and fails on its own broken example."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_STACKS
from tools.checks import deploy_checks
from tools.checks.first_deploy_checks import CRD_SOURCE
from tools.policy_check import from_preview

NEW_CHECKS = ("api-enabled", "image-pushed", "crd-before-custom-resource", "webhook-before-object")


def findings(plan, policy: str) -> list[str]:
    return [v.message for v in deploy_checks.check(plan, only=[policy])]


def one(plan, type_: str, name_contains: str = ""):
    found = [r for r in plan if r.type == type_ and name_contains in r.name]
    assert len(found) == 1, [r.name for r in plan if r.type == type_]
    return found[0]


def forget(plan, upstream) -> None:
    """Every resource stops waiting for `upstream` (as if nobody had written the depends_on)."""
    for r in plan:
        r.dependencies = [d for d in r.dependencies if d != upstream.urn]
        r.property_dependencies = {k: [u for u in v if u != upstream.urn] for k, v in r.property_dependencies.items()}


def test_the_rehearsal_checks_are_registered_with_their_sources():
    registered = {c.name: c.source for c in deploy_checks.checks()}
    assert set(NEW_CHECKS) <= set(registered) and all(registered[name] for name in NEW_CHECKS)


@pytest.mark.parametrize("stack", ALL_STACKS)
@pytest.mark.parametrize("policy", NEW_CHECKS)
def test_shipped_stacks_meet_every_precondition_in_creation_order(stack, policy, shipped):
    assert findings(from_preview(shipped(stack)), policy) == []


def test_the_creation_order_puts_everything_after_what_it_waits_for(shipped):
    plan = deploy_checks.Plan(from_preview(shipped("gcp-dr")))
    order = [r.urn for r in plan.creation_order()]
    assert len(order) == len(plan.resources)
    position = {urn: i for i, urn in enumerate(order)}
    assert all(position[u] < position[r.urn] for r in plan for u in plan.ready_before(r) if u in position)


def test_a_gcp_resource_that_does_not_wait_for_its_api_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    forget(plan, one(plan, "gcp:projects/service:Service", "certificatemanager"))
    messages = findings(plan, "api-enabled")
    assert messages and all("certificatemanager.googleapis.com but does not wait for the Service" in m for m in messages)
    assert any(m.startswith("Certificate 'crm-dr-cert-cert-") for m in messages)


def test_a_gcp_resource_whose_api_nobody_enables_fails(shipped):
    plan = [r for r in from_preview(shipped("gcp-dr")) if not (r.type == "gcp:projects/service:Service" and "monitoring" in r.name)]
    messages = findings(plan, "api-enabled")
    assert messages and all("calls monitoring.googleapis.com, which no gcp.projects.Service in this stack enables" in m for m in messages)


def test_a_gcp_type_without_a_row_in_the_services_table_fails(shipped):
    plan = from_preview(shipped("gcp-dev"))
    one(plan, "gcp:billing/budget:Budget").type = "gcp:pubsub/topic:Topic"
    assert ["no row in components/gcp/services.py SERVICES for gcp:pubsub/topic:Topic" in m for m in findings(plan, "api-enabled")] == [
        True
    ]


def test_a_grant_to_the_gke_agent_waits_for_the_api_that_creates_the_agent(shipped):
    plan = from_preview(shipped("gcp-dr"))
    forget(plan, one(plan, "gcp:projects/service:Service", "-container"))
    messages = findings(plan, "api-enabled")
    grants = [m for m in messages if m.startswith("CryptoKeyIAMMember 'crm-dr-keys-gke-agent'")]
    assert grants and "service-agents" in grants[0]


def test_an_api_disabled_on_destroy_fails(shipped):
    plan = from_preview(shipped("gcp-dev"))
    one(plan, "gcp:projects/service:Service", "-compute").inputs["disableOnDestroy"] = True
    assert ["disables compute.googleapis.com when it is destroyed" in m for m in findings(plan, "api-enabled")] == [True]


@pytest.mark.parametrize("stack", ["aws-dr", "gcp-dr"])
def test_a_workload_awaited_with_an_image_from_its_own_new_registry_fails(stack, shipped):
    plan = from_preview(shipped(stack))
    deployment = one(plan, "kubernetes:apps/v1:Deployment", "-app-")
    del deployment.inputs["spec"]["replicas"]  # the autoscaler's count from the start: 1 pod at once
    messages = findings(plan, "image-pushed")
    assert len(messages) == 2
    assert messages[0].startswith(f"Deployment '{deployment.name}': waits for pods whose image comes from Repository")
    assert messages[1].startswith("Service '") and "endpoints" in messages[1]


def test_a_workload_held_at_zero_replicas_passes(shipped):
    plan = from_preview(shipped("aws-dr"))
    one(plan, "kubernetes:apps/v1:Deployment", "-app-").inputs["spec"]["replicas"] = 0
    assert findings(plan, "image-pushed") == []


def test_a_custom_resource_before_its_operator_release_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    forget(plan, one(plan, "kubernetes:helm.sh/v3:Release", "strimzi"))
    kafka = one(plan, "kubernetes:kafka.strimzi.io/v1:Kafka")
    messages = [m for m in findings(plan, "crd-before-custom-resource") if m.startswith(f"Kafka '{kafka.name}'")]
    assert messages == [
        f"Kafka '{kafka.name}': kafka.strimzi.io/v1 Kafka is defined by a CRD that Release 'crm-dr-kafka-strimzi' installs, but it "
        f"does not wait for it: created first, the API server answers 'no matches for kind Kafka' ({CRD_SOURCE})"
    ]


def test_an_object_the_controllers_webhook_admits_before_the_controller_fails(shipped):
    plan = from_preview(shipped("aws-dr"))
    forget(plan, one(plan, "kubernetes:helm.sh/v3:Release", "-lbc"))
    messages = findings(plan, "webhook-before-object")
    assert len(messages) == 1
    assert messages[0].startswith("TargetGroupBinding 'crm-dr-app-tgb': is admitted by the webhooks mtargetgroupbinding.elbv2.k8s.aws")
    assert "aws-load-balancer-controller/blob/v3.5.0" in messages[0]


def test_an_external_secret_before_the_operator_fails(shipped):
    plan = from_preview(shipped("gcp-dev"))
    forget(plan, one(plan, "kubernetes:helm.sh/v3:Release", "-eso"))
    messages = findings(plan, "webhook-before-object")
    assert messages and any(m.startswith("ExternalSecret 'crm-dev-app-app-env'") for m in messages)


def test_a_saved_plan_keeps_the_providers_and_property_dependencies_the_walk_needs(shipped, tmp_path):
    import json

    from tools.engine.render import preview_json
    from tools.policy_check import from_plan_file

    saved = tmp_path / "gcp-dr.json"
    saved.write_text(json.dumps(preview_json(shipped("gcp-dr"))))
    plan = from_plan_file(saved)
    kafka = one(plan, "kubernetes:kafka.strimzi.io/v1:Kafka")
    assert kafka.provider and deploy_checks.check(plan, only=NEW_CHECKS) == []
    release = one(plan, "kubernetes:helm.sh/v3:Release", "strimzi")
    assert release.urn in deploy_checks.Plan(plan).ready_before(kafka)
