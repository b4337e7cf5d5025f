"""Small IAM building blocks shared by the AWS components.

Every role the estate creates goes through `estate_role`, which sets the permissions boundary the
bootstrap stack creates (its output `awsPermissionsBoundaryArn`): the CI deploy role may create
and change roles only with that boundary (components/bootstrap/ci_identity.py), so a role built
here without it fails at deploy. Components take the boundary as an argument
(`permissions_boundary`) and hand it to these helpers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

# IAM paths the estate's roles live under; the deploy role's resource patterns are built from them
# (a role `/service/crm-x` has the ARN `role/service/crm-x`, which `role/crm-*` does not match).
ROLE_PATHS = ("/", "/service/")

# The AWS-managed policies the estate attaches, and the only ones the deploy role may attach
# (its `iam:PolicyARN` condition is built from this list).
EKS_CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
EKS_VPC_RESOURCE_CONTROLLER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"
EKS_WORKER_NODE_POLICY = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
EKS_CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
ECR_READ_ONLY_POLICY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
SSM_MANAGED_INSTANCE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
EBS_CSI_DRIVER_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
RDS_ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
BACKUP_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
ATTACHABLE_MANAGED_POLICIES = (
    EKS_CLUSTER_POLICY,
    EKS_VPC_RESOURCE_CONTROLLER_POLICY,
    EKS_WORKER_NODE_POLICY,
    EKS_CNI_POLICY,
    ECR_READ_ONLY_POLICY,
    SSM_MANAGED_INSTANCE_POLICY,
    EBS_CSI_DRIVER_POLICY,
    RDS_ENHANCED_MONITORING_POLICY,
    BACKUP_POLICY,
    RESTORE_POLICY,
)


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def estate_role(
    resource_name: str,
    *,
    assume_role_policy: pulumi.Input[str],
    permissions_boundary: pulumi.Input[str] | None,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    aliases: Sequence[pulumi.Alias] | None = None,
    **role_args: Any,
) -> aws.iam.Role:
    """An IAM role of the estate, capped by the bootstrap stack's permissions boundary.

    `permissions_boundary` is keyword-only and has no default, so no role is built without deciding
    it; pass None only outside CI (a person deploying with broader rights), where the pack's
    `iam-role-permissions-boundary` rule still reports it.
    """
    if role_args.get("path", "/") not in ROLE_PATHS:
        raise ValueError(f"role path '{role_args['path']}' is not one the deploy role may create (ROLE_PATHS: {', '.join(ROLE_PATHS)})")
    return aws.iam.Role(
        resource_name,
        assume_role_policy=assume_role_policy,
        permissions_boundary=permissions_boundary,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, aliases=list(aliases) if aliases else None),
        **role_args,
    )


def service_role(
    name: str,
    service: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    managed_policies: Sequence[str] = (),
    permissions_boundary: pulumi.Input[str] | None = None,
) -> aws.iam.Role:
    """A role that one AWS service assumes, with the given AWS-managed policies attached."""
    return service_role_with_policies(name, service, tags, parent, managed_policies, permissions_boundary=permissions_boundary)[0]


def service_role_with_policies(
    name: str,
    service: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    managed_policies: Sequence[str] = (),
    trust_policy: pulumi.Input[str] | None = None,
    permissions_boundary: pulumi.Input[str] | None = None,
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """`service_role`, also handing back the attachments, for resources that must wait for the role's rights.

    `trust_policy` replaces the plain service trust (for confused-deputy conditions).
    """
    unknown = sorted(set(managed_policies) - set(ATTACHABLE_MANAGED_POLICIES))
    if unknown:
        raise ValueError(f"managed policies {unknown} are not in ATTACHABLE_MANAGED_POLICIES, the only ones the deploy role may attach")
    role = estate_role(
        f"{name}-role",
        assume_role_policy=trust_policy if trust_policy is not None else assume_role_policy(service),
        permissions_boundary=permissions_boundary,
        tags=tags,
        parent=parent,
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}", role=role.name, policy_arn=policy, opts=pulumi.ResourceOptions(parent=parent)
        )
        for policy in managed_policies
    ]
    return role, attachments
