"""The bootstrap program: state backend, secrets-provider key and CI identities, before any other stack.

Run once by a person with a local backend; its state then moves into the bucket it created
(docs/deploying.md). CI never runs it: it holds the identities CI itself assumes.
"""

from __future__ import annotations

import pulumi

from components.bootstrap.ci_identity import GithubAwsRoles, GithubAwsRolesArgs, GithubGcpIdentity, GithubGcpIdentityArgs
from components.bootstrap.github_connection import GithubConnection, GithubConnectionArgs
from components.bootstrap.key_policy import account_role_arn
from components.bootstrap.projects import DeployProjects, DeployProjectsArgs
from components.bootstrap.secrets_provider import AwsSecretsKey, AwsSecretsKeyArgs, GcpSecretsKey, GcpSecretsKeyArgs
from components.bootstrap.state_backend import GcsStateBackend, GcsStateBackendArgs, S3StateBackend, S3StateBackendArgs
from components.cloudflare.deploy_token import DeployToken, DeployTokenArgs, groups
from components.gcp.services import CLIENT_BASED, ProjectServices, ProjectServicesArgs

from .config.model import PRODUCTION_STACKS, BootstrapStackConfig, github_connection_name
from .references import GCP_SERVICE_ACCOUNTS_OUTPUT, PERMISSIONS_BOUNDARY_OUTPUT


def ci_role_names(project: str) -> tuple[str, str]:
    """Fixed names (deploy, preview): key policies name them before the roles exist, and outside the
    estate's `<project>-*` names so the deploy role cannot touch them. The deploy role is the
    non-production environments' (the name the single deploy role had, kept so an upgrade replaces nothing)."""
    return f"github-{project}-deploy", f"github-{project}-preview"


def production_deploy_role_name(project: str) -> str:
    """The production environment's deploy role, named like the others."""
    return f"github-{project}-deploy-production"


def github_aws_roles_args(config: BootstrapStackConfig, **state) -> GithubAwsRolesArgs:
    """The CI roles' settings from bootstrap's config (the offline deploy-permission check builds the same policy)."""
    deploy_name, preview_name = ci_role_names(config.common.project)
    return GithubAwsRolesArgs(
        repository=config.github.repository,
        deploy_subjects=config.github.non_production_deploy_subjects,
        preview_subjects=config.github.preview_subjects,
        deploy_role_name=deploy_name,
        preview_role_name=preview_name,
        production_deploy_subjects=config.github.production_deploy_subjects,
        production_deploy_role_name=production_deploy_role_name(config.common.project),
        production_stacks=PRODUCTION_STACKS,
        name_prefix=config.common.project,
        region=config.aws_region,
        tags=config.common.tags("ci"),
        **state,
    )


