"""The escalation paths out of the CI deploy identities are closed by their policies as written.

The AWS deploy role's policy is the one the bootstrap stack registers, resolved with the values a
deploy gives (the offline engine outside preview mode), and judged by IAM's evaluation logic
(tools/checks/iam_eval.py): a role without the boundary, a role handed to any service, a managed
policy such as AdministratorAccess, and edits of the boundary itself are all refused.
"""

from __future__ import annotations

import json
import re

import pytest

from components.bootstrap.deploy_permissions import GCP_ESTATE_ACCOUNTS
from stacks.config import load, read_stack_file
from tools.checks import gcp_roles
from tools.checks.iam_eval import Request, evaluate

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/crm-dr-anything"


@pytest.fixture
def bootstrap(shipped):
    return shipped("bootstrap", preview=False)


@pytest.fixture
def deploy_policy(bootstrap):
    return bootstrap.one("aws:iam/rolePolicy:RolePolicy", "crm-ci-deploy")["policy"]


@pytest.fixture
def boundary(bootstrap):
    return bootstrap.outputs["awsPermissionsBoundaryArn"]


def decide(policy, action, resource=ROLE, **context):
    return evaluate([policy], Request(action, resource, {k.replace("_", ":", 1): v for k, v in context.items()}))


def test_the_boundary_the_stacks_read_is_the_policy_bootstrap_creates(bootstrap, boundary):
    assert bootstrap.one("aws:iam/policy:Policy").output("arn") == boundary


def test_a_role_without_the_boundary_is_refused(deploy_policy):
    assert decide(deploy_policy, "iam:CreateRole").result == "explicitly denied"


def test_a_role_with_another_boundary_is_refused(deploy_policy):
    other = f"arn:aws:iam::{ACCOUNT}:policy/crm-wide-open"
    assert not decide(deploy_policy, "iam:CreateRole", iam_PermissionsBoundary=other).allowed
    assert not decide(deploy_policy, "iam:PutRolePermissionsBoundary", iam_PermissionsBoundary=other).allowed


def test_a_role_with_the_boundary_is_allowed_on_every_path_the_estate_uses(deploy_policy, boundary):
    for path in ("/", "/service/"):
        role = f"arn:aws:iam::{ACCOUNT}:role{path}crm-dr-mail-sender-ses"
        assert decide(deploy_policy, "iam:CreateRole", role, iam_PermissionsBoundary=boundary).allowed, path


@pytest.mark.parametrize(
    "policy_arn",
    ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess", f"arn:aws:iam::{ACCOUNT}:policy/x"],
)
def test_attaching_administrator_or_any_unlisted_policy_is_refused(deploy_policy, boundary, policy_arn):
    assert not decide(deploy_policy, "iam:AttachRolePolicy", iam_PermissionsBoundary=boundary, iam_PolicyARN=policy_arn).allowed


def test_the_managed_policies_the_estate_attaches_are_allowed(deploy_policy, boundary):
    eks = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    assert decide(deploy_policy, "iam:AttachRolePolicy", iam_PermissionsBoundary=boundary, iam_PolicyARN=eks).allowed


# CodeBuild is not here: the deploy role hands the in-VPC runner its role (components/aws/ci_runner.py). What a
# build does is capped by the boundary that every role the deploy role may create carries.
@pytest.mark.parametrize(
    "service",
    ["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"],
)
def test_passing_a_role_to_a_service_that_could_run_it_for_the_caller_is_refused(deploy_policy, service):
    assert not decide(deploy_policy, "iam:PassRole", iam_PassedToService=service).allowed


def test_passing_a_role_without_a_receiving_service_is_refused(deploy_policy):
    assert not decide(deploy_policy, "iam:PassRole").allowed


def test_roles_go_to_the_services_that_use_them(deploy_policy):
    assert decide(deploy_policy, "iam:PassRole", iam_PassedToService="eks.amazonaws.com").allowed


def test_the_boundary_cannot_be_removed_or_edited(deploy_policy, boundary):
    assert decide(deploy_policy, "iam:DeleteRolePermissionsBoundary", iam_PermissionsBoundary=boundary).result == "explicitly denied"
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion"):
        assert decide(deploy_policy, action, boundary).result == "explicitly denied", action


def test_the_ci_identities_stay_out_of_reach(deploy_policy, boundary):
    for role in ("github-crm-deploy", "github-crm-deploy-production", "github-crm-preview"):
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole"):
            assert not decide(deploy_policy, action, arn, iam_PermissionsBoundary=boundary).allowed, (role, action)


