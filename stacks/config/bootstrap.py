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
        )
    except Unavailable:
        return None
