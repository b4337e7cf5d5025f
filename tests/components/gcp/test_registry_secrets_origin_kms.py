from __future__ import annotations

import json
import re
from pathlib import Path

from components.gcp.artifact_registry import ArtifactRegistry, ArtifactRegistryArgs
from components.gcp.kms import GcpKms, GcpKmsArgs
from components.gcp.origin import GlobalOrigin, GlobalOriginArgs
from components.gcp.secret_manager import AppEnvSecret, AppEnvSecretArgs
from tests.helpers import is_secret, provider_value, secret_value


def test_docker_repository_with_cleanup_policies(run_component):
    repo = run_component(
        lambda: ArtifactRegistry("ar", ArtifactRegistryArgs(project="p", region="asia-northeast3", repository_id="crm", labels={}))
    ).one("gcp:artifactregistry/repository:Repository")
    assert repo["format"] == "DOCKER" and repo["dockerConfig"] == {"immutableTags": True}
    assert repo["cleanupPolicyDryRun"] is False


def _survivors(policies: list[dict], versions: list[dict]) -> list[dict]:
    """Artifact Registry's cleanup: a version goes when a DELETE policy matches it and no KEEP policy does.

    Versions are newest first; each has `tagged` and `age_days`. Conditions modelled: tagState and
    olderThan ("<seconds>s"); mostRecentVersions.keepCount on a KEEP.
    """

    def matches(policy: dict, index: int, version: dict) -> bool:
        if "mostRecentVersions" in policy:
            return index < policy["mostRecentVersions"]["keepCount"]
        condition = policy.get("condition") or {}
        state = condition.get("tagState", "ANY")
        if state != "ANY" and (state == "TAGGED") != version["tagged"]:
            return False
        older = condition.get("olderThan")
        return older is None or version["age_days"] * 86400 > int(older.rstrip("s"))

    kept = []
    for index, version in enumerate(versions):
        deleted = any(p["action"] == "DELETE" and matches(p, index, version) for p in policies)
        keep = any(p["action"] == "KEEP" and matches(p, index, version) for p in policies)
        if keep or not deleted:
            kept.append(version)
    return kept


def test_cleanup_caps_each_image_at_keep_images(run_component):
    repo = run_component(
        lambda: ArtifactRegistry(
            "ar", ArtifactRegistryArgs(project="p", region="asia-northeast3", repository_id="crm", labels={}, keep_images=10)
        )
    ).one("gcp:artifactregistry/repository:Repository")
    versions = [{"tagged": i % 5 != 4, "age_days": i} for i in range(40)]  # one image, newest first, a few untagged
    survivors = _survivors(repo["cleanupPolicies"], versions)
    assert survivors == versions[:10]


def test_app_env_secret_payload_is_a_secret_json(run_component):
    result = run_component(
        lambda: AppEnvSecret("s", AppEnvSecretArgs(project="p", secret_id="crm-dr-app-env", payload={"A": "1"}, labels={}))
    )
    version = result.one("gcp:secretmanager/secretVersion:SecretVersion")
    assert is_secret(version["secretData"]) and json.loads(secret_value(version["secretData"])) == {"A": "1"}
    assert result.one("gcp:secretmanager/secret:Secret")["replication"] == {"auto": {}}


def test_origin_is_a_reserved_global_ipv4(run_component):
    address = run_component(lambda: GlobalOrigin("o", GlobalOriginArgs(project="p", address_name="crm-dr-origin", labels={}))).one(
        "gcp:compute/globalAddress:GlobalAddress"
    )
    assert (address["addressType"], address["ipVersion"], address["name"]) == ("EXTERNAL", "IPV4", "crm-dr-origin")


def test_origin_ip_is_exported(shipped):
    result = shipped("gcp-dr", preview=False)
    assert result.outputs["originIp"] == provider_value(
        result.one("gcp:compute/globalAddress:GlobalAddress", "crm-dr-origin-ip"), "address"
    )