def test_no_inline_policy_on_a_role_outside_the_boundary(deploy_policy):
    assert not decide(deploy_policy, "iam:PutRolePolicy").allowed


def test_the_boundary_itself_allows_no_role_or_policy_management(bootstrap):
    boundary = bootstrap.one("aws:iam/policy:Policy")["policy"]
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:CreatePolicyVersion", "iam:CreateAccessKey"):
        assert not decide(boundary, action, "*").allowed, action
    state = next(r for r in bootstrap.of_type("aws:s3/bucket:Bucket") if r.name == "crm-pulumi-state").output("arn")
    assert decide(boundary, "s3:GetObject", f"{state}/.pulumi/stacks/crm/aws-dr.json").result == "explicitly denied"


# ---------------------------------------------------------------- GCP


def _deploy_bindings(bootstrap, project="crm-dr-project"):
    return [r for r in bootstrap.of_type("gcp:projects/iAMMember:IAMMember") if r.name.startswith(f"crm-ci-deploy-{project}-")]


def test_the_gcp_deploy_account_holds_no_project_wide_service_account_user(bootstrap):
    roles = [r["role"] for r in _deploy_bindings(bootstrap)]
    assert roles and "roles/iam.serviceAccountUser" not in roles and "roles/owner" not in roles and "roles/editor" not in roles


# Every way to turn a grant on a service account into its credentials (IAM permissions reference:
# iam.serviceAccountKeys.*, and the Service Account Credentials API's methods), in the deny-policy form.
CREDENTIAL_PERMISSIONS = {
    f"iam.googleapis.com/{permission}"
    for permission in (
        "serviceAccountKeys.create",
        "serviceAccountKeys.upload",
        "serviceAccounts.getAccessToken",
        "serviceAccounts.getOpenIdToken",
        "serviceAccounts.implicitDelegation",
        "serviceAccounts.signBlob",
        "serviceAccounts.signJwt",
    )
}


def test_the_gcp_deploy_account_may_mint_no_service_account_credentials_in_any_deploy_project(bootstrap):
    """Should it ever hold a grant on some account there, a deny policy wins over that grant."""
    deploy = bootstrap.one("gcp:serviceaccount/account:Account", "crm-ci-deploy").output("email")
    projects = {r["project"] for r in bootstrap.of_type("gcp:projects/iAMMember:IAMMember") if r.name.startswith("crm-ci-deploy-")}
    assert projects
    denied = {}
    for policy in bootstrap.of_type("gcp:iam/denyPolicy:DenyPolicy"):
        project = policy["parent"].removeprefix("cloudresourcemanager.googleapis.com%2Fprojects%2F")
        for rule in policy["rules"]:
            deny = rule["denyRule"]
            if f"principal://iam.googleapis.com/projects/-/serviceAccounts/{deploy}" in deny["deniedPrincipals"] and not deny.get(
                "denialCondition"
            ):
                denied.setdefault(project, set()).update(set(deny["deniedPermissions"]) - set(deny.get("exceptionPermissions") or []))
    for project in projects:
        assert denied.get(project, set()) >= CREDENTIAL_PERMISSIONS, project


def test_created_projects_take_editor_away_from_their_default_service_accounts(run_stack):
    # Without an organization (projects with no parent), unlike tests/stacks/test_bootstrap_projects.py's FACTORY.
    result = run_stack("bootstrap", {"crm:projects": {"create": True, "billingAccount": "012345-6789AB-CDEF01"}}, preview=False)
    created = {p.output("projectId") for p in result.of_type("gcp:organizations/project:Project")}
    deprivileged = {
        d["project"] for d in result.of_type("gcp:projects/defaultServiceAccounts:DefaultServiceAccounts") if d["action"] == "DEPRIVILEGE"
    }
    assert created and deprivileged == created


def test_the_gcp_deploy_account_may_grant_only_the_stacks_project_roles(bootstrap, shipped):
    (admin,) = [r for r in _deploy_bindings(bootstrap) if r["role"] == "roles/resourcemanager.projectIamAdmin"]
    expression = admin["condition"]["expression"]
    assert expression.startswith("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([")
    grantable = set(re.findall(r"'(roles/[^']+)'", expression))
    assert not {"roles/owner", "roles/editor", "roles/resourcemanager.projectIamAdmin", "roles/iam.serviceAccountTokenCreator"} & grantable
    granted = {r["role"] for stack in ("gcp-dev", "gcp-dr") for r in shipped(stack).of_type("gcp:projects/iAMMember:IAMMember")}
    assert granted and granted <= grantable


