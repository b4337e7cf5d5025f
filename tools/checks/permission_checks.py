"""`deploy-permissions`: a permission the CI deploy identity lacks, found before a deploy meets it.

Every resource a stack would create is checked against what the bootstrap stack grants the deploy
identities, built by the same code (components/bootstrap/ci_identity.py) from the same tables
(components/bootstrap/deploy_permissions.py):

- AWS: the type has a row in the table, and IAM's evaluation of the deploy role's policy
  (tools/checks/iam_eval.py) allows its create call on the ARN the resource would have (for the
  types the role reaches by name only: roles, buckets, secrets, parameters, build projects), with the
  request context IAM would see: a role's path and permissions boundary (`iam:PermissionsBoundary`),
  a managed policy's ARN (`iam:PolicyARN`), and `iam:PassRole` of every role the resource hands to
  a service (`iam:PassedToService`, AWS_PASSES).
- GCP: the type has a row (or is granted outside the project, or on an account), and a project-level
  grant names a role the deploy account's Project IAM Admin may grant (GRANTABLE_PROJECT_ROLES). The
  deploy account holds no service-account role on the project: a grant on a service account must
  be on one of the accounts bootstrap creates and lets it administer, of a role the stacks grant
  there (GCP_ESTATE_ACCOUNTS, GCP_ESTATE_ACCOUNT_BINDINGS), and the account a cluster's nodes run as
  must be one it may act as (Service Account User on that account).

The bootstrap stack itself is run by an operator, not CI, and is not judged. Values known only
after deploy are taken from the resources they come from (a role's ARN from the role's inputs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..engine import fakes
from ..policy_check import PlanResource
from .deploy_checks import UNKNOWABLE, Finding, _plain, deploy_check
from .iam_eval import Request, evaluate

CHECK = "deploy-permissions"
ROLE_TYPE = "aws:iam/role:Role"
UNKNOWN_NAME = "<known after deploy>"
_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


def _bootstrap_config():
    from stacks.config import load, read_stack_file

    return load("bootstrap", read_stack_file("bootstrap"))


def deploy_role_policy(account: str, partition: str = "aws") -> str:
    """The deploy role's policy as bootstrap builds it from its stack file, for this account."""
    from components.bootstrap.ci_identity import deploy_policy
    from stacks.bootstrap_stack import github_aws_roles_args

    return deploy_policy(partition, account, github_aws_roles_args(_bootstrap_config()), "", "", "", "")


def _account(resources: list[PlanResource]) -> str:
    for r in resources:
        boundary = _plain(r.inputs.get("permissionsBoundary"))
        found = _ACCOUNT.match(boundary) if isinstance(boundary, str) else None
        if found:
            return found.group(1)
    return fakes.ACCOUNT


def _known(value: Any) -> str | None:
    value = _plain(value)
    return value if isinstance(value, str) and value is not UNKNOWABLE and value else None


def role_arn(role: PlanResource, account: str) -> str:
    """The ARN the role has (or will have): its path and name, or the autoname Pulumi derives from the resource name."""
    path = _known(role.inputs.get("path")) or "/"
    name = _known(role.inputs.get("name")) or f"{role.name}-0000000"  # Pulumi's autoname: the resource name and a suffix
    return f"arn:aws:iam::{account}:role{path}{name}"


def bucket_arn(bucket: PlanResource) -> str:
    return f"arn:aws:s3:::{_known(bucket.inputs.get('bucket')) or f'{bucket.name}-0000000'}"


