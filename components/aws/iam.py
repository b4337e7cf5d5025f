"""Small IAM building blocks shared by the AWS components."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_role(
    name: str,
    service: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    managed_policies: Sequence[str] = (),
) -> aws.iam.Role:
    """A role that one AWS service assumes, with the given AWS-managed policies attached."""
    return service_role_with_policies(name, service, tags, parent, managed_policies)[0]


def service_role_with_policies(
    name: str,
    service: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    managed_policies: Sequence[str] = (),
    trust_policy: pulumi.Input[str] | None = None,
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """`service_role`, also handing back the attachments, for resources that must wait for the role's rights.

    `trust_policy` replaces the plain service trust (for confused-deputy conditions).
    """
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=trust_policy if trust_policy is not None else assume_role_policy(service),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}", role=role.name, policy_arn=policy, opts=pulumi.ResourceOptions(parent=parent)
        )
        for policy in managed_policies
    ]
    return role, attachments
