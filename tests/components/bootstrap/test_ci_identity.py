"""The CI identities trust exactly one repository's chosen jobs, with GitHub's audience, and can never change themselves."""

from __future__ import annotations

import json

import pytest

from components.bootstrap.ci_identity import (
    GithubAwsRoles,
    GithubAwsRolesArgs,
    GithubGcpIdentity,
    GithubGcpIdentityArgs,
    repository_condition,
    trust_policy,
)
from policies.rules import RULES_BY_NAME
from policies.rules.base import Resource

REPO = "acme/crm-infra"
DEPLOY = [f"repo:{REPO}:environment:production"]
PREVIEW = [f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main"]
PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def aws_args(**changes) -> GithubAwsRolesArgs:
    values = dict(
        repository=REPO,
        deploy_subjects=DEPLOY,
        preview_subjects=PREVIEW,
        deploy_role_name="github-crm-deploy",
        preview_role_name="github-crm-preview",
        name_prefix="crm",
        region="ap-northeast-2",
        tags={"role": "ci"},
        state_bucket_arn="arn:aws:s3:::crm-state",
        state_key_arn="arn:aws:kms:ap-northeast-2:123456789012:key/state",
        secrets_key_arn="arn:aws:kms:ap-northeast-2:123456789012:key/secrets",
        state_log_bucket_arn="arn:aws:s3:::crm-state-logs",
    )
    values.update(changes)
    return GithubAwsRolesArgs(**values)


def trust_violations(document: str) -> dict[str, list[str]]:
    role = Resource("aws:iam/role:Role", "ci", "urn:pulumi:bootstrap::crm::aws:iam/role:Role::ci", {"assumeRolePolicy": document})
    names = ("oidc-trust-pins-repository", "oidc-trust-no-wildcard-subject", "oidc-trust-audience")
    return {name: RULES_BY_NAME[name].violations(role) for name in names if RULES_BY_NAME[name].violations(role)}


@pytest.fixture
def roles(run_component):
    return run_component(lambda: GithubAwsRoles("ci", aws_args()))


def test_oidc_provider_is_githubs_with_the_sts_audience(roles):
    provider = roles.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]