class _Plan:
    def __init__(self, resources: list[PlanResource], region: str):
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self.account = _account(resources)
        self.region = region  # an EKS issuer known only after deploy is taken to be in the deploy role's region

    def referenced(self, r: PlanResource, key: str, type_: str) -> PlanResource | None:
        for urn in r.property_dependencies.get(key, []):
            target = self.by_urn.get(urn)
            if target is not None and target.type == type_:
                return target
        return None

    def referenced_role(self, r: PlanResource, key: str) -> PlanResource | None:
        """The role an input of `r` names: through the input's dependencies, or by its known ARN or name."""
        for urn in r.property_dependencies.get(key, []):
            target = self.by_urn.get(urn)
            if target is not None and target.type == ROLE_TYPE:
                return target
        value = _known(r.inputs.get(key))
        for role in (x for x in self.resources if x.type == ROLE_TYPE):
            if value and (value == role_arn(role, self.account) or value == _known(role.inputs.get("name"))):
                return role
        return None

    def named_arn(self, r: PlanResource) -> str | None:
        """The ARN of a resource the deploy role reaches by name only (ESTATE_NAMED_RESOURCES), or of the one it configures."""
        arn = lambda service, resource: f"arn:aws:{service}:{self.region}:{self.account}:{resource}"  # noqa: E731
        name = _known(r.inputs.get("name")) or f"{r.name}-0000000"
        if r.type == "aws:secretsmanager/secret:Secret":
            # A secret's name carries a suffix drawn at deploy (components/naming.py): unknown in a preview, where
            # the request is not judged (tests/components/bootstrap/test_deploy_escalation.py judges the deployed names).
            known = _known(r.inputs.get("name"))
            return arn("secretsmanager", f"secret:{known}-AbCdEf") if known else UNKNOWN_NAME  # Secrets Manager adds six characters
        if r.type == "aws:ssm/parameter:Parameter":
            return arn("ssm", f"parameter/{name.removeprefix('/')}")
        if r.type == "aws:codebuild/project:Project":
            return arn("codebuild", f"project/{name}")
        if r.type == "aws:secretsmanager/secretVersion:SecretVersion":
            secret = self.referenced(r, "secretId", "aws:secretsmanager/secret:Secret")
            return self.named_arn(secret) if secret is not None else _known(r.inputs.get("secretId")) or "*"  # a secret's id is its ARN
        if r.type == "aws:codebuild/webhook:Webhook":
            project = self.referenced(r, "projectName", "aws:codebuild/project:Project")
            return self.named_arn(project) if project is not None else arn("codebuild", f"project/{_known(r.inputs.get('projectName'))}")
        return None


def _requests(r: PlanResource, plan: _Plan) -> Iterator[tuple[str, Request]]:
    """The calls a deploy makes for this resource that IAM judges by resource or condition, with what they are for."""
    from components.bootstrap.deploy_permissions import AWS, AWS_PASSES

    row = AWS[r.type]
    create = row.actions[0]
    if r.type == ROLE_TYPE:
        context = {"iam:PermissionsBoundary": b} if (b := _known(r.inputs.get("permissionsBoundary"))) else {}
        yield "create the role", Request(create, role_arn(r, plan.account), context)
    elif r.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        role = plan.referenced_role(r, "role")
        if role is None:
            return
        context: dict[str, str] = {}
        if b := _known(role.inputs.get("permissionsBoundary")):
            context["iam:PermissionsBoundary"] = b
        if (policy := _known(r.inputs.get("policyArn"))) is not None:
            context["iam:PolicyARN"] = policy
        yield f"change role '{role.name}'", Request(create, role_arn(role, plan.account), context)
    elif r.type == "aws:s3/bucket:Bucket":
        yield "create the bucket", Request(create, bucket_arn(r))
    elif r.type.startswith("aws:s3/"):
        bucket = plan.referenced(r, "bucket", "aws:s3/bucket:Bucket")
        arn = bucket_arn(bucket) if bucket is not None else f"arn:aws:s3:::{_known(r.inputs.get('bucket')) or '*'}"
        key = _known(r.inputs.get("key"))
        yield "configure its bucket", Request(create, f"{arn}/{key}" if r.type.endswith(":BucketObjectv2") and key else arn)
    elif (arn := plan.named_arn(r)) is not None:
        if arn != UNKNOWN_NAME:
            yield "manage it", Request(create, arn)
    elif r.type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        url = _known(r.inputs.get("url"))
        host = url.replace("https://", "") if url else f"oidc.eks.{plan.region}.amazonaws.com/id/00000000000000000000000000000000"
        yield "create the provider", Request(create, f"arn:aws:iam::{plan.account}:oidc-provider/{host}")
    else:
        yield "create it", Request(create, "*")
    for key, service in AWS_PASSES.get(r.type, ()):
        role = plan.referenced_role(r, key)
        if role is not None:
            yield (
                f"hand role '{role.name}' to {service}",
                Request("iam:PassRole", role_arn(role, plan.account), {"iam:PassedToService": service}),
            )


def _aws_findings(r: PlanResource, plan: _Plan, policy: str) -> Iterator[Finding]:
    from components.bootstrap.deploy_permissions import AWS

    if r.type not in AWS:
        yield Finding(CHECK, r, f"{r.type} has no row in the deployer permission table (components/bootstrap/deploy_permissions.py)")
        return
    for purpose, request in _requests(r, plan):
        decision = evaluate([policy], request)
        if not decision.allowed:
            context = ", ".join(f"{k}={v}" for k, v in sorted(request.context.items())) or "no condition keys"
            by = f" by {decision.statement}" if decision.statement else ""
            yield Finding(
                CHECK,
                r,
                f"the CI deploy role may not {purpose}: {request.action} on {request.resource} ({context}) is {decision.result}{by}",
            )


