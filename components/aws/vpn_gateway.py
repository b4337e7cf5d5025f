"""The AWS end of the link to GCP: a virtual private gateway with BGP routes propagated into the VPC.

A VGW rather than a transit gateway: one VPC talks to one peer here, and a VGW costs nothing per
attachment. The price is no ECMP: AWS sends toward GCP over one preferred tunnel per connection,
so the four tunnels give redundancy, not four times the bandwidth. Move to a transit gateway
(`vpn_ecmp_support`) if replication traffic outgrows one tunnel (about 1.25 Gbps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.interconnect import addressing


@dataclass
class VpnGatewayArgs:
    vpc_id: pulumi.Input[str]
    amazon_side_asn: int
    route_table_ids: Sequence[pulumi.Input[str]]
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        problems = addressing.asn_problems(self.amazon_side_asn, role="Amazon-side")
        if problems:
            raise ValueError("; ".join(problems))


class VpnGateway(Component):
    amazon_side_asn: int
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpnGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:VpnGateway", name, None, opts)
        # The Amazon-side ASN cannot change after creation: replacing the gateway drops every tunnel.
        self.gateway = aws.ec2.VpnGateway(
            f"{name}-vgw",
            vpc_id=args.vpc_id,
            amazon_side_asn=str(args.amazon_side_asn),
            tags={**args.tags, "Name": f"{name}-vgw"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        for i, route_table_id in enumerate(args.route_table_ids):
            aws.ec2.VpnGatewayRoutePropagation(
                f"{name}-propagate-{i}",
                vpn_gateway_id=self.gateway.id,
                route_table_id=route_table_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.gateway_id = self.gateway.id
        self.amazon_side_asn = args.amazon_side_asn
        self.register_outputs({"vpnGatewayId": self.gateway_id})
