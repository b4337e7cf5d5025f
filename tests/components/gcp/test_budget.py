"""The GCP budget: created through a provider that bills its API calls to the stack's project, where it was before."""

from __future__ import annotations

import pytest

from components.gcp.budget import ProjectBudgetArgs
from stacks.config import load, read_stack_file

GCP_STACKS = ["gcp-dev", "gcp-staging", "gcp-production", "gcp-dr"]


def _provider_of(result, resource):
    return next(r for r in result.of_type("pulumi:providers:gcp") if resource.provider.startswith(r.urn))


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_budget_bills_its_api_calls_to_the_stack_s_project(shipped, stack):
    # Without a billing project the Billing Budgets API answers 403 to user credentials (the provider's warning).
    result = shipped(stack)
    budget = result.one("gcp:billing/budget:Budget")
    provider = _provider_of(result, budget)
    project = load(stack, read_stack_file(stack)).project_id
    assert provider["billingProject"] == project and provider["userProjectOverride"] == "true"  # provider config travels as text


def test_only_the_budget_goes_through_the_billing_provider(shipped):
    result = shipped("gcp-dr")
    billing = result.one("pulumi:providers:gcp")
    users = [r.type for r in result.resources if r.provider.startswith(billing.urn)]
    assert users == ["gcp:billing/budget:Budget"]


def test_the_budget_keeps_its_state_from_under_the_monitoring_component(shipped):
    result = shipped("gcp-dr")
    budget = result.one("gcp:billing/budget:Budget")
    monitoring = result.one("crm:gcp:Monitoring")
    assert budget.name == f"{monitoring.name}-budget"  # its name then
    deployed_parent = monitoring.urn.replace("pulumi:pulumi:Stack$", "")  # the engine leaves the stack out of URNs; the mocks do not
    assert deployed_parent in [a.get("spec", {}).get("parentUrn") for a in budget.aliases]  # its parent then


def test_a_budget_needs_a_positive_amount_and_percentages():
    with pytest.raises(ValueError, match=r"positive.*|.*percentage"):
        ProjectBudgetArgs(project="p", billing_account="A", monthly_budget_usd=0, alert_percents=[], notification_channels=[])
