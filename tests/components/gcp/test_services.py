"""Google APIs are enabled by the stacks, derived from the types they create, and every resource waits for its own."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pytest

from components.gcp import services
from components.gcp.services import ProjectServices, ProjectServicesArgs
from stacks.config import load, read_stack_file
from tests.conftest import ALL_STACKS

SERVICE = "gcp:projects/service:Service"
GCP_STACKS = [s for s in ALL_STACKS if s.startswith("gcp-")] + ["bootstrap"]


def enabled(result) -> dict[str, str]:
    """urn -> service of every gcp.projects.Service the stack registered."""
    return {r.urn: r.inputs["service"] for r in result.of_type(SERVICE)}


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_gcp_type_a_stack_creates_has_a_row(stack, shipped):
    types = {r.type for r in shipped(stack).resources if r.custom and r.type.startswith("gcp:")}
    for type_ in types:
        assert services.row_for(type_).services, type_


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_gcp_resource_waits_for_each_api_its_type_calls(stack, shipped):
    result = shipped(stack)
    apis = enabled(result)
    judged = [r for r in result.resources if r.custom and r.type.startswith("gcp:") and r.type != SERVICE]
    assert judged and apis
    for r in judged:
        waited = {apis[d] for d in r.dependencies if d in apis}
        assert set(services.services_for(r.type, r.inputs)) <= waited, (r.type, r.name)


def test_the_certificate_manager_resources_wait_for_certificate_manager(shipped):
    result = shipped("gcp-dr")
    api = result.one(SERVICE, "crm-dr-apis-certificatemanager")
    assert api.inputs["disableOnDestroy"] is False
    for r in result.resources:
        if r.type.startswith("gcp:certificatemanager/"):
            assert api.urn in r.dependencies, r.name


def test_resources_inside_components_wait_too(shipped):
    result = shipped("gcp-dr")
    cluster = result.one("gcp:container/cluster:Cluster")
    assert cluster.parent.endswith("crm:gcp:GkeCluster::crm-dr-gke")
    apis = enabled(result)
    assert {"container.googleapis.com", "iamcredentials.googleapis.com"} <= {apis[d] for d in cluster.dependencies if d in apis}


def test_the_budget_waits_for_the_billing_budgets_api(shipped):
    result = shipped("gcp-dev")
    budget = result.one("gcp:billing/budget:Budget")
    assert result.one(SERVICE, "crm-dev-apis-billingbudgets").urn in budget.dependencies


def test_a_grant_to_an_agent_google_creates_with_its_api_waits_for_that_api(shipped):
    result = shipped("gcp-dr")
    grant = result.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "crm-dr-keys-redis-agent")
    assert "cloud-redis" in grant.inputs["member"]
    assert result.one(SERVICE, "crm-dr-apis-redis").urn in grant.dependencies


def test_only_the_apis_the_stack_needs_are_enabled(shipped, run_stack):
    with_database = run_stack("gcp-dev", {"crm:database": {"enabled": True}})
    assert "sqladmin.googleapis.com" not in enabled(shipped("gcp-dev")).values()
    assert "sqladmin.googleapis.com" in enabled(with_database).values()


def test_bootstrap_enables_in_the_ci_project_what_the_deploy_account_is_billed_for(shipped):
    result = shipped("bootstrap")
    ci_project = load("bootstrap", read_stack_file("bootstrap")).gcp_project
    in_ci = {r.inputs["service"] for r in result.of_type(SERVICE) if r.inputs["project"] == ci_project}
    # In the deploy projects, only what bootstrap's own resources there need: IAM, for the stacks' service accounts.
    elsewhere = {r.inputs["service"] for r in result.of_type(SERVICE) if r.inputs["project"] != ci_project}
    assert elsewhere == {"iam.googleapis.com"}
    assert set(services.CLIENT_BASED) <= in_ci
    assert {"sts.googleapis.com", "iamcredentials.googleapis.com"} <= set(enabled(result).values())  # the pool's provider


def test_a_type_without_a_row_stops_the_program(run_component):
    def program():
        apis = ProjectServices("apis", ProjectServicesArgs(project="p"))
        pulumi.runtime.register_stack_transformation(apis.transformation)
        gcp.pubsub.Topic("events", project="p")

    with pytest.raises(services.UnknownServiceType, match=r"no row in components/gcp/services.py SERVICES for gcp:pubsub/topic:Topic"):
        run_component(program)


def test_a_service_identity_also_waits_for_the_service_it_creates_the_agent_of():
    assert services.services_for("gcp:projects/serviceIdentity:ServiceIdentity", {"service": "sqladmin.googleapis.com"}) == (
        "serviceusage.googleapis.com",
        "sqladmin.googleapis.com",
    )


def test_every_row_names_its_source_and_real_service_names():
    for row in services.SERVICES:
        assert row.source.startswith("https://") and row.services
        assert all(s.endswith(".googleapis.com") for s in row.services)
