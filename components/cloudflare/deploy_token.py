"""The API token the stacks deploy Cloudflare with, created by bootstrap and scoped to exactly what they use.

Its permission groups are the rows of components/cloudflare/permissions.py (the Cloudflare types and
settings the stacks create), zone groups on the one zone, account groups on its account. Groups are
named in the table as Cloudflare's API names them and looked up by name at deploy time
(`cloudflare.getApiTokenPermissionGroupsList`), so the token never carries a guessed id. The token
that creates it (bootstrap's own `cloudflare:apiToken`) needs "API Tokens Write" and nothing else.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component
from components.cloudflare.permissions import PERMISSIONS

SCOPES = {"zone": "com.cloudflare.api.account.zone", "account": "com.cloudflare.api.account"}


def groups(scope: str) -> list[str]:
    """The permission groups of one scope the stacks' Cloudflare types need, each once."""
    return sorted({row.group for row in PERMISSIONS if row.group and row.scope == scope})


@dataclass
class DeployTokenArgs:
    name: str
    account_id: str
    zone_id: str
    zone_groups: Sequence[str] = ()
    account_groups: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not (self.account_id and self.zone_id):
            raise ValueError("the token is scoped to one account and one zone: give both ids")


class DeployToken(Component):
    value: pulumi.Output[str]

    def __init__(self, name: str, args: DeployTokenArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:DeployToken", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)

        def group_id(group: str, scope: str) -> pulumi.Output[dict]:
            found = cloudflare.get_api_token_permission_groups_list_output(
                name=urllib.parse.quote(group), scope=urllib.parse.quote(SCOPES[scope]), opts=invoke
            )
            return found.results.apply(lambda results, g=group: {"id": _only(results, g)})

        policies = []
        for scope, names, resource in (
            ("zone", args.zone_groups, f"{SCOPES['zone']}.{args.zone_id}"),
            ("account", args.account_groups, f"{SCOPES['account']}.{args.account_id}"),
        ):
            if names:
                policies.append(
                    {
                        "effect": "allow",
                        "permission_groups": [group_id(g, scope) for g in names],
                        "resources": json.dumps({resource: "*"}),
                    }
                )
        self.token = cloudflare.ApiToken(
            f"{name}-token", name=args.name, policies=policies, opts=pulumi.ResourceOptions(parent=self, protect=self.protected)
        )
        self.value = pulumi.Output.secret(self.token.value)
        self.register_outputs({"tokenId": self.token.id, "value": pulumi.Output.secret(self.value)})


def _only(results, group: str) -> str:
    ids = [r.id for r in results or [] if r.name == group]
    if len(ids) != 1:
        raise ValueError(f"Cloudflare lists {len(ids)} permission groups named '{group}'; components/cloudflare/permissions.py names it")
    return ids[0]
