"""The bootstrap stack: what it creates from the shipped file, its config checks, and how the other stacks use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stacks.config import ConfigValidationError, find_placeholders, load, read_stack_file
from tests.conftest import ALL_STACKS, stack_config
from tools.cli import main
from tools.engine.workspace import deploy_order

PROJECT = Path(__file__).resolve().parents[2]
OTHERS = [s for s in ALL_STACKS if s != "bootstrap"]


def errors(changes: dict) -> dict[str, str]:
    with pytest.raises(ConfigValidationError) as caught:
        load("bootstrap", stack_config("bootstrap", changes))
    return {p.key: p.message for p in caught.value.problems}


def test_default_backend_is_s3_with_the_aws_kms_secrets_provider(shipped):
    result = shipped("bootstrap", preview=False)
    assert result.outputs["backendUrl"] == "s3://crm-pulumi-state-bucket?region=ap-northeast-2"
    assert result.outputs["secretsProvider"] == "awskms://alias/crm-pulumi-secrets?region=ap-northeast-2"
    assert result.of_type("gcp:storage/bucket:Bucket") == [] and result.of_type("gcp:kms/cryptoKey:CryptoKey") == []


def test_gcs_and_gcpkms_are_chosen_by_config(run_stack):
    result = run_stack("bootstrap", {"crm:state": {"backend": "gcs", "secretsProvider": "gcpkms"}}, preview=False)
    assert result.outputs["backendUrl"] == "gs://crm-pulumi-state"
    assert result.outputs["secretsProvider"] == "gcpkms://crm-pulumi-secrets-key-id"
    assert result.of_type("aws:s3/bucket:Bucket") == [] and result.of_type("aws:kms/key:Key") == []
    # Even with state in GCS, CI's AWS roles exist: the aws-* stacks deploy through them.
    assert len(result.of_type("aws:iam/role:Role")) == 2


def test_outputs_are_what_the_workflows_read(shipped):
    result = shipped("bootstrap", preview=False)
    outputs = result.outputs
    pool = result.one("gcp:iam/workloadIdentityPool:WorkloadIdentityPool")["workloadIdentityPoolId"]
    assert (
        outputs["gcpWorkloadIdentityProvider"]
        == f"projects/123456789012/locations/global/workloadIdentityPools/{pool}/providers/github-actions"
    )
    assert outputs["gcpDeployServiceAccount"] == "crm-ci-deploy@crm-ci-project.iam.gserviceaccount.com"
    assert outputs["awsDeployRoleArn"] == "arn:aws:iam::123456789012:role/github-crm-deploy"
    assert outputs["awsPreviewRoleArn"] == "arn:aws:iam::123456789012:role/github-crm-preview"


def test_roles_trust_the_configured_repository_environments_and_branches(shipped):
    result = shipped("bootstrap")
    subjects = {
        role.name: json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ]
        for role in result.of_type("aws:iam/role:Role")
    }
    repo = "repo:example-org/crm-infrastructure"
    assert subjects == {
        "crm-ci-deploy": [f"{repo}:environment:non-production", f"{repo}:environment:production"],
        "crm-ci-preview": [f"{repo}:pull_request", f"{repo}:ref:refs/heads/main"],
    }


def test_deploy_account_is_granted_on_every_deploy_project(shipped):
    grants = [m for m in shipped("bootstrap").of_type("gcp:projects/iAMMember:IAMMember") if m.name.startswith("crm-ci-deploy-")]
    projects = {m["project"] for m in grants}
    assert projects == {"crm-dev-project", "crm-staging-project", "crm-production-project", "crm-dr-project"}
    assert projects == {read_stack_file(s)["gcp:project"] for s in OTHERS if s.startswith("gcp-")}


def test_stateful_resources_are_protected(shipped):
    stateful = [r for r in shipped("bootstrap").resources if r.type in ("aws:s3/bucket:Bucket", "aws:kms/key:Key")]
    assert len(stateful) == 4 and all(r.protect for r in stateful)


@pytest.mark.parametrize("stack", OTHERS)
def test_stack_files_name_the_bootstrap_secrets_provider_instead_of_a_passphrase(stack, shipped):
    document = yaml.safe_load((PROJECT / f"Pulumi.{stack}.yaml").read_text())
    assert document["secretsprovider"] == shipped("bootstrap", preview=False).outputs["secretsProvider"]
    assert "encryptionsalt" not in document


def test_the_top_level_secretsprovider_is_not_config():
    raw = read_stack_file("aws-dr")
    assert "secretsprovider" not in raw and not any(k.startswith("secretsprovider") for k in raw)
    assert not any("secretsprovider" in p.key for p in find_placeholders(raw))
    load("aws-dr", raw)


def test_bootstrap_deploys_first():
    assert deploy_order(list(reversed(ALL_STACKS)))[0] == "bootstrap"


def test_preview_all_starts_with_bootstrap(capsys):
    assert main(["preview", "--all"]) == 0
    order = capsys.readouterr().out.strip().splitlines()[-1]
    assert order.startswith("Deploy order: bootstrap -> ")


def test_policy_check_of_bootstrap_passes(capsys):
    assert main(["check", "bootstrap"]) == 0
    assert "0 mandatory" in capsys.readouterr().out


def test_shipped_placeholders_are_reported():
    keys = {p.key for p in find_placeholders(read_stack_file("bootstrap"))}
    assert {"crm:github.repository", "gcp:project", "crm:state.awsOperators[0]", "crm:state.gcpOperators[0]"} <= keys


@pytest.mark.parametrize("repository", ["example-org/*", "*/crm", "example-org", "a/b/c", "example org/crm"])
def test_a_repository_that_is_not_one_owner_and_name_is_refused(repository):
    assert "crm:github.repository" in errors({"crm:github": {"repository": repository}})


def test_wildcard_environments_and_branches_are_refused():
    found = errors({"crm:github": {"deployEnvironments": ["prod*"], "previewBranches": ["release/*"]}})
    assert set(found) == {"crm:github.deployEnvironments[0]", "crm:github.previewBranches[0]"}


def test_no_deploy_environment_is_refused():
    assert "crm:github.deployEnvironments" in errors({"crm:github": {"deployEnvironments": []}})


def test_every_problem_is_reported_at_once():
    found = errors(
        {
            "crm:state": {"backend": "azure", "secretsProvider": "vault", "awsOperators": ["admin"], "typo": 1},
            "crm:deployProjects": ["Not_A_Project"],
        }
    )
    assert {
        "crm:state.backend",
        "crm:state.secretsProvider",
        "crm:state.awsOperators[0]",
        "crm:state.typo",
        "crm:deployProjects[0]",
    } <= set(found)


def test_operators_are_required_for_the_chosen_clouds():
    assert "crm:state.awsOperators" in errors({"crm:state": {"awsOperators": []}})
    assert "crm:state.gcpOperators" in errors({"crm:state": {"backend": "gcs", "gcpOperators": []}})


def test_bootstrap_needs_no_public_host():
    config = load("bootstrap", stack_config("bootstrap"))
    assert config.common.public_host == ""


def test_key_policies_name_the_roles_ci_assumes_and_the_operators(shipped):
    result = shipped("bootstrap", preview=False)
    arn = {role.name: f"arn:aws:iam::123456789012:role/{role['name']}" for role in result.of_type("aws:iam/role:Role")}
    operators = read_stack_file("bootstrap")["crm:state"]["awsOperators"]
    keys = {
        key["tags"]["purpose"]: {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]} for key in result.of_type("aws:kms/key:Key")
    }
    assert keys["pulumi-secrets"]["DeployersUse"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == sorted(
        [arn["crm-ci-deploy"], *operators]
    )
    assert keys["pulumi-secrets"]["PreviewDecrypts"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [arn["crm-ci-preview"]]
    assert keys["state"]["DeployersUse"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == sorted(
        [arn["crm-ci-deploy"], arn["crm-ci-preview"], *operators]
    )


@pytest.mark.parametrize(
    "loosen,rule",
    [
        (lambda condition: condition.update({"token.actions.githubusercontent.com:sub": "repo:*"}), "oidc-trust-no-wildcard-subject"),
        (
            lambda condition: condition.update({"token.actions.githubusercontent.com:sub": "repo:example-org/crm:ref:refs/heads/*"}),
            "oidc-trust-no-wildcard-subject",
        ),
        (
            lambda condition: condition.update({"token.actions.githubusercontent.com:sub": "repo:example-org/crm:environment:*"}),
            "oidc-trust-no-wildcard-subject",
        ),
        (lambda condition: condition.pop("token.actions.githubusercontent.com:aud"), "oidc-trust-audience"),
    ],
)
def test_the_pack_process_blocks_a_loosened_deploy_trust(shipped, loosen, rule):
    from tools.policy_check import check, from_preview

    result = shipped("bootstrap")
    role = result.one("aws:iam/role:Role", "crm-ci-deploy")
    document = json.loads(role["assumeRolePolicy"])
    loosen(document["Statement"][0]["Condition"]["StringEquals"])
    role.inputs["assumeRolePolicy"] = json.dumps(document)
    violations = check(from_preview(result), "bootstrap")
    assert [(v.policy, v.enforcement) for v in violations] == [(rule, "mandatory")]
