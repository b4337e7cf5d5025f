"""Parses and validates the config of the bootstrap stack (`crm:cloud: bootstrap`).

The bootstrap stack creates what every other stack needs before its first `pulumi up`: the state
bucket, the key behind the secrets provider, and the identities CI assumes without stored keys.
"""
from __future__ import annotations

import re

from . import model
from .reader import Problems, Section

# GitHub owner and repository names: letters, digits, '-', and for repositories also '.' and '_'.
# Anything else (notably '*' or '?') would widen an OIDC trust beyond one repository.
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REF_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")
_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_GCP_MEMBER = re.compile(r"^(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+$")
BACKENDS = ("s3", "gcs")
SECRETS_PROVIDERS = ("awskms", "gcpkms")


def parse(problems: Problems, common: model.Common, raw: dict) -> model.BootstrapStackConfig:
    aws_region = raw.get("aws:region") or ""
    gcp_project = raw.get("gcp:project") or ""
    gcp_region = raw.get("gcp:region") or ""
    for key, value in (("aws:region", aws_region), ("gcp:project", gcp_project), ("gcp:region", gcp_region)):
        if not value:
            problems.add(key, "is required but not set")
    if gcp_project and not _PROJECT_ID.match(gcp_project):
        problems.add("gcp:project", f"'{gcp_project}' is not a GCP project id")

    gh = Section(problems, "crm:github", raw.get("crm:github"))
    github = model.GithubRepository(
        repository=gh.string("repository"),
        deploy_environments=gh.strings("deployEnvironments", ["non-production", "production"]),
        preview_branches=gh.strings("previewBranches", ["main"]),
    )
    gh.finish()
    if github.repository and not REPOSITORY.match(github.repository):
        problems.add("crm:github.repository", f"'{github.repository}' must be OWNER/REPO, without wildcards")
    if not github.deploy_environments:
        problems.add("crm:github.deployEnvironments", "needs at least one GitHub environment (the deploy identity trusts only jobs in these)")
    for key, names in (("deployEnvironments", github.deploy_environments), ("previewBranches", github.preview_branches)):
        for i, name in enumerate(names):
            if not _REF_NAME.match(name):
                problems.add(f"crm:github.{key}[{i}]", f"'{name}' is not a plain name (letters, digits, '.', '_', '-', '/'; no wildcards)")

    st = Section(problems, "crm:state", raw.get("crm:state"))
    state = model.StateSettings(
        backend=st.string("backend", "s3", choices=BACKENDS),
        secrets_provider=st.string("secretsProvider", "awskms", choices=SECRETS_PROVIDERS),
        noncurrent_version_days=st.integer("noncurrentVersionDays", 90, minimum=1, maximum=3650),
        log_retention_days=st.integer("logRetentionDays", 365, minimum=1, maximum=3650),
        aws_operators=st.strings("awsOperators", []),
        gcp_operators=st.strings("gcpOperators", []),
    )
    st.finish()
    for i, arn in enumerate(state.aws_operators):
        if not _IAM_PRINCIPAL.match(arn):
            problems.add(f"crm:state.awsOperators[{i}]", f"'{arn}' is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
    for i, member in enumerate(state.gcp_operators):
        if not _GCP_MEMBER.match(member):
            problems.add(f"crm:state.gcpOperators[{i}]", f"'{member}' is not an IAM member (user:, group: or serviceAccount: and an e-mail address)")
    if state.backend == "s3" or state.secrets_provider == "awskms":
        if not state.aws_operators:
            problems.add("crm:state.awsOperators", "needs the IAM role or user that runs bootstrap, or nobody outside CI could read the state or the secrets key")
    if (state.backend == "gcs" or state.secrets_provider == "gcpkms") and not state.gcp_operators:
        problems.add("crm:state.gcpOperators", "needs the IAM member that runs bootstrap, or nobody outside CI could read the state or the secrets key")

    deploy_projects = raw.get("crm:deployProjects")
    if deploy_projects is None:
        deploy_projects = [gcp_project] if gcp_project else []
    if not isinstance(deploy_projects, list) or not all(isinstance(p, str) for p in deploy_projects):
        problems.add("crm:deployProjects", f"must be a list of GCP project ids, got {deploy_projects!r}")
        deploy_projects = []
    for i, project in enumerate(deploy_projects):
        if not _PROJECT_ID.match(project):
            problems.add(f"crm:deployProjects[{i}]", f"'{project}' is not a GCP project id")
    return model.BootstrapStackConfig(
        common=common, aws_region=aws_region, gcp_project=gcp_project, gcp_region=gcp_region,
        github=github, state=state, deploy_projects=list(deploy_projects),
    )
