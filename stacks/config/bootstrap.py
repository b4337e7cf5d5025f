"""Parses and validates the config of the bootstrap stack (`crm:cloud: bootstrap`).

The bootstrap stack creates what every other stack needs before its first `pulumi up`: the state
bucket, the key behind the secrets provider, and the identities CI assumes without stored keys.
"""

from __future__ import annotations

from typing import Optional

from . import model, rules
from .reader import Problems
from .rules import REPOSITORY  # noqa: F401  (its home before the schema)
from .schema import Context, Unavailable, provider_value, read, section, setting

BACKENDS = ("s3", "gcs")
SECRETS_PROVIDERS = ("awskms", "gcpkms")


@section
class TopLevel:
    """The bootstrap stack's own top-level `crm:` settings."""

    deploy_projects: list[str] = setting(
        "deployProjects",
        "GCP projects CI's deploy identity may deploy to",
        item_check=rules.gcp_project,
        derive=lambda c: [c["gcp_project"]] if c["gcp_project"] else [],
        derive_doc="[gcp:project]",
    )


def parse(problems: Problems, common: model.Common, raw: dict, context: Context) -> Optional[model.BootstrapStackConfig]:
    aws_region = provider_value(raw, "aws:region")
    gcp_project = provider_value(raw, "gcp:project")
    gcp_region = provider_value(raw, "gcp:region")

    github = read(problems, "crm:github", raw.get("crm:github"), model.GithubRepository, context)
    state = read(problems, "crm:state", raw.get("crm:state"), model.StateSettings, context)
    projects = read(problems, "crm:projects", raw.get("crm:projects"), model.ProjectFactory, context)
    with problems.relation():
        if projects.create and not projects.billing_account:
            problems.add(
                "crm:projects.billingAccount", "is required when crm:projects.create is true: a project without billing cannot enable APIs"
            )
    token = read(problems, "crm:cloudflareToken", raw.get("crm:cloudflareToken"), model.CloudflareTokenFactory, context)
    with problems.relation():
        for key, value in (("accountId", token.account_id), ("zoneId", token.zone_id)):
            if token.create and not value:
                problems.add(
                    f"crm:cloudflareToken.{key}", "is required when crm:cloudflareToken.create is true: the token is scoped to them"
                )
    with problems.relation():
        if projects.folder_id and projects.organization_id:
            problems.add("crm:projects.folderId", "give the folder or the organization, not both (a folder already names its organization)")
    with problems.relation():
        if (state.backend == "s3" or state.secrets_provider == "awskms") and not state.aws_operators:
            problems.add(
                "crm:state.awsOperators",
                "needs the IAM role or user that runs bootstrap, or nobody outside CI could read the state or the secrets key",
            )
    with problems.relation():
        if (state.backend == "gcs" or state.secrets_provider == "gcpkms") and not state.gcp_operators:
            problems.add(
                "crm:state.gcpOperators",
                "needs the IAM member that runs bootstrap, or nobody outside CI could read the state or the secrets key",
            )

    extra = {"gcp_project": gcp_project} if not gcp_project or rules.PROJECT_ID.match(gcp_project) else {}
    top = read(
        problems,
        "crm",
        {"deployProjects": raw.get("crm:deployProjects")},
        TopLevel,
        Context(common, extra=extra, environment_valid=context.environment_valid),
        separator=":",
    )
    try:
        return model.BootstrapStackConfig(
            common=common,
            aws_region=aws_region,
            gcp_project=gcp_project,
            gcp_region=gcp_region,
            github=github.build(),
            state=state.build(),
            deploy_projects=list(top.deploy_projects),
            projects=projects.build(),
            cloudflare_token=token.build(),
        )
    except Unavailable:
        return None
