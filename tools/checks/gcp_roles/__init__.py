"""The IAM permissions of the predefined Google roles the CI deploy account holds, as Google defines them.

`role_permissions.json` holds, for each role the deploy account is granted (on a deploy project, on a service
account or outside the projects: components/bootstrap/deploy_permissions.py), the role's `iam.*` permissions
(the ones that act on service accounts, their keys, roles and policies), taken from the role definitions
Google's roles API returns (`roles.get`), as collected in https://github.com/iann0036/iam-dataset
(`gcp/roles/<role>.json`); SOURCE names the commit. Regenerate with `python -m tools.checks.gcp_roles.extract
<iam-dataset git dir>`; tests/tools/checks/test_gcp_roles.py fails when a granted role is missing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("role_permissions.json")


@cache
def _table() -> dict:
    return json.loads(TABLE.read_text())


def source() -> str:
    return _table()["source"]


def roles() -> list[str]:
    return sorted(_table()["roles"])


def permissions(role: str) -> frozenset[str]:
    """The role's iam.* permissions; KeyError for a role the table does not hold (regenerate it)."""
    return frozenset(_table()["roles"][role])


def holds(role: str, permission: str) -> bool:
    if not permission.startswith("iam."):
        raise ValueError(f"the table holds iam.* permissions only, not {permission}")
    return permission in permissions(role)
