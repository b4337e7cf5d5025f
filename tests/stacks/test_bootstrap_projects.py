"""Bootstrap can create the gcp-* stacks' projects, linked to billing (crm:projects), instead of a person."""

from __future__ import annotations

import pytest

from stacks.config import ConfigValidationError

PROJECT = "gcp:organizations/project:Project"
FACTORY = {"create": True, "billingAccount": "01A2B3-C4D5E6-F7A8B9", "organizationId": "123456789012"}


def test_each_deploy_project_is_created_linked_to_billing_and_protected(run_stack):
    result = run_stack("bootstrap", {"crm:projects": FACTORY}, preview=False)
    created = result.of_type(PROJECT)
    wanted = result.of_type("gcp:projects/iAMMember:IAMMember")
    assert sorted(r.inputs["projectId"] for r in created) == sorted({r.inputs["project"] for r in wanted})
    for project in created:
        assert project.inputs["billingAccount"] == FACTORY["billingAccount"] and project.inputs["orgId"] == FACTORY["organizationId"]
        assert project.inputs["autoCreateNetwork"] is False and project.inputs["deletionPolicy"] == "PREVENT" and project.protect


def test_the_ci_grants_in_a_created_project_wait_for_it(run_stack):
    result = run_stack("bootstrap", {"crm:projects": FACTORY}, preview=False)
    projects = {r.inputs["projectId"]: r.urn for r in result.of_type(PROJECT)}
    grants = result.of_type("gcp:projects/iAMMember:IAMMember")
    assert grants and all(projects[g.inputs["project"]] in g.dependencies for g in grants)


def test_the_billing_link_waits_for_the_cloud_billing_api(run_stack):
    result = run_stack("bootstrap", {"crm:projects": FACTORY}, preview=False)
    billing = result.one("gcp:projects/service:Service", "crm-apis-cloudbilling")
    assert all(billing.urn in p.dependencies for p in result.of_type(PROJECT))


def test_projects_are_not_created_unless_asked(shipped):
    assert shipped("bootstrap").of_type(PROJECT) == []


def test_creating_projects_needs_a_billing_account(run_stack):
    with pytest.raises(ConfigValidationError, match=r"crm:projects.billingAccount: is required when crm:projects.create is true"):
        run_stack("bootstrap", {"crm:projects": {"create": True}})


def test_a_folder_and_an_organization_together_are_refused(run_stack):
    with pytest.raises(ConfigValidationError, match=r"crm:projects.folderId: give the folder or the organization, not both"):
        run_stack("bootstrap", {"crm:projects": {**FACTORY, "folderId": "4567"}})