def estate_accounts_holding(permission: str) -> dict[str, str]:
    """The service accounts (email -> the deploy account's role there) bootstrap creates, in every deploy project of
    its stack file, on which the deploy account's role holds `permission` (components/bootstrap/ci_identity.py)."""
    from components.bootstrap.ci_identity import estate_account_email
    from components.bootstrap.deploy_permissions import GCP_ESTATE_ACCOUNTS, estate_account_id

    from .gcp_roles import holds

    config = _bootstrap_config()
    return {
        estate_account_email(project, estate_account_id(config.common.project, key)): estate.deployer_role
        for project in config.deploy_projects
        for key, estate in GCP_ESTATE_ACCOUNTS.items()
        if holds(estate.deployer_role, permission)
    }


def _node_accounts(r: PlanResource) -> list[str]:
    configs = [r.inputs.get("nodeConfig")] + [p.get("nodeConfig") for p in (_plain(r.inputs.get("nodePools")) or []) if isinstance(p, dict)]
    return [email for c in configs if isinstance(c, dict) and (email := _known(c.get("serviceAccount")))]


def _gcp_findings(r: PlanResource) -> Iterator[Finding]:
    from components.bootstrap.ci_identity import GRANTABLE_PROJECT_ROLES
    from components.bootstrap.deploy_permissions import GCP, GCP_ESTATE_ACCOUNT_BINDINGS, GCP_ON_ESTATE_ACCOUNTS, GCP_OUTSIDE_PROJECT

    if r.type in GCP_ON_ESTATE_ACCOUNTS:
        row = GCP_ON_ESTATE_ACCOUNTS[r.type]
        account = (_known(r.inputs.get("serviceAccountId")) or "").rsplit("/", 1)[-1]
        role = _known(r.inputs.get("role"))
        if account and account not in estate_accounts_holding(row.permission):
            yield Finding(
                CHECK,
                r,
                f"the CI deploy account holds {row.permission} on no service account but those bootstrap creates for it"
                f" (GCP_ESTATE_ACCOUNTS); {account} is not one of them",
            )
        if role and role not in GCP_ESTATE_ACCOUNT_BINDINGS:
            yield Finding(CHECK, r, f"{role} is not a role the stacks grant on a service account (GCP_ESTATE_ACCOUNT_BINDINGS)")
        return
    if r.type not in GCP and r.type not in GCP_OUTSIDE_PROJECT:
        yield Finding(CHECK, r, f"{r.type} has no row in the deployer permission table (components/bootstrap/deploy_permissions.py)")
        return
    if r.type in ("gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"):
        for email in _node_accounts(r):
            if email not in estate_accounts_holding("iam.serviceAccounts.actAs"):
                yield Finding(
                    CHECK,
                    r,
                    f"its nodes run as {email}, which the CI deploy account may not act as"
                    " (it holds iam.serviceAccounts.actAs only on bootstrap's node account, GCP_ESTATE_ACCOUNTS)",
                )
    role = _known(r.inputs.get("role"))
    if r.type == "gcp:projects/iAMMember:IAMMember" and role and role not in GRANTABLE_PROJECT_ROLES:
        yield Finding(
            CHECK,
            r,
            f"the CI deploy account may not grant {role} on the project (its Project IAM Admin grants only GRANTABLE_PROJECT_ROLES, "
            "components/bootstrap/ci_identity.py)",
        )


def check_deploy_permissions(resources: list[PlanResource]) -> Iterator[Finding]:
    if any(r.type.startswith("crm:bootstrap:") for r in resources):
        return  # run by an operator, not CI
    plan = _Plan(resources, _bootstrap_config().aws_region)
    policy: str | None = None
    for r in resources:
        if not r.custom or r.type.startswith("pulumi:"):
            continue
        if r.type.startswith("aws:"):
            policy = policy or deploy_role_policy(plan.account)
            yield from _aws_findings(r, plan, policy)
        elif r.type.startswith("gcp:"):
            yield from _gcp_findings(r)


deploy_check(CHECK, "components/bootstrap/deploy_permissions.py (botocore models, IAM's permissions reference)")(
    lambda plan: check_deploy_permissions(plan.resources)
)