# What makes a grant on service accounts an escalation: acting as an account (attaching it to nodes or VMs that
# then hold its rights) and setting an account's allow policy (granting that, or anything, to oneself).
ACCOUNT_ESCALATIONS = ("iam.serviceAccounts.actAs", "iam.serviceAccounts.setIamPolicy")
GCP_STACKS = ("gcp-dev", "gcp-staging", "gcp-production", "gcp-dr")


def _deploy_member(bootstrap):
    return f"serviceAccount:{bootstrap.one('gcp:serviceaccount/account:Account', 'crm-ci-deploy').output('email')}"


def _role_permissions(bootstrap, role):
    """A predefined role's iam.* permissions (Google's definitions, tools/checks/gcp_roles), a custom role's as registered."""
    custom = [r for r in bootstrap.of_type("gcp:projects/iAMCustomRole:IAMCustomRole") if role.endswith(f"/roles/{r['roleId']}")]
    if custom:
        return {p for p in custom[0]["permissions"] if p.startswith("iam.")}
    return set(gcp_roles.permissions(role))


def _account_email(bootstrap, grant):
    """The email of the bootstrap account a grant on a service account is made on."""
    (account,) = [
        a for a in bootstrap.of_type("gcp:serviceaccount/account:Account") if a.urn in grant.property_dependencies["serviceAccountId"]
    ]
    return account.output("email")


def test_the_gcp_deploy_account_holds_no_project_wide_service_account_admin(bootstrap):
    """A role on a deploy project reaches every service account in it (the Compute Engine default account, bootstrap's
    own): no role the deploy account holds there, without a condition, may act as or re-grant any account."""
    member = _deploy_member(bootstrap)
    projects = set(load("bootstrap", read_stack_file("bootstrap")).deploy_projects)
    grants = [
        (g["project"], g["role"], g.get("condition"))
        for g in bootstrap.of_type("gcp:projects/iAMMember:IAMMember")
        if g["member"] == member
    ] + [
        (g["project"], g["role"], g.get("condition"))
        for g in bootstrap.of_type("gcp:projects/iAMBinding:IAMBinding")
        if member in g["members"]
    ]
    assert {project for project, _, _ in grants} == projects and len(grants) > len(projects)
    for project, role, condition in grants:
        if condition is None:
            assert not _role_permissions(bootstrap, role) & set(ACCOUNT_ESCALATIONS), (project, role)


def test_the_deploy_account_acts_only_as_the_node_account_and_administers_only_bootstraps_workload_accounts(bootstrap):
    member = _deploy_member(bootstrap)
    grants = [g for g in bootstrap.of_type("gcp:serviceaccount/iAMMember:IAMMember") if g["member"] == member]
    accounts = bootstrap.outputs["gcpServiceAccounts"]
    allowed = {
        permission: {
            f"{project}/{key}"
            for project, keys in accounts.items()
            for key in keys
            if permission in gcp_roles.permissions(GCP_ESTATE_ACCOUNTS[key].deployer_role)
        }
        for permission in ACCOUNT_ESCALATIONS
    }
    # The node account is the only one it may act as; the Workload Identity accounts the only ones it may re-grant.
    assert {a.rsplit("/", 1)[1] for a in allowed["iam.serviceAccounts.actAs"]} == {"gkeNodes"}
    assert {a.rsplit("/", 1)[1] for a in allowed["iam.serviceAccounts.setIamPolicy"]} == {"app", "replicationLag"}
    emails = {accounts[p][k]["email"]: f"{p}/{k}" for p in accounts for k in accounts[p]}
    held = {permission: set() for permission in ACCOUNT_ESCALATIONS}
    for grant in grants:
        account = emails[_account_email(bootstrap, grant)]
        for permission in set(_role_permissions(bootstrap, grant["role"])) & set(ACCOUNT_ESCALATIONS):
            held[permission].add(account)
    assert held == allowed and len(grants) == sum(len(keys) for keys in accounts.values())


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_each_service_account_grant_and_node_account_of_the_gcp_stacks_is_within_the_deploy_accounts_grants(bootstrap, shipped, stack):
    """What the stacks do to service accounts is covered by the deploy account's grants on those very accounts."""
    member = _deploy_member(bootstrap)
    result = shipped(stack, preview=False)
    held: dict[str, set[str]] = {}
    for grant in bootstrap.of_type("gcp:serviceaccount/iAMMember:IAMMember"):
        if grant["member"] == member:
            held.setdefault(_account_email(bootstrap, grant), set()).update(_role_permissions(bootstrap, grant["role"]))
    assert result.of_type("gcp:serviceaccount/account:Account") == []  # none the deploy account would need to create
    bindings = result.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    assert bindings
    for binding in bindings:
        account = binding["serviceAccountId"].rsplit("/serviceAccounts/", 1)[1]
        assert "iam.serviceAccounts.setIamPolicy" in held.get(account, set()), binding.name
    nodes = [result.one("gcp:container/nodePool:NodePool"), result.one("gcp:container/cluster:Cluster")]
    for resource in nodes:
        assert "iam.serviceAccounts.actAs" in held.get(resource["nodeConfig"]["serviceAccount"], set()), resource.name


