"""A Helm chart from its repository, optionally with a service account that is an AWS IAM role (IRSA).

The shape every platform controller shares: the chart's own release (atomic, so a failed upgrade
rolls back), and when its pods call AWS an IAM role only the chart's service account may assume,
the role's inline policy, and the role's ARN in the service account's annotation, at the place in
the chart's values where that chart reads it. The release waits for the policy, so the controller
never starts without its permissions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.eks import irsa_role
from components.base import Component

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass
class ServiceAccount:
    """The service account the chart creates, and where in its values the chart reads its settings."""

    name: str
    values_path: Sequence[str] = ("serviceAccount",)

    def __post_init__(self) -> None:
        if not self.values_path:
            raise ValueError(f"service account {self.name}: values_path names the chart value that holds it")


@dataclass
class IrsaRole:
    """An IAM role for the chart's service account, trusted through the cluster's OIDC provider."""

    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    policy: pulumi.Input[str]  # the role's inline policy document (JSON)
    tags: Mapping[str, str]
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)


@dataclass
class ChartReleaseArgs:
    release_name: str
    chart: str
    version: str
    repository: str
    namespace: str
    values: Mapping[str, Any]
    create_namespace: bool = False
    service_account: ServiceAccount | None = None
    aws_role: IrsaRole | None = None  # needs service_account: the role is annotated on it
    release_suffix: str = "chart"  # the release's resource name is <component name>-<release_suffix>

    def __post_init__(self) -> None:
        if self.aws_role is not None and self.service_account is None:
            raise ValueError(f"chart {self.chart}: an IAM role (aws_role) needs the service_account it is annotated on")


def with_service_account(values: Mapping[str, Any], account: ServiceAccount, annotations: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with the chart's service account (created by the chart, named, annotated) at `account.values_path`."""
    merged = dict(values)
    node = merged
    for key in account.values_path[:-1]:
        node[key] = dict(node.get(key) or {})
        node = node[key]
    entry: dict[str, Any] = {"create": True, "name": account.name}
    if annotations:
        entry["annotations"] = dict(annotations)
    node[account.values_path[-1]] = {**(node.get(account.values_path[-1]) or {}), **entry}
    return merged


class ChartRelease(Component):
    """A Helm release, with an IRSA role and its policy when `aws_role` is set; children named after the component.

    The callers built these children themselves before, under the same names: each carries an alias
    to the caller (this component's parent), so moving them here replaces nothing.
    """

    release: k8s.helm.v3.Release
    status: pulumi.Output[Any]
    role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ChartReleaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:kubernetes:ChartRelease", name, None, opts)
        self.require_provider("kubernetes")  # the cluster's, in opts.providers
        caller = opts.parent if opts is not None else None
        aliases = [pulumi.Alias(parent=caller)] if caller is not None else []
        moved = pulumi.ResourceOptions(parent=self, aliases=aliases)

        values: dict[str, Any] = dict(args.values)
        waits_for: list[pulumi.Resource] = []
        self.role_arn = None
        if args.aws_role is not None and args.service_account is not None:
            role_args = args.aws_role
            role = irsa_role(
                f"{name}-irsa",
                role_args.oidc_provider_arn,
                role_args.oidc_provider_url,
                args.namespace,
                args.service_account.name,
                role_args.tags,
                self,
                role_args.permissions_boundary,
                aliases=aliases,
            )
            waits_for.append(aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=role_args.policy, opts=moved))
            self.role_arn = role.arn
            values = with_service_account(values, args.service_account, {ROLE_ANNOTATION: role.arn})
        elif args.service_account is not None:
            values = with_service_account(values, args.service_account, {})

        self.release = k8s.helm.v3.Release(
            f"{name}-{args.release_suffix}",
            name=args.release_name,
            chart=args.chart,
            version=args.version,
            repository_opts={"repo": args.repository},
            namespace=args.namespace,
            create_namespace=args.create_namespace or None,
            atomic=True,
            values=values,
            opts=pulumi.ResourceOptions.merge(moved, pulumi.ResourceOptions(depends_on=waits_for)),
        )
        self.status = self.release.status
        outputs: dict[str, Any] = {"status": self.status}
        if self.role_arn is not None:
            outputs["roleArn"] = self.role_arn
        self.register_outputs(outputs)