def test_deploy_role_trusts_only_the_deploy_subjects_and_the_audience(roles):
    statement = json.loads(roles.one("aws:iam/role:Role", "ci-deploy")["assumeRolePolicy"])["Statement"]
    assert len(statement) == 1
    assert statement[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement[0]["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement[0]["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": DEPLOY}
    }


def test_preview_role_trusts_pull_requests_and_main_only(roles):
    condition = json.loads(roles.one("aws:iam/role:Role", "ci-preview")["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition["StringEquals"]["token.actions.githubusercontent.com:sub"] == sorted(PREVIEW)
    assert "StringLike" not in condition


def test_registered_trust_policies_pass_the_pack(roles):
    for role in roles.of_type("aws:iam/role:Role"):
        assert trust_violations(role["assumeRolePolicy"]) == {}


@pytest.mark.parametrize("subject", ["repo:*", "repo:acme/*", "repo:*/crm-infra:pull_request", "*"])
def test_a_wildcard_subject_fails_the_pack(subject):
    assert list(trust_violations(trust_policy(PROVIDER_ARN, [subject]))) == ["oidc-trust-no-wildcard-subject"]


def test_a_missing_audience_fails_the_pack(roles):
    document = json.loads(roles.one("aws:iam/role:Role", "ci-deploy")["assumeRolePolicy"])
    del document["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"]
    assert list(trust_violations(json.dumps(document))) == ["oidc-trust-audience"]


def test_a_missing_subject_fails_the_pack(roles):
    document = json.loads(roles.one("aws:iam/role:Role", "ci-deploy")["assumeRolePolicy"])
    del document["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert list(trust_violations(json.dumps(document))) == ["oidc-trust-pins-repository"]


@pytest.mark.parametrize(
    "changes",
    [
        {"repository": "acme/*"},
        {"deploy_subjects": ["repo:acme/*:environment:production"]},
        {"preview_subjects": ["repo:other/repo:pull_request"]},
        {"deploy_subjects": []},
        {"deploy_subjects": PREVIEW[:1]},
    ],
)
def test_wildcards_foreign_repositories_and_shared_subjects_are_refused_early(changes):
    with pytest.raises(ValueError):
        aws_args(**changes)


def test_deploy_policy_enumerates_services_and_never_allows_everything(roles):
    policy = json.loads(roles.one("aws:iam/rolePolicy:RolePolicy", "ci-deploy")["policy"])
    actions = [
        a for s in policy["Statement"] if s["Effect"] == "Allow" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert "*" not in actions and "*:*" not in actions
    assert "ec2:*" in actions and "eks:*" in actions


def test_deploy_role_cannot_touch_the_ci_identities(roles):
    policy = json.loads(roles.one("aws:iam/rolePolicy:RolePolicy", "ci-deploy")["policy"])
    deny = next(s for s in policy["Statement"] if s["Sid"] == "BootstrapOutOfReach")
    assert deny["Effect"] == "Deny" and deny["Action"] == "iam:*"
    assert set(deny["Resource"]) == {
        "arn:aws:iam::123456789012:role/github-crm-deploy",
        "arn:aws:iam::123456789012:role/github-crm-preview",
        PROVIDER_ARN,
        "arn:aws:iam::123456789012:policy/crm-permissions-boundary",
    }


def test_deploy_role_may_only_use_the_state_bucket_and_keys(roles):
    statements = {s["Sid"]: s for s in json.loads(roles.one("aws:iam/rolePolicy:RolePolicy", "ci-deploy")["policy"])["Statement"]}
    assert statements["StateBucketUntouchable"]["Effect"] == "Deny"
    assert "s3:PutBucketPolicy" not in statements["StateBucketUntouchable"]["NotAction"]
    assert statements["StateLogsUntouchable"] == {
        "Sid": "StateLogsUntouchable",
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::crm-state-logs", "arn:aws:s3:::crm-state-logs/*"],
    }
    assert statements["BootstrapKeysUseOnly"]["Effect"] == "Deny"
    assert "kms:PutKeyPolicy" not in statements["BootstrapKeysUseOnly"]["NotAction"]


def test_preview_policy_reads_but_writes_only_lock_files(roles):
    statements = json.loads(roles.one("aws:iam/rolePolicy:RolePolicy", "ci-preview")["policy"])["Statement"]
    allowed = [
        (a, s["Resource"])
        for s in statements
        if s["Effect"] == "Allow"
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    writes = [(a, r) for a, r in allowed if not a.split(":")[1].startswith(("Describe", "List", "Get", "BatchGet", "View", "Decrypt"))]
    assert writes == [
        ("s3:PutObject", "arn:aws:s3:::crm-state/.pulumi/locks/*"),
        ("s3:DeleteObject", "arn:aws:s3:::crm-state/.pulumi/locks/*"),
        ("kms:GenerateDataKey", "arn:aws:kms:ap-northeast-2:123456789012:key/state"),
    ]
    assert any(s["Effect"] == "Deny" and "secretsmanager:GetSecretValue" in s["Action"] for s in statements)


def test_without_s3_state_no_state_statements(run_component):
    result = run_component(
        lambda: GithubAwsRoles("ci", aws_args(state_bucket_arn=None, state_key_arn=None, secrets_key_arn=None, state_log_bucket_arn=None))
    )
    sids = [s["Sid"] for s in json.loads(result.one("aws:iam/rolePolicy:RolePolicy", "ci-deploy")["policy"])["Statement"]]
    assert sids and not any(sid.startswith(("State", "BootstrapKeys")) for sid in sids)


# ---------------------------------------------------------------- GCP


@pytest.fixture
def identity(run_component):
    return run_component(
        lambda: GithubGcpIdentity(
            "ci",
            GithubGcpIdentityArgs(
                project="acme-ci",
                repository=REPO,
                deploy_subjects=DEPLOY,
                preview_subjects=PREVIEW,
                deploy_projects=["acme-dr"],
            ),
        )
    )


def test_provider_admits_only_this_repositorys_tokens(identity):
    provider = identity.one("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert provider["attributeCondition"] == "assertion.repository == 'acme/crm-infra'"
    assert provider["oidc"] == {"issuerUri": "https://token.actions.githubusercontent.com"}
    assert provider["attributeMapping"]["google.subject"] == "assertion.sub"
    assert provider["attributeMapping"]["attribute.repository"] == "assertion.repository"


def test_each_account_is_impersonable_only_by_its_subjects(identity):
    pool = identity.one("gcp:iam/workloadIdentityPool:WorkloadIdentityPool").output("name")
    assert pool.startswith("projects/123456789012/locations/global/workloadIdentityPools/github-")
    bindings = {}
    for binding in identity.of_type("gcp:serviceaccount/iAMMember:IAMMember"):
        if binding["role"] == "roles/iam.workloadIdentityUser":
            bindings.setdefault(binding["serviceAccountId"], []).append(binding["member"])
    assert {account: sorted(members) for account, members in bindings.items()} == {
        "ci-deploy": [f"principal://iam.googleapis.com/{pool}/subject/{s}" for s in DEPLOY],
        "ci-preview": [f"principal://iam.googleapis.com/{pool}/subject/{s}" for s in sorted(PREVIEW)],
    }


def test_preview_account_gets_only_viewer_roles(identity):
    roles = [m["role"] for m in identity.of_type("gcp:projects/iAMMember:IAMMember") if "ci-preview" in m["member"]]
    assert roles and all(r.endswith((".viewer", ".reader", "Viewer", "securityReviewer")) for r in roles)
    assert not any(m["role"] in ("roles/owner", "roles/editor") for m in identity.of_type("gcp:projects/iAMMember:IAMMember"))


def test_the_pack_rejects_a_provider_without_the_repository_condition(identity):
    provider = identity.one("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    rule = RULES_BY_NAME["oidc-trust-pins-repository"]
    as_registered = Resource(provider.type, provider.name, provider.urn, dict(provider.inputs))
    loosened = Resource(
        provider.type, provider.name, provider.urn, {**provider.inputs, "attributeCondition": "assertion.repository_owner == 'acme'"}
    )
    assert rule.violations(as_registered) == []
    assert len(rule.violations(loosened)) == 1


def test_repository_condition_refuses_a_wildcard():
    with pytest.raises(ValueError):
        repository_condition("acme/*")


def test_the_pool_id_is_drawn_anew_after_a_destroy_and_kept_while_deployed(identity):
    # A deleted pool keeps its id for 30 days: a re-created bootstrap stack asks for a new one.
    pool = identity.one("gcp:iam/workloadIdentityPool:WorkloadIdentityPool")
    suffix = next(
        r
        for r in identity.of_type("random:index/randomString:RandomString")
        if r.urn in pool.property_dependencies["workloadIdentityPoolId"]
    )
    assert pool["workloadIdentityPoolId"] == f"github-{suffix.output('result')}"
    assert pool.options["ignoreChanges"] == ["workloadIdentityPoolId"]
