"""The Cloudflare token's permission table against the provider SDK's own "Accepted Permissions", and bootstrap's token."""

from __future__ import annotations

import inspect
import json
import re

import pulumi_cloudflare as cloudflare
import pytest

from components.cloudflare import deploy_token, permissions
from tests.conftest import ALL_STACKS
from tools.reports import prerequisites

TOKEN_CONFIG = {"create": True, "accountId": "0123456789abcdef0123456789abcdef", "zoneId": "fedcba9876543210fedcba9876543210"}


def accepted(type_: str) -> set[str]:
    """The permissions the installed pulumi-cloudflare documents for a resource or function token."""
    name = type_.split(":")[-1]
    target = getattr(cloudflare, name, None) or getattr(cloudflare, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(), None)
    text = inspect.getsource(inspect.getmodule(target))
    block = re.search(r"Accepted Permissions\n\n((?:\s*- `[^`]+`\n)+)", text)
    return set(re.findall(r"`([^`]+)`", block.group(1))) if block else set()


@pytest.mark.parametrize("row", [r for r in permissions.PERMISSIONS if r.group], ids=lambda r: r.type.split(":")[-1] + r.setting[:12])
def test_each_rows_group_is_one_the_provider_documents_for_that_type(row):
    documented = accepted(row.type)
    if not documented:  # the SDK documents none for this type (rulesets: it depends on the phase); the row's source does
        assert row.source.startswith(permissions.API)
        return
    assert row.group in documented, (row.type, sorted(documented))


def test_the_stacks_token_carries_no_group_no_stack_needs(shipped):
    needed = {group for group, _ in prerequisites.token_groups([shipped(s) for s in ALL_STACKS])}
    granted = set(deploy_token.groups("zone")) | set(deploy_token.groups("account"))
    assert needed == granted


def test_bootstrap_creates_the_stacks_token_scoped_to_the_zone_and_account(run_stack):
    result = run_stack("bootstrap", {"crm:cloudflareToken": TOKEN_CONFIG}, preview=False)
    token = result.one("cloudflare:index/apiToken:ApiToken")
    scopes = {next(iter(json.loads(p["resources"]))): len(p["permissionGroups"]) for p in token.inputs["policies"]}
    assert scopes == {
        f"com.cloudflare.api.account.zone.{TOKEN_CONFIG['zoneId']}": len(deploy_token.groups("zone")),
        f"com.cloudflare.api.account.{TOKEN_CONFIG['accountId']}": len(deploy_token.groups("account")),
    }
    assert "Zone Settings Write" in deploy_token.groups("zone")
    assert type(result.outputs["cloudflareApiToken"]).__name__ == "Secret"


def test_the_tokens_groups_are_looked_up_by_name(run_stack):
    result = run_stack("bootstrap", {"crm:cloudflareToken": TOKEN_CONFIG}, preview=False)
    assert "cloudflare:index/getApiTokenPermissionGroupsList:getApiTokenPermissionGroupsList" in result.invokes


def test_a_token_needs_its_zone_and_account(run_stack):
    from stacks.config import ConfigValidationError

    with pytest.raises(ConfigValidationError, match=r"crm:cloudflareToken.zoneId: is required"):
        run_stack("bootstrap", {"crm:cloudflareToken": {"create": True, "accountId": TOKEN_CONFIG["accountId"]}})


def test_the_sdk_documents_the_permissions_of_every_row_but_the_phase_dependent_ruleset():
    undocumented = {r.type for r in permissions.PERMISSIONS if r.group and not accepted(r.type)}
    assert undocumented == {"cloudflare:index/ruleset:Ruleset"}
