"""The deployer permissions as docs/prerequisites.md and docs/deploying.md list them, generated from the tables.

    python -m tools.reports.permissions_doc           # print the block
    python -m tools.reports.permissions_doc --write   # replace it in both documents

The block sits between `<!-- deployer-permissions -->` and `<!-- /deployer-permissions -->`;
tests/docs/test_deployer_permissions.py fails when a document's block differs from this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from components.aws.iam import ATTACHABLE_MANAGED_POLICIES, ROLE_PATHS
from components.bootstrap.ci_identity import (
    DEPLOY_PROJECT_ROLES,
    DEPLOY_SERVICES,
    GRANTABLE_PROJECT_ROLES,
    LAUNCH_TEMPLATE_CHANGES,
    NO_REMOTE_EXECUTION_OR_SHARING,
    PASSED_TO_SERVICES,
    PROJECT_IAM_ADMIN,
    PROJECT_TAG,
    ROLE_CHANGES_UNDER_BOUNDARY,
)
from components.bootstrap.deploy_permissions import (
    AWS,
    ESTATE_NAMED_RESOURCES,
    GCP,
    GCP_ESTATE_ACCOUNTS,
    GCP_ON_ESTATE_ACCOUNTS,
    GCP_OUTSIDE_PROJECT,
    estate_named_arns,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "docs" / "prerequisites.md", ROOT / "docs" / "deploying.md")
START, END = "<!-- deployer-permissions -->", "<!-- /deployer-permissions -->"


def _code(items) -> str:
    return ", ".join(f"`{i}`" for i in items)


def block() -> str:
    aws_types = len(AWS)
    gcp_types = len(GCP) + len(GCP_OUTSIDE_PROJECT) + len(GCP_ON_ESTATE_ACCOUNTS)
    lines = [
        START,
        f"Generated from `components/bootstrap/deploy_permissions.py` ({aws_types} AWS and {gcp_types} GCP resource types, each row",
        "with its source) by `python -m tools.reports.permissions_doc`; `python -m tools check` judges every stack against the same grants",
        "(check `deploy-permissions`).",
        "",
        "**AWS deploy roles** (`github-<project>-deploy` for the non-production environments, `github-<project>-deploy-production` "
        "for `production`; the same grants, but the first may not touch the production stacks' state):",
        "",
        f"- service-wide: {_code(DEPLOY_SERVICES)}, and the reads and MSK topic actions in `ci_identity.py`;",
        "- S3 only on `<project>-*` buckets and their objects;",
        "- "
        + "; ".join(
            f"`{service}:*` only on {_code(estate_named_arns(service, '<partition>', '<account>', '<project>'))}"
            for service in sorted(ESTATE_NAMED_RESOURCES)
        )
        + ";",
        f"- IAM roles only on `<project>-*` names under the paths {_code(ROLE_PATHS)}: {_code(ROLE_CHANGES_UNDER_BOUNDARY)} only with "
        "the bootstrap stack's permissions boundary (`iam:PermissionsBoundary`); `iam:AttachRolePolicy` only with that boundary and "
        f"one of {len(ATTACHABLE_MANAGED_POLICIES)} AWS-managed policies (`iam:PolicyARN`, `ATTACHABLE_MANAGED_POLICIES` in "
        f"`components/aws/iam.py`); `iam:PassRole` only to {_code(PASSED_TO_SERVICES)} (`iam:PassedToService`);",
        f"- denied whatever else allows it: {_code(NO_REMOTE_EXECUTION_OR_SHARING)} on anything; "
        f"{_code(LAUNCH_TEMPLATE_CHANGES)} on a launch template without the estate's `{PROJECT_TAG}` tag, and tagging one "
        "it is not creating; "
        "a role without the boundary, `iam:DeleteRolePermissionsBoundary`, any other managed policy, "
        "any IAM action on the CI roles, the GitHub OIDC provider and the boundary policy, anything but object reads and writes on the "
        "state bucket, anything on its log bucket, anything but encrypt and decrypt on the state and secrets keys.",
        "",
        "**GCP deploy service account** (`<project>-ci-deploy`), on each project in `crm:deployProjects`:",
        "",
        f"- {_code(DEPLOY_PROJECT_ROLES)};",
        f"- `{PROJECT_IAM_ADMIN}` with the condition that it grants and revokes only {_code(GRANTABLE_PROJECT_ROLES)};",
        "- no service account role on the project (it would reach every account there): bootstrap creates the accounts the "
        "stacks use, `<project>-<name>`, and grants the deploy account one role on each of them alone: "
        + "; ".join(f"`{a.suffix}`: `{a.deployer_role}` (it {a.why})" for a in GCP_ESTATE_ACCOUNTS.values())
        + ";",
        f"- outside the projects: {_code(sorted(set(GCP_OUTSIDE_PROJECT.values())))} on the billing account of "
        "`crm:monitoring.billingAccount` (granted by its administrators, not by bootstrap).",
        END,
    ]
    return "\n".join(lines)


def replace_in(text: str) -> str:
    start, end = text.index(START), text.index(END) + len(END)
    return text[:start] + block() + text[end:]


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        for path in DOCUMENTS:
            path.write_text(replace_in(path.read_text()))
        return 0
    print(block())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
