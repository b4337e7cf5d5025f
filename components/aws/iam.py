"""Small IAM building blocks shared by the AWS components."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws


def assume_role_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


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
    role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy(service), tags=dict(tags), opts=pulumi.ResourceOptions(parent=parent))
    for policy in managed_policies:
        short = policy.rsplit("/", 1)[-1]
        aws.iam.RolePolicyAttachment(f"{name}-{short}", role=role.name, policy_arn=policy, opts=pulumi.ResourceOptions(parent=parent))
    return role

