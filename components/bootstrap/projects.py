"""The GCP projects the gcp-* stacks deploy into, created by bootstrap and linked to a billing account.

Optional (`crm:projects.create`): many organizations hand out projects through their own process.
Created projects get no default network (the stacks build their own VPC), their default service
accounts lose the Editor role Google grants them (`DEPRIVILEGE`), are protected, and refuse
deletion at the API (`deletion_policy = PREVENT`): a deleted project's id cannot be reused for 30
days, and everything in it would go with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component


@dataclass
class DeployProjectsArgs:
    project_ids: Sequence[str]
    billing_account: str
    labels: Mapping[str, str]
    folder_id: str = ""
    organization_id: str = ""

    def __post_init__(self) -> None:
        if not self.billing_account:
            raise ValueError("created projects need a billing account")
        if self.folder_id and self.organization_id:
            raise ValueError("give the folder or the organization, not both")


class DeployProjects(Component):
    projects: dict[str, gcp.organizations.Project]

    def __init__(self, name: str, args: DeployProjectsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:bootstrap:DeployProjects", name, None, opts)
        self.projects = {}
        for project_id in args.project_ids:
            self.projects[project_id] = gcp.organizations.Project(
                f"{name}-{project_id}",
                project_id=project_id,
                name=project_id,
                billing_account=args.billing_account,
                folder_id=args.folder_id or None,
                org_id=args.organization_id or None,
                auto_create_network=False,
                deletion_policy="PREVENT",
                labels=dict(args.labels),
                opts=self.stateful(),
            )
            # A new project's Compute Engine default account gets Editor; no stack runs anything as it. Taking the
            # role away means no one who can act as that account (anyone with a grant on it) inherits Editor.
            gcp.projects.DefaultServiceAccounts(
                f"{name}-{project_id}-default-accounts",
                project=self.projects[project_id].project_id,
                action="DEPRIVILEGE",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"projectIds": list(self.projects)})