def test_policy_documents_are_json(deploy_policy):
    assert json.loads(deploy_policy)["Version"] == "2012-10-17"


# ---------------------------------------------------------------- the boundary within the deploy role


def _contexts(statement):
    """One request context per value of each exact condition key (the others at their first value)."""
    exact = {
        k: v for op, block in (statement.get("Condition") or {}).items() if op in ("StringEquals", "ArnEquals") for k, v in block.items()
    }
    first = {k: (v[0] if isinstance(v, list) else v) for k, v in exact.items()}
    contexts = [first]
    for key, values in exact.items():
        contexts += [{**first, key: value} for value in (values if isinstance(values, list) else [values])]
    return contexts


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_boundary_allow_is_also_the_deploy_role_s(bootstrap, deploy_policy):
    """A role the deploy role creates may do what its boundary allows: nothing there may reach past the deploy role."""
    boundary = json.loads(bootstrap.one("aws:iam/policy:Policy")["policy"])
    allows = [s for s in boundary["Statement"] if s["Effect"] == "Allow"]
    assert allows and not [s for s in allows if "NotAction" in s or "NotResource" in s]
    beyond = [
        (statement.get("Sid"), action, resource)
        for statement in allows
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
        for context in _contexts(statement)
        if not evaluate([deploy_policy], Request(action, resource, context)).allowed
    ]
    assert beyond == []


def test_what_the_deploy_role_is_denied_outright_no_role_under_the_boundary_may_do(bootstrap, deploy_policy):
    boundary = bootstrap.one("aws:iam/policy:Policy")["policy"]
    denies = [s for s in json.loads(deploy_policy)["Statement"] if s["Effect"] == "Deny" and "Action" in s and not s.get("Condition")]
    probes = [
        (action, resource) for s in denies for action in _as_list(s["Action"]) for resource in _as_list(s["Resource"]) if "*" not in action
    ]
    assert probes
    assert [(a, r) for a, r in probes if evaluate([boundary], Request(a, r)).allowed] == []


@pytest.mark.parametrize(
    "action",
    [
        "ssm:SendCommand",
        "ssm:StartSession",
        "ssm:CreateAssociation",
        "ec2:ModifyInstanceAttribute",  # an instance's user data runs as its role at the next start
        "ec2:ModifySnapshotAttribute",
        "rds:ModifyDBSnapshotAttribute",
    ],
)
def test_neither_the_deploy_role_nor_an_estate_role_runs_commands_on_instances_or_shares_snapshots(bootstrap, deploy_policy, action):
    boundary = bootstrap.one("aws:iam/policy:Policy")["policy"]
    other = f"arn:aws:ec2:ap-northeast-2:{ACCOUNT}:instance/i-0123456789abcdef0"
    assert decide(deploy_policy, action, other).result == "explicitly denied"
    assert decide(boundary, action, other).result == "explicitly denied"


def test_buckets_and_kafka_data_outside_the_estate_are_out_of_a_bounded_role_s_reach(bootstrap, deploy_policy):
    boundary = bootstrap.one("aws:iam/policy:Policy")["policy"]
    for policy in (boundary, deploy_policy):
        assert not decide(policy, "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/key").allowed
        assert not decide(policy, "kafka-cluster:ReadData", f"arn:aws:kafka:ap-northeast-2:{ACCOUNT}:topic/other/uuid/orders").allowed
        assert decide(policy, "s3:GetObject", "arn:aws:s3:::crm-dr-alb-logs/key").allowed


def test_the_deploy_role_still_manages_the_estate_s_msk_topics(deploy_policy):
    from components.bootstrap.ci_identity import MSK_TOPIC_ADMIN

    topic = f"arn:aws:kafka:ap-northeast-2:{ACCOUNT}:topic/crm-dr-kafka/0a1b2c3d-4e5f/crm.events"
    cluster = f"arn:aws:kafka:ap-northeast-2:{ACCOUNT}:cluster/crm-dr-kafka/0a1b2c3d-4e5f"
    assert [a for a in MSK_TOPIC_ADMIN if not decide(deploy_policy, a, cluster if a.endswith("Connect") else topic).allowed] == []