def test_keys_rotate_and_service_agents_may_use_them(run_component):
    result = run_component(lambda: GcpKms("k", GcpKmsArgs(project="p", region="asia-northeast3", purposes=["gke", "sql"], labels={})))
    keys = result.of_type("gcp:kms/cryptoKey:CryptoKey")
    assert len(keys) == 2 and all(k["rotationPeriod"] == "7776000s" for k in keys)
    members = sorted(m["member"] for m in result.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"))
    assert members == [
        "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com",
        "serviceAccount:service-123456789012@gcp-sa-cloud-sql.iam.gserviceaccount.com",
    ]


def test_stateful_gcp_resources_protected_outside_dev(shipped):
    for resource_type in ("gcp:kms/cryptoKey:CryptoKey", "gcp:artifactregistry/repository:Repository", "gcp:secretmanager/secret:Secret"):
        staging, dev = shipped("gcp-staging").of_type(resource_type), shipped("gcp-dev").of_type(resource_type)
        assert staging and all(r.protect for r in staging), resource_type
        assert dev and not any(r.protect for r in dev), resource_type


def test_cloud_sql_agent_is_created_before_its_key_grant(run_component):
    result = run_component(lambda: GcpKms("k", GcpKmsArgs(project="p", region="asia-northeast3", purposes=["sql"], labels={})))
    identity = result.one("gcp:projects/serviceIdentity:ServiceIdentity")
    assert identity["service"] == "sqladmin.googleapis.com"
    assert identity.urn in result.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").dependencies


def _key_grant_for(result, urn_dependencies: list[str], agent_domain: str):
    grants = [g for g in result.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") if g.urn in urn_dependencies]
    return [g for g in grants if g["member"].endswith("@" + agent_domain)]


def _key_named(result, urns: list[str]):
    return [k["name"] for k in result.of_type("gcp:kms/cryptoKey:CryptoKey") if k.urn in urns]


def test_registry_is_encrypted_with_its_own_key(shipped):
    result = shipped("gcp-dr", preview=False)
    repo = result.one("gcp:artifactregistry/repository:Repository")
    assert _key_named(result, repo.property_dependencies["kmsKeyName"]) == ["registry"]
    key = next(k for k in result.of_type("gcp:kms/cryptoKey:CryptoKey") if k["name"] == "registry")
    assert repo["kmsKeyName"] == f"{key.name}-id"


def test_registry_waits_for_its_agents_key_grant(shipped):
    result = shipped("gcp-dr")
    repo = result.one("gcp:artifactregistry/repository:Repository")
    assert len(_key_grant_for(result, repo.dependencies, "gcp-sa-artifactregistry.iam.gserviceaccount.com")) == 1


def test_secret_waits_for_its_agents_key_grant(shipped):
    result = shipped("gcp-dr")
    secret = result.one("gcp:secretmanager/secret:Secret")
    assert len(_key_grant_for(result, secret.dependencies, "gcp-sa-secretmanager.iam.gserviceaccount.com")) == 1


def test_registry_and_secret_manager_agents_exist_before_their_grants(shipped):
    result = shipped("gcp-dr")
    identities = {i["service"]: i.urn for i in result.of_type("gcp:projects/serviceIdentity:ServiceIdentity")}
    grants = {g["member"].split("@")[1]: g for g in result.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")}
    assert identities["artifactregistry.googleapis.com"] in grants["gcp-sa-artifactregistry.iam.gserviceaccount.com"].dependencies
    assert identities["secretmanager.googleapis.com"] in grants["gcp-sa-secretmanager.iam.gserviceaccount.com"].dependencies


def test_app_env_secret_is_kept_in_the_stack_region_under_its_own_key(shipped):
    result = shipped("gcp-dr", preview=False)
    replicas = result.one("gcp:secretmanager/secret:Secret")["replication"]["userManaged"]["replicas"]
    key = next(k for k in result.of_type("gcp:kms/cryptoKey:CryptoKey") if k["name"] == "secrets")
    ring = result.one("gcp:kms/keyRing:KeyRing")
    assert [r["location"] for r in replicas] == [ring["location"]]
    assert replicas[0]["customerManagedEncryption"] == {"kmsKeyName": f"{key.name}-id"}


def test_secret_key_without_region_is_refused():
    import pytest

    with pytest.raises(ValueError, match="region"):
        AppEnvSecretArgs(project="p", secret_id="s", payload={}, labels={}, kms_key="projects/p/locations/r/keyRings/k/cryptoKeys/secrets")


# The CMEK migration (docs/hardening.md): a new key or replication replaces the repository and the secret,
# whose ids are fixed. Created beside the old one, the new one would collide (409); the old one goes first.


def test_a_changed_key_or_replication_replaces_the_secret_old_one_first(shipped):
    secret = shipped("gcp-production").one("gcp:secretmanager/secret:Secret")
    assert secret.options.get("deleteBeforeReplace") is True
    # The provider's deletion_protection lives in Pulumi's state only and fails every replacement; protect guards it.
    assert secret["deletionProtection"] is False and secret.protect


def test_a_changed_key_replaces_the_repository_old_one_first(shipped):
    repository = shipped("gcp-production").one("gcp:artifactregistry/repository:Repository")
    assert repository.options.get("deleteBeforeReplace") is True and repository.protect


def _migration_steps() -> str:
    text = (Path(__file__).resolve().parents[3] / "docs" / "hardening.md").read_text()
    start = text.index("**Migrating a stack deployed before customer-managed keys**")
    return text[start : text.index("[`kms-customer-managed-keys`]:", start)]


def test_the_cmek_migration_keeps_the_production_secret(shipped):
    # The provider refuses the delete only on its state's flag: the runbook turns that off, never deletes the secret.
    steps = _migration_steps()
    assert "gcloud secrets delete" not in steps and "state delete" not in steps
    secret = shipped("gcp-production").one("gcp:secretmanager/secret:Secret")
    assert f"...-{secret.name.split('-', 2)[2]}" in steps and ".inputs.deletionProtection" in steps


def test_the_cmek_migration_leaves_the_running_workload_out_until_the_images_are_back(shipped):
    # The repository is re-created empty; an up that includes the Deployment would hold it at zero replicas.
    steps = _migration_steps()
    excluded = re.findall(r"pulumi up --exclude '<urn of \.\.\.-([a-z-]+)>'", steps)
    deployment = shipped("gcp-production").one("kubernetes:apps/v1:Deployment")
    assert excluded and all(deployment.name.endswith(f"-{name}") for name in excluded)
    assert steps.index("--exclude") < steps.index("Push the images back") < steps.rindex("`pulumi up`")
