"""Rules for identities: GitHub OIDC trust pinned to one repository, Google-federated roles pinned to one
service account, no long-lived keys, and no administrator policies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import Severity

from .base import MANDATORY, UNKNOWN, Resource, Rule, as_list, json_document

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


def _github_trusts(r: Resource) -> Iterator[dict]:
    """The statements of a role's trust policy that let GitHub Actions' tokens in."""
    return _federated_trusts(r, GITHUB)


def _federated_trusts(r: Resource, issuer: str) -> Iterator[dict]:
    """The statements of a role's trust policy that let the issuer's tokens in."""
    document = json_document(r.get("assumeRolePolicy"))
    if not isinstance(document, dict):
        return
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        federated = (statement.get("Principal") or {}).get("Federated") if isinstance(statement.get("Principal"), dict) else None
        if any(isinstance(f, str) and f.endswith(issuer) for f in as_list(federated)):
            yield statement


def _condition_values(statement: dict, key: str, operators: tuple[str, ...]) -> list:
    values = []
    for operator, entries in (statement.get("Condition") or {}).items():
        if operator.split(":")[-1] in operators and isinstance(entries, dict) and key in entries:
            values.extend(as_list(entries[key]))
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
    for statement in as_list(document.get("Statement")):
        if (
            isinstance(statement, dict)
            and statement.get("Effect") == "Allow"
            and any(a in ("*", "*:*") for a in as_list(statement.get("Action")))
        ):
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
        for _ in _admin_statements(json_document(document)):
            yield "allows Action '*' (every action of every service); enumerate the services instead"


def _wildcard(pattern: str, value: str) -> bool:
    return (
        re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()), value.lower()) is not None
    )


def _covers(statement: dict, action: str) -> bool:
    """Whether an Allow statement's Action (or NotAction) takes in this action."""
    if "NotAction" in statement:
        return not any(isinstance(a, str) and _wildcard(a, action) for a in as_list(statement["NotAction"]))
    return any(isinstance(a, str) and _wildcard(a, action) for a in as_list(statement.get("Action")))


def _condition_keys(statement: dict) -> set[str]:
    return {key.lower() for entries in (statement.get("Condition") or {}).values() if isinstance(entries, dict) for key in entries}


# The operators that hold a guard key to exact values: a missing key fails them (no ...IfExists, no negation), and
# they do not read `*` or `?` as wildcards (ArnLike and StringLike do).
EXACT_OPERATORS = ("stringequals", "arnequals")


def _exactly_restricted_keys(statement: dict) -> set[str]:
    """The condition keys held to exact, wildcard-free values; a value known only after deploy counts as exact."""
    restricted: set[str] = set()
    for operator, entries in (statement.get("Condition") or {}).items():
        if not isinstance(entries, dict) or not isinstance(operator, str) or operator.lower() not in EXACT_OPERATORS:
            continue
        for key, values in entries.items():
            listed = as_list(values)
            if listed and all(v is UNKNOWN or (isinstance(v, str) and v and not set(v) & {"*", "?"}) for v in listed):
                restricted.add(key.lower())
    return restricted


# What a principal that may create or change roles must be held to, so that it cannot give itself more than it has:
# (action, the condition key that must restrict it, why). Role changes only under the permissions boundary; managed
# policies only from a list; roles handed only to named services.
DELEGATION_GUARDS = [
    ("iam:CreateRole", "iam:PermissionsBoundary", "a role without the boundary could hold any permission"),
    ("iam:PutRolePermissionsBoundary", "iam:PermissionsBoundary", "the boundary could be replaced by a wider one"),
    ("iam:PutRolePolicy", "iam:PermissionsBoundary", "an unbounded role could get any inline policy"),
    ("iam:AttachRolePolicy", "iam:PermissionsBoundary", "an unbounded role could get any managed policy"),
    ("iam:AttachRolePolicy", "iam:PolicyARN", "AdministratorAccess could be attached"),
    ("iam:PassRole", "iam:PassedToService", "a role could be handed to a service (EC2, Lambda) that runs it for the caller"),
]


def _identity_documents(r: Resource) -> list:
    if r.type in POLICY_TYPES:
        return [r.get("policy")]
    return [p.get("policy") for p in r.get("inlinePolicies", []) or [] if isinstance(p, dict)]


def delegation_guarded(r: Resource):
    for document in _identity_documents(r):
        parsed = json_document(document)
        if not isinstance(parsed, dict):
            continue
        for statement in as_list(parsed.get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow" or "Principal" in statement:
                continue
            if any(a in ("*", "*:*") for a in as_list(statement.get("Action"))):
                continue  # iam-no-wildcard-admin's finding
            sid = statement.get("Sid") or "a statement"
            problems = ["iam:DeleteRolePermissionsBoundary (a role's boundary could be removed)"] * _covers(
                statement, "iam:DeleteRolePermissionsBoundary"
            )
            keys = _exactly_restricted_keys(statement)
            problems += [
                f"{action} without a {key} condition naming exact values with StringEquals or ArnEquals ({why})"
                for action, key, why in DELEGATION_GUARDS
                if _covers(statement, action) and key.lower() not in keys
            ]
            if problems:
                yield f"{sid} allows " + "; ".join(problems)


def role_has_boundary(r: Resource):
    if any(True for _ in _github_trusts(r)):
        return  # the CI identities themselves, created by an operator in the bootstrap stack
    boundary = r.get("permissionsBoundary")
    if boundary is None:
        yield (
            "has no permissionsBoundary; every role of the estate carries the bootstrap stack's boundary "
            "(components/aws/iam.py estate_role), and the CI deploy role creates none without it"
        )
        return
    if boundary is UNKNOWN:
        return  # the boundary bootstrap exports, read by a StackReference: known at deploy
    match = BOUNDARY_ARN.fullmatch(boundary) if isinstance(boundary, str) else None
    project = (r.get("tags") or {}).get("project") if isinstance(r.get("tags"), dict) else None
    if match is None or (isinstance(project, str) and match.group(1) != project):
        wanted = f"{project}-permissions-boundary" if isinstance(project, str) else "<project>-permissions-boundary"
        yield (
            f"has permissionsBoundary {boundary!r}, not the bootstrap stack's customer-managed policy "
            f"arn:aws:iam::<account>:policy/{wanted}; another policy (AdministratorAccess) bounds nothing"
        )


# The bootstrap stack's boundary: a customer-managed policy (an account id, not `aws`) named <project>-permissions-boundary.
BOUNDARY_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:policy/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)-permissions-boundary")


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
        "iam-role-permissions-boundary",
        "Every IAM role carries a permissions boundary (the bootstrap stack's), except the CI identities GitHub assumes",
        Severity.HIGH,
        MANDATORY,
        "fails closed; a boundary known only after deploy counts as set",
        (ROLE,),
        role_has_boundary,
    ),
    Rule(
        "iam-delegation-guarded",
        "A policy that lets a principal create or change roles holds it to a permissions boundary, a list of "
        "managed policies (iam:PolicyARN) and named services for iam:PassRole (iam:PassedToService)",
        Severity.CRITICAL,
        MANDATORY,
        "an unknown policy is not judged",
        (ROLE, *POLICY_TYPES),
        delegation_guarded,
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
