"""A stack comes up green before the application was ever built: the workload waits at zero replicas for its image.

The registry is read at deploy time with the provider's own data source (aws.ecr.getImages,
gcp.artifactregistry.getDockerImages); the offline fakes answer from `fakes.REGISTRY_TAGS`.
"""

from __future__ import annotations

import pytest

from stacks.config import ConfigValidationError
from tools.engine import fakes

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
# The repository each stack's workload pulls from, as ImageCheck names it, and the shipped tag.
REPOSITORY = {"aws-dr": "crm-dr/crm-api", "gcp-dr": "crm-dr/crm-api"}
SHIPPED_TAG = "1.0.0"


@pytest.fixture
def registry(monkeypatch):
    """What the fake registries hold for this test."""
    held: dict[str, list[str]] = {}
    monkeypatch.setattr(fakes, "REGISTRY_TAGS", held)
    return held


def _app(result):
    return result.one(DEPLOYMENT)


@pytest.mark.parametrize("stack", sorted(REPOSITORY))
def test_the_first_deploy_creates_the_workload_with_zero_replicas(stack, run_stack, registry):
    result = run_stack(stack, preview=False)  # the registries hold nothing, as shipped: the session's run of the stack file
    assert _app(result).inputs["spec"]["replicas"] == 0
    assert any(f"{REPOSITORY[stack]} holds no image yet" in w and "0 replicas" in w for w in result.warnings())


@pytest.mark.parametrize("stack", sorted(REPOSITORY))
def test_the_autoscaler_owns_the_count_once_the_registry_holds_the_image(stack, run_stack, registry):
    registry[REPOSITORY[stack]] = ["0.9.0", SHIPPED_TAG]
    result = run_stack(stack, preview=False, fresh=True)
    assert _app(result).inputs["spec"].get("replicas") is None  # unset: the API server's default, then the HPA's count
    assert not [w for w in result.warnings() if "crm:application.imageTag" in w]


@pytest.mark.parametrize("stack", sorted(REPOSITORY))
def test_a_tag_missing_from_a_repository_that_holds_images_is_an_error_not_a_scale_down(stack, run_stack, registry):
    registry[REPOSITORY[stack]] = ["0.9.0"]
    with pytest.raises(ConfigValidationError) as error:
        run_stack(stack, preview=False, fresh=True)
    assert f"crm:application.imageTag: '{SHIPPED_TAG}' is not in {REPOSITORY[stack]} (it holds 0.9.0" in str(error.value)


@pytest.mark.parametrize("stack", sorted(REPOSITORY))
def test_the_preview_of_the_update_that_creates_the_registry_says_the_workload_starts_at_zero(stack, shipped):
    result = shipped(stack)
    assert _app(result).inputs["spec"]["replicas"] is not None  # decided at deploy time, after the registry exists
    warning = [w for w in result.warnings() if w.startswith("crm:application.imageTag")]
    assert len(warning) == 1 and "created with 0 replicas" in warning[0] and f"first-deploy {stack}" in warning[0]
