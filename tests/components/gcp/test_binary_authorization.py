from __future__ import annotations

import re

import pytest

from components.gcp.binary_authorization import BinaryAuthorizationArgs

POLICY = "gcp:binaryauthorization/policy:Policy"


def admitted(patterns: list[str], image: str) -> bool:
    """Binary Authorization's allowlist match: a trailing `*` stays within one path segment, `**` also matches below."""
    for pattern in patterns:
        if pattern.endswith("**"):
            regex = re.escape(pattern[:-2]) + ".*"
        elif pattern.endswith("*"):
            regex = re.escape(pattern[:-1]) + "[^/]*"
        else:
            regex = re.escape(pattern)
        if re.fullmatch(regex, image):
            return True
    return False


def _patterns(result) -> list[str]:
    return [p["namePattern"] for p in result.one(POLICY)["admissionWhitelistPatterns"]]


def _pod_images(result) -> set[str]:
    images = set()

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key == "image" and isinstance(value, str):
            images.add(value)

    for r in result.resources:
        if r.type.startswith("kubernetes:"):
            walk(r.inputs)
    return images


def test_default_rule_denies_and_blocks_with_audit_log(shipped):
    rule = shipped("gcp-dr").one(POLICY)["defaultAdmissionRule"]
    assert (rule["evaluationMode"], rule["enforcementMode"]) == ("ALWAYS_DENY", "ENFORCED_BLOCK_AND_AUDIT_LOG")


def test_gke_system_images_follow_googles_global_policy(shipped):
    assert shipped("gcp-dr").one(POLICY)["globalPolicyEvaluationMode"] == "ENABLE"


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-dr"])
def test_every_image_the_stack_runs_is_admitted(stack, shipped):
    result = shipped(stack, preview=False)
    images = _pod_images(result)
    assert images, "the stack runs pods"
    assert [i for i in sorted(images) if not admitted(_patterns(result), i)] == []


def test_application_images_are_admitted_from_our_registry_only(shipped):
    result = shipped("gcp-dr", preview=False)
    patterns, registry = _patterns(result), result.outputs["registryUrl"]
    assert admitted(patterns, f"{registry}/crm-api/v2:1.2.3")
    assert not admitted(patterns, registry.rsplit("/", 1)[0] + "/other-repo/crm-api:1.2.3")


@pytest.mark.parametrize(
    "image",
    ["quay.io/strimzi/operator:0.45.0", "quay.io/strimzi/kafka:0.45.0-kafka-3.9.0", "ghcr.io/external-secrets/external-secrets:v0.18.2"],
)
def test_operator_images_are_admitted(image, shipped):
    assert admitted(_patterns(shipped("gcp-dr", preview=False)), image)


@pytest.mark.parametrize(
    "image",
    [
        "docker.io/library/nginx:latest",
        "quay.io/strimzi-fork/operator:0.45.0",
        "ghcr.io/attacker/external-secrets:v1",
        "docker.io/library/postgres:16",
    ],
)
def test_other_images_are_denied(image, shipped):
    assert not admitted(_patterns(shipped("gcp-dr", preview=False)), image)


def test_cluster_enforces_the_project_policy(shipped):
    result = shipped("gcp-dr")
    cluster = result.one("gcp:container/cluster:Cluster")
    assert cluster["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    assert result.one(POLICY).urn in cluster.dependencies


def test_cluster_has_intranode_visibility(shipped):
    assert shipped("gcp-dr").one("gcp:container/cluster:Cluster")["enableIntranodeVisibility"] is True


def test_an_allowlist_entry_with_an_inner_wildcard_is_refused():
    with pytest.raises(ValueError, match="trailing wildcard"):
        BinaryAuthorizationArgs(project="p", registry_url="r", images=["docker.io/*/postgres:15"])


def test_a_client_image_without_its_registry_is_a_config_error():
    from tests.stacks.test_config import one_problem

    assert "registry" in one_problem("gcp-dr", {"crm:database": {"clientImage": "postgres:15-alpine"}}, "crm:database.clientImage")
