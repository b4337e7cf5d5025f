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
    assert len(result.of_type("aws:iam/role:Role")) == 3  # deploy, production deploy, preview


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
    assert outputs["awsProductionDeployRoleArn"] == "arn:aws:iam::123456789012:role/github-crm-deploy-production"
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
        "crm-ci-deploy": [f"{repo}:environment:non-production"],
        "crm-ci-deploy-production": [f"{repo}:environment:production"],
        "crm-ci-preview": [f"{repo}:pull_request", f"{repo}:ref:refs/heads/main"],
    }


def test_no_job_outside_the_production_environment_can_assume_a_role_that_deploys_production(shipped):
    """The production stacks are deployed by jobs in `production`, behind its reviewers: no other job's token may
    become a role that the production stacks' deploys use."""
    result = shipped("bootstrap", preview=False)
    roles = {r.name: r for r in result.of_type("aws:iam/role:Role")}
    production = roles["crm-ci-deploy-production"]
    assert (
        result.outputs["awsProductionDeployRoleArn"]
        == production.output("arn")
        == ("arn:aws:iam::123456789012:role/github-crm-deploy-production")
    )
    trusted_by = {
        name: json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
        for name, role in roles.items()
    }
    production_subject = "repo:example-org/crm-infrastructure:environment:production"
    assert trusted_by["crm-ci-deploy-production"] == [production_subject]
    assert [name for name, subjects in trusted_by.items() if production_subject in subjects] == ["crm-ci-deploy-production"]


def test_both_deploy_roles_use_the_state_and_secrets_keys_and_differ_only_in_the_production_state(shipped):
    result = shipped("bootstrap", preview=False)
    policies = {p.name: json.loads(p["policy"])["Statement"] for p in result.of_type("aws:iam/rolePolicy:RolePolicy")}
    only_non_production = [s for s in policies["crm-ci-deploy"] if s not in policies["crm-ci-deploy-production"]]
    assert [s["Sid"] for s in only_non_production] == ["OtherEnvironmentsStateOutOfReach"]
    assert [s for s in policies["crm-ci-deploy-production"] if s not in policies["crm-ci-deploy"]] == []
    production = "arn:aws:iam::123456789012:role/github-crm-deploy-production"
    key_policies = [k["policy"] for k in result.of_type("aws:kms/key:Key")]
    assert key_policies and all(production in policy for policy in key_policies)


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


@pytest.mark.parametrize("environments", [["production"], ["non-production", "staging"]])
def test_deploy_environments_need_production_and_another(environments):
    """The production deploy role trusts `production` alone, the deploy role the others: each needs its environment."""
    found = errors({"crm:github": {"deployEnvironments": environments}})
    assert "'production'" in found["crm:github.deployEnvironments"]


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
        [arn["crm-ci-deploy"], arn["crm-ci-deploy-production"], *operators]
    )
    assert keys["pulumi-secrets"]["PreviewDecrypts"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [arn["crm-ci-preview"]]
    assert keys["state"]["DeployersUse"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == sorted(
        [arn["crm-ci-deploy"], arn["crm-ci-deploy-production"], arn["crm-ci-preview"], *operators]
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


def _state_object(result, stack: str) -> str:
    bucket = next(b for b in result.of_type("aws:s3/bucket:Bucket") if b.name == "crm-pulumi-state").output("arn")
    return f"{bucket}/.pulumi/stacks/crm/{stack}.json"


@pytest.mark.parametrize("stack", ["aws-production", "aws-dr", "gcp-production", "gcp-dr", "global"])
def test_the_non_production_deploy_role_can_neither_read_nor_write_a_production_stack_s_state(shipped, stack):
    """A job outside the production environment cannot `pulumi up` a production stack: its state is out of reach."""
    from tools.checks.iam_eval import Request, evaluate

    result = shipped("bootstrap", preview=False)
    policies = {p.name: p["policy"] for p in result.of_type("aws:iam/rolePolicy:RolePolicy")}
    state = _state_object(result, stack)
    lock = state.replace("/stacks/", "/locks/").removesuffix(".json") + "/1234.json"
    for action, obj in (("s3:GetObject", state), ("s3:PutObject", state), ("s3:PutObject", lock)):
        assert evaluate([policies["crm-ci-deploy"]], Request(action, obj)).result == "explicitly denied", (action, obj)
        assert evaluate([policies["crm-ci-deploy-production"]], Request(action, obj)).allowed, (action, obj)


@pytest.mark.parametrize("stack", ["aws-dev", "gcp-staging"])
def test_the_non_production_deploy_role_keeps_its_own_stacks_state(shipped, stack):
    from tools.checks.iam_eval import Request, evaluate

    result = shipped("bootstrap", preview=False)
    policy = next(p for p in result.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "crm-ci-deploy")["policy"]
    assert evaluate([policy], Request("s3:PutObject", _state_object(result, stack))).allowed


def test_the_workflows_deploy_in_production_exactly_the_production_stacks():
    """PRODUCTION_STACKS (whose state the deploy role may not touch) is what the workflows deploy in `production`."""
    from fnmatch import fnmatchcase

    from stacks.config.model import PRODUCTION_ENVIRONMENT, PRODUCTION_STACKS

    jobs = yaml.safe_load((Path(__file__).resolve().parents[2] / ".github/workflows/infrastructure.yml").read_text())["jobs"]
    environment_of = {}
    for job in jobs.values():
        given = job.get("with", {})
        if given.get("command") == "up" and "matrix" not in given.get("stack", "") and "inputs" not in given.get("stack", ""):
            environment_of[given["stack"]] = given["environment"]
        for stack in job.get("strategy", {}).get("matrix", {}).get("stack", []) if given.get("command") == "up" else []:
            environment_of[stack] = given["environment"]
    assert len(environment_of) == len(OTHERS)
    for stack, environment in environment_of.items():
        production = any(fnmatchcase(stack, pattern) for pattern in PRODUCTION_STACKS)
        assert (environment == PRODUCTION_ENVIRONMENT) == production, stack


@pytest.mark.parametrize("stack", [s for s in OTHERS if s.startswith("aws-")])
def test_each_aws_stack_lets_the_deploy_role_of_its_environment_use_its_cluster(stack):
    """EKS admits only the listed principals: the role that deploys the stack, and not the other environment's."""
    from fnmatch import fnmatchcase

    from stacks.config.model import PRODUCTION_STACKS

    principals = read_stack_file(stack)["crm:kubernetes"]["adminPrincipals"]
    deployers = sorted(p.rsplit("/", 1)[1] for p in principals if ":role/github-crm-deploy" in p)
    production = any(fnmatchcase(stack, pattern) for pattern in PRODUCTION_STACKS)
    assert deployers == (["github-crm-deploy-production"] if production else ["github-crm-deploy"])
