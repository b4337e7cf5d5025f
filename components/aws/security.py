"""Security groups shared by the data stores: one port, from the application only."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def app_only_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    port: int,
    app_security_group_id: pulumi.Input[str],
    service: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """A group admitting `port` only from the application's security group; no egress is needed by a server."""
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.ec2.SecurityGroup(
        f"{name}-sg", vpc_id=vpc_id, description=f"{service} for {name}", tags={**tags, "Name": f"{name}-{service.lower()}"}, opts=child
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-app",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=app_security_group_id,
        description=f"{service} from the application",
        tags=dict(tags),
        opts=child,
    )
    return group
