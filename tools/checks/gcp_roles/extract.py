"""Writes role_permissions.json from a clone of https://github.com/iann0036/iam-dataset (a git directory).

    python -m tools.checks.gcp_roles.extract /path/to/iam-dataset[.git]

Reads `gcp/roles/<role>.json` at HEAD for every role the CI deploy account is granted, and keeps each role's
`iam.*` permissions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from . import TABLE

REPOSITORY = "https://github.com/iann0036/iam-dataset"


def granted_roles() -> list[str]:
    from components.bootstrap.ci_identity import DEPLOY_PROJECT_ROLES
    from components.bootstrap.deploy_permissions import GCP_ESTATE_ACCOUNTS, GCP_OUTSIDE_PROJECT

    return sorted({*DEPLOY_PROJECT_ROLES, *GCP_OUTSIDE_PROJECT.values(), *(a.deployer_role for a in GCP_ESTATE_ACCOUNTS.values())})


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={repo}", *args], check=True, capture_output=True, text=True).stdout


def main(repo: str) -> None:
    if Path(repo, ".git").exists():
        repo = str(Path(repo, ".git"))
    commit, date = _git(repo, "log", "-1", "--format=%H %cs").split()
    roles = {}
    for role in granted_roles():
        definition = json.loads(_git(repo, "show", f"HEAD:gcp/roles/{role.removeprefix('roles/')}.json"))
        assert definition["name"] == role, definition["name"]
        roles[role] = sorted(p for p in definition["includedPermissions"] if p.startswith("iam."))
    table = {"source": f"{REPOSITORY}/tree/{commit}/gcp/roles (Google's roles.get; commit of {date})", "roles": roles}
    TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