OUTSIDE_THE_ESTATE = [
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:ap-northeast-2:{ACCOUNT}:secret:payments/prod/db-AbCdEf"),
    ("secretsmanager:PutSecretValue", f"arn:aws:secretsmanager:ap-northeast-2:{ACCOUNT}:secret:crm-lookalike-AbCdEf"),
    ("ssm:GetParameter", f"arn:aws:ssm:ap-northeast-2:{ACCOUNT}:parameter/payments/prod/api-key"),
    ("ssm:PutParameter", f"arn:aws:ssm:ap-northeast-2:{ACCOUNT}:parameter/crmx/setting"),
    ("codebuild:StartBuild", f"arn:aws:codebuild:ap-northeast-2:{ACCOUNT}:project/payments-release"),
    ("codebuild:UpdateProject", f"arn:aws:codebuild:ap-northeast-2:{ACCOUNT}:project/payments-release"),
]


@pytest.mark.parametrize(("action", "resource"), OUTSIDE_THE_ESTATE)
def test_secrets_parameters_and_builds_of_others_in_the_account_are_out_of_reach(bootstrap, deploy_policy, action, resource):
    boundary = bootstrap.one("aws:iam/policy:Policy")["policy"]
    assert not decide(deploy_policy, action, resource).allowed
    assert not decide(boundary, action, resource).allowed


def test_the_estate_s_own_secrets_parameters_and_runner_project_stay_in_the_deploy_role_s_reach(shipped, deploy_policy):
    """The names the aws-* stacks give them, as a deploy resolves them (the secret's name carries its suffix)."""
    result = shipped("aws-dr", preview=False)
    secrets = [r.output("arn") for r in result.of_type("aws:secretsmanager/secret:Secret")]
    parameters = [r.output("arn") for r in result.of_type("aws:ssm/parameter:Parameter")]
    projects = [r.output("arn") for r in result.of_type("aws:codebuild/project:Project")]
    assert secrets and parameters and projects
    requests = (
        [("secretsmanager:CreateSecret", a) for a in secrets]
        + [("secretsmanager:GetSecretValue", a) for a in secrets]
        + [("ssm:PutParameter", a) for a in parameters]
        + [("codebuild:CreateProject", a) for a in projects]
        + [("codebuild:CreateWebhook", a) for a in projects]
    )
    assert [(action, arn) for action, arn in requests if not decide(deploy_policy, action, arn).allowed] == []


def test_the_node_s_ssm_agent_keeps_what_its_managed_policy_grants(bootstrap):
    """AmazonSSMManagedInstanceCore on the node role, capped by the boundary: the agent still registers and reports."""
    boundary = bootstrap.one("aws:iam/policy:Policy")["policy"]
    for action in ("ssm:UpdateInstanceInformation", "ssm:ListInstanceAssociations", "ssmmessages:CreateControlChannel"):
        assert decide(boundary, action, "*").allowed, action


OTHER_TEMPLATE = f"arn:aws:ec2:ap-northeast-2:{ACCOUNT}:launch-template/lt-0123456789abcdef0"


@pytest.mark.parametrize("other_tags", [{}, {"aws:ResourceTag/project": "payments"}])
def test_another_team_s_launch_template_can_be_neither_changed_nor_tagged_into_the_estate(deploy_policy, other_tags):
    """A new template version runs its user data as the template's instance profile on every instance started from it."""
    for action in ("ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"):
        assert decide(deploy_policy, action, OTHER_TEMPLATE, **other_tags).result == "explicitly denied", action
    tagging = {**other_tags, "aws:RequestTag/project": "crm"}
    assert decide(deploy_policy, "ec2:CreateTags", OTHER_TEMPLATE, **tagging).result == "explicitly denied"


def test_the_estate_s_node_launch_templates_stay_the_deploy_role_s(shipped, deploy_policy):
    templates = shipped("aws-dr").of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert templates
    for template in templates:
        tags = {"aws:ResourceTag/project": template["tags"]["project"]}
        assert decide(deploy_policy, "ec2:CreateLaunchTemplateVersion", OTHER_TEMPLATE, **tags).allowed
        assert decide(deploy_policy, "ec2:ModifyLaunchTemplate", OTHER_TEMPLATE, **tags).allowed
    creating = {"ec2:CreateAction": "CreateLaunchTemplate", "aws:RequestTag/project": "crm"}
    assert decide(deploy_policy, "ec2:CreateTags", OTHER_TEMPLATE, **creating).allowed