def program(config: BootstrapStackConfig) -> None:
    common, github, state = config.common, config.github, config.state
    project = common.project
    protect = common.protected
    deploy_name, preview_name = ci_role_names(project)

    # The CI project's Google APIs, from the types created below (components/gcp/services.py), and the client-based
    # ones the deploy account's calls are billed to its own project for (enabling services, project IAM, budgets).
    services = ProjectServices(f"{project}-apis", ProjectServicesArgs(project=config.gcp_project))
    pulumi.runtime.register_stack_transformation(services.transformation)
    for service in CLIENT_BASED:
        services.enable(service)
    if config.projects is not None and config.projects.create:
        # crm:projects: the gcp-* stacks' projects, linked to billing; the CI identities' grants in them wait for them.
        created = DeployProjects(
            f"{project}-projects",
            DeployProjectsArgs(
                project_ids=config.deploy_projects,
                billing_account=config.projects.billing_account,
                folder_id=config.projects.folder_id,
                organization_id=config.projects.organization_id,
                labels=common.tags("projects"),
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )
        for project_id, resource in created.projects.items():
            services.created_here(project_id, resource)

    # AWS principals are named by ARN; the roles are created below, after the keys that name them.
    deploy_arn, preview_arn = account_role_arn(deploy_name), account_role_arn(preview_name)
    production_deploy_arn = account_role_arn(production_deploy_role_name(project))

    s3 = aws_key = None
    if state.backend == "s3":
        s3 = S3StateBackend(
            f"{project}-pulumi-state",
            S3StateBackendArgs(
                region=config.aws_region,
                tags=common.tags("state"),
                noncurrent_version_days=state.noncurrent_version_days,
                log_retention_days=state.log_retention_days,
                key_users=[deploy_arn, production_deploy_arn, preview_arn, *state.aws_operators],
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )
    if state.secrets_provider == "awskms":
        aws_key = AwsSecretsKey(
            f"{project}-pulumi-secrets",
            AwsSecretsKeyArgs(
                alias=f"{project}-pulumi-secrets",
                region=config.aws_region,
                tags=common.tags("secrets"),
                users=[deploy_arn, production_deploy_arn, *state.aws_operators],
                decrypters=[preview_arn],
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )
    aws_ci = GithubAwsRoles(
        f"{project}-ci",
        github_aws_roles_args(
            config,
            state_bucket_arn=s3.bucket_arn if s3 else None,
            state_key_arn=s3.key_arn if s3 else None,
            secrets_key_arn=aws_key.key_arn if aws_key else None,
            state_log_bucket_arn=s3.log_bucket_arn if s3 else None,
        ),
    )
    gcp_ci = GithubGcpIdentity(
        f"{project}-ci",
        GithubGcpIdentityArgs(
            project=config.gcp_project,
            repository=github.repository,
            deploy_subjects=github.deploy_subjects,
            preview_subjects=github.preview_subjects,
            deploy_projects=config.deploy_projects,
            account_prefix=project,
        ),
    )
    backend_url = s3.backend_url if s3 else None
    if state.backend == "gcs":
        gcs = GcsStateBackend(
            f"{project}-pulumi-state",
            GcsStateBackendArgs(
                project=config.gcp_project,
                location=config.gcp_region,
                labels=common.tags("state"),
                noncurrent_version_days=state.noncurrent_version_days,
                log_retention_days=state.log_retention_days,
                writers=[gcp_ci.deploy_member, *state.gcp_operators],
                preview_members=[gcp_ci.preview_member],
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )
        backend_url = gcs.backend_url
    secrets_url = aws_key.url if aws_key else None
    if state.secrets_provider == "gcpkms":
        gcp_key = GcpSecretsKey(
            f"{project}-pulumi-secrets",
            GcpSecretsKeyArgs(
                project=config.gcp_project,
                location=config.gcp_region,
                labels=common.tags("secrets"),
                users=[gcp_ci.deploy_member, *state.gcp_operators],
                decrypters=[gcp_ci.preview_member],
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )
        secrets_url = gcp_key.url

    if config.cloudflare_token is not None and config.cloudflare_token.create:
        # crm:cloudflareToken: the stacks' token, with exactly the permission groups their Cloudflare types need.
        token = DeployToken(
            f"{project}-cloudflare",
            DeployTokenArgs(
                name=f"{project}-deploy",
                account_id=config.cloudflare_token.account_id,
                zone_id=config.cloudflare_token.zone_id,
                zone_groups=groups("zone"),
                account_groups=groups("account"),
            ),
        )
        pulumi.export("cloudflareApiToken", token.value)  # secret: `gh secret set CLOUDFLARE_API_TOKEN` reads it (docs/deploying.md)
    # CI's in-VPC runners (each AWS stack's crm:ci) reach GitHub through it, once a person completes its handshake.
    github_connection = GithubConnection(
        f"{project}-github", GithubConnectionArgs(connection_name=github_connection_name(project), tags=common.tags("ci"))
    )

    # What the workflows and the other stacks need (tools/ci_variables.py writes them into GitHub).
    pulumi.export("backendUrl", backend_url)
    pulumi.export("secretsProvider", secrets_url)
    pulumi.export("awsDeployRoleArn", aws_ci.deploy_role_arn)  # the non-production environments' jobs
    pulumi.export("awsProductionDeployRoleArn", aws_ci.production_deploy_role_arn)  # the production environment's jobs
    pulumi.export("awsPreviewRoleArn", aws_ci.preview_role_arn)
    # Every role the other stacks create carries it (stacks/references.py reads it).
    pulumi.export(PERMISSIONS_BOUNDARY_OUTPUT, aws_ci.boundary_arn)
    pulumi.export("gcpWorkloadIdentityProvider", gcp_ci.provider_name)
    pulumi.export("gcpDeployServiceAccount", gcp_ci.deploy_email)
    pulumi.export("gcpPreviewServiceAccount", gcp_ci.preview_email)
    # The service accounts the gcp-* stacks use in each deploy project (stacks/references.py reads them).
    pulumi.export(GCP_SERVICE_ACCOUNTS_OUTPUT, gcp_ci.estate_account_outputs)
    pulumi.export("repository", github.repository)
    pulumi.export("githubConnectionArn", github_connection.arn)
    pulumi.export("githubConnectionStatus", github_connection.status)  # PENDING until its handshake is done
