"""Rules for identities: GitHub OIDC trust pinned to one repository, Google-federated roles pinned to one
service account, no long-lived keys, and no administrator policies."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from pulumi_policy import Severity

from .base import MANDATORY, UNKNOWN, Resource, Rule

ROLE = "aws:iam/role:Role"
WI_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/policy:Policy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ACCESS_KEY_TYPES = ("aws:iam/accessKey:AccessKey", "gcp:serviceaccount/key:Key")
GOOGLE = "accounts.google.com"
GITHUB = "token.actions.githubusercontent.com"
GITHUB_ISSUER = f"https://{GITHUB}"
SUB, AUD = f"{GITHUB}:sub", f"{GITHUB}:aud"
# repo:OWNER/REPO:<context>, with no wildcard ('*' or '?') anywhere: not in the owner or repository,
# and not in the context either (ref:refs/heads/* or environment:* would admit any branch or environment).
PINNED_SUBJECT = re.compile(r"^repo:[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+:[^*?]+$")
REPOSITORY_CONDITION = re.compile(r"""(assertion|attribute)\.repository\s*==\s*['"]([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)['"]""")


def _document(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _github_trusts(r: Resource) -> Iterator[dict]:
    """The statements of a role's trust policy that let GitHub Actions' tokens in."""
    return _federated_trusts(r, GITHUB)


def _federated_trusts(r: Resource, issuer: str) -> Iterator[dict]:
    """The statements of a role's trust policy that let the issuer's tokens in."""
    document = _document(r.get("assumeRolePolicy"))
    if not isinstance(document, dict):
        return
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        federated = (statement.get("Principal") or {}).get("Federated") if isinstance(statement.get("Principal"), dict) else None
        if any(isinstance(f, str) and f.endswith(issuer) for f in _as_list(federated)):
            yield statement


def _condition_values(statement: dict, key: str, operators: tuple[str, ...]) -> list:
    values = []
    for operator, entries in (statement.get("Condition") or {}).items():
        if operator.split(":")[-1] in operators and isinstance(entries, dict) and key in entries:
            values.extend(_as_list(entries[key]))
    return values


def trust_pins_repository(r: Resource):
    if r.type == WI_PROVIDER:
        if (r.get("oidc") or {}).get("issuerUri") != GITHUB_ISSUER:
            return
        condition = r.get("attributeCondition")
        if condition is UNKNOWN:
            return
        if not isinstance(condition, str) or not REPOSITORY_CONDITION.search(condition) or "||" in condition:
            yield (
                "attributeCondition must pin the repository (assertion.repository == 'OWNER/REPO', no ||); "
                "without it any GitHub repository's workflow gets in"
            )
        return
    for statement in _github_trusts(r):
        if not _condition_values(statement, SUB, ("StringEquals", "StringLike")):
            yield f"trusts GitHub Actions without a {SUB} condition (StringEquals/StringLike); any repository's workflow could assume it"


def trust_no_wildcard_subject(r: Resource):
    for statement in _github_trusts(r):
        for subject in _condition_values(statement, SUB, ("StringEquals", "StringLike")):
            if not isinstance(subject, str) or not PINNED_SUBJECT.match(subject):
                yield f"{SUB} '{subject}' must name one repository as repo:OWNER/REPO:<context>, without wildcards in owner or repository"


def trust_requires_audience(r: Resource):
    for statement in _github_trusts(r):
        audiences = _condition_values(statement, AUD, ("StringEquals",))
        if not audiences or any(a != "sts.amazonaws.com" for a in audiences):
            yield f"trusts GitHub Actions without {AUD} = sts.amazonaws.com (StringEquals)"


def google_trust_pins_account(r: Resource):
    for statement in _federated_trusts(r, GOOGLE):
        for key in (f"{GOOGLE}:sub", f"{GOOGLE}:aud"):
            values = _condition_values(statement, key, ("StringEquals",))
            if not values or not all(isinstance(v, str) and v.isdigit() for v in values):
                yield (
                    f"trusts {GOOGLE} without {key} = a service account's numeric unique ID (StringEquals); "
                    "any Google account's token could assume it"
                )


def no_long_lived_keys(r: Resource):
    yield (
        "creates a long-lived access key; give the workload a federated identity instead "
        "(IRSA on EKS, Workload Identity on GKE, AssumeRoleWithWebIdentity from GKE to AWS)"
    )


def _admin_statements(document: Any) -> Iterator[dict]:
    if not isinstance(document, dict):
        return
    for statement in _as_list(document.get("Statement")):
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            if any(a in ("*", "*:*") for a in _as_list(statement.get("Action"))):
                yield statement


def no_administrator(r: Resource):
    if r.type in ATTACHMENT_TYPES:
        arn = r.get("policyArn")
        if isinstance(arn, str) and arn.endswith(":policy/AdministratorAccess"):
            yield "attaches AdministratorAccess; grant the services the stack manages instead"
        return
    documents = (
        [r.get("policy")] if r.type in POLICY_TYPES else [p.get("policy") for p in r.get("inlinePolicies", []) or [] if isinstance(p, dict)]
    )
    for document in documents:
        if document is UNKNOWN:
            continue
        for _ in _admin_statements(_document(document)):
            yield "allows Action '*' (every action of every service); enumerate the services instead"


RULES = [
    Rule(
        "oidc-trust-pins-repository",
        "GitHub OIDC trust names a repository (a sub condition in AWS, an attribute condition in GCP)",
        Severity.CRITICAL,
        MANDATORY,
        "fails closed; an unknown policy or condition is not judged",
        (ROLE, WI_PROVIDER),
        trust_pins_repository,
    ),
    Rule(
        "oidc-trust-no-wildcard-subject",
        "GitHub OIDC sub conditions name one repository, without wildcards (no repo:*)",
        Severity.CRITICAL,
        MANDATORY,
        "a missing sub is oidc-trust-pins-repository's finding",
        (ROLE,),
        trust_no_wildcard_subject,
    ),
    Rule(
        "oidc-trust-audience",
        "GitHub OIDC trust requires the aud claim sts.amazonaws.com",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        (ROLE,),
        trust_requires_audience,
    ),
    Rule(
        "google-trust-pins-account",
        "A role Google identities assume names one service account (sub and aud = its unique ID)",
        Severity.CRITICAL,
        MANDATORY,
        "an unknown ID is not judged; other keys are not enough",
        (ROLE,),
        google_trust_pins_account,
    ),
    Rule(
        "no-long-lived-keys",
        "No IAM user access keys or service account keys: workloads use federated identities",
        Severity.HIGH,
        MANDATORY,
        "any such resource fails",
        ACCESS_KEY_TYPES,
        no_long_lived_keys,
    ),
    Rule(
        "iam-no-wildcard-admin",
        "No IAM policy allows Action '*' and nothing attaches AdministratorAccess",
        Severity.CRITICAL,
        MANDATORY,
        "an unknown policy is not judged",
        (ROLE, *POLICY_TYPES, *ATTACHMENT_TYPES),
        no_administrator,
    ),
]
