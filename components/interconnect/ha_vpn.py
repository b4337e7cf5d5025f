"""The HA VPN between GCP and AWS: four IPsec tunnels with BGP, both halves built in one place.

Why one component (and one stack) for both halves: each half needs the other's addresses (GCP's
interface IPs go into AWS customer gateways; AWS's tunnel outside IPs into GCP's external
gateway). Built together, Pulumi orders it by itself: HA gateway -> customer gateways -> VPN
connections -> external gateway -> tunnels -> interfaces -> BGP peers. The AWS virtual private
gateway it attaches to belongs to the AWS stack and arrives here by id.

The caller creates the AWS provider for that gateway's account and region and passes it in
`opts.providers` (a GCP one too, where the default will not do); every child inherits it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_random as random

from components.base import Component

from . import addressing

# One transform set only: with AWS's default list the IKE proposal gets fragmented and Cloud VPN,
# which does not reassemble IKE fragments, can fail to rekey.
PHASE1 = {"encryption": ["AES256"], "integrity": ["SHA2-256"], "dh": [20]}
PHASE2 = {"encryption": ["AES256"], "integrity": ["SHA2-256"], "dh": [20]}
DPD_TIMEOUT_SECONDS = 30
BGP_KEEPALIVE_SECONDS = 20


@dataclass
class HaVpnLinkArgs:
    project: str
    region: str
    network_id: pulumi.Input[str]
    router_asn: int
    aws_vpn_gateway_id: pulumi.Input[str]
    aws_asn: int
    inside_cidrs: Sequence[ipaddress.IPv4Network]
    advertised_ranges: Sequence[str]
    labels: Mapping[str, str]
    tags: Mapping[str, str]
    _problems: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        problems = addressing.inside_cidr_problems(list(self.inside_cidrs))
        problems += addressing.asn_problems(self.router_asn, role="Cloud Router")
        problems += addressing.asn_problems(self.aws_asn, role="Amazon-side")
        if self.router_asn == self.aws_asn:
            problems.append(f"the Cloud Router and AWS need distinct ASNs, both are {self.aws_asn}")
        if problems:
            raise ValueError("HaVpnLinkArgs: " + "; ".join(problems))


class HaVpnLink(Component):
    bgp_peers: list[gcp.compute.RouterPeer]
    connections: list[aws.ec2.VpnConnection]
    router: gcp.compute.Router
    tunnels: list[gcp.compute.VPNTunnel]

    def __init__(self, name: str, args: HaVpnLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:interconnect:HaVpnLink", name, None, opts)
        self.require_provider("aws")  # the peer's account and region; never this stack's default
        child = pulumi.ResourceOptions(parent=self)
        gcp_common = {"project": args.project, "region": args.region}

        self.gateway = gcp.compute.HaVpnGateway(
            f"{name}-gateway",
            name=f"{name}-gateway",
            network=args.network_id,
            stack_type="IPV4_ONLY",
            labels=dict(args.labels),
            opts=child,
            **gcp_common,
        )
        self.router = gcp.compute.Router(
            f"{name}-router",
            name=f"{name}-router",
            network=args.network_id,
            bgp={
                "asn": args.router_asn,
                "advertise_mode": "CUSTOM",
                "advertised_groups": ["ALL_SUBNETS"],
                # Private services access (Cloud SQL, Memorystore) is not a subnet: advertise it explicitly.
                "advertised_ip_ranges": [{"range": r, "description": "private services access"} for r in args.advertised_ranges],
                "keepalive_interval": BGP_KEEPALIVE_SECONDS,
            },
            opts=child,
            **gcp_common,
        )
        interfaces = self.gateway.vpn_interfaces

        self.customer_gateways = [
            aws.ec2.CustomerGateway(
                f"{name}-cgw-{label}",
                type="ipsec.1",
                bgp_asn=str(args.router_asn),
                ip_address=interfaces.apply(lambda ifs, i=i: ifs[i]["ip_address"] if ifs and len(ifs) > i else None),
                tags={**args.tags, "Name": f"{name}-gcp-if{i}"},
                opts=child,
            )
            for i, label in enumerate(("a", "b"))
        ]
        self.preshared_keys = [self._preshared_key(f"{name}-psk-{t}") for t in range(addressing.TUNNEL_COUNT)]
        self.connections = []
        for c, label in enumerate(("a", "b")):
            tunnels = {}
            for n in (1, 2):
                t = c * 2 + (n - 1)
                tunnels.update(
                    {
                        f"tunnel{n}_inside_cidr": str(args.inside_cidrs[t]),
                        f"tunnel{n}_preshared_key": self.preshared_keys[t],
                        f"tunnel{n}_ike_versions": ["ikev2"],
                        f"tunnel{n}_phase1_encryption_algorithms": PHASE1["encryption"],
                        f"tunnel{n}_phase1_integrity_algorithms": PHASE1["integrity"],
                        f"tunnel{n}_phase1_dh_group_numbers": PHASE1["dh"],
                        f"tunnel{n}_phase2_encryption_algorithms": PHASE2["encryption"],
                        f"tunnel{n}_phase2_integrity_algorithms": PHASE2["integrity"],
                        f"tunnel{n}_phase2_dh_group_numbers": PHASE2["dh"],
                        f"tunnel{n}_dpd_timeout_action": "restart",
                        f"tunnel{n}_dpd_timeout_seconds": DPD_TIMEOUT_SECONDS,
                        f"tunnel{n}_startup_action": "start",
                    }
                )
            self.connections.append(
                aws.ec2.VpnConnection(
                    f"{name}-vpn-{label}",
                    type="ipsec.1",
                    vpn_gateway_id=args.aws_vpn_gateway_id,
                    customer_gateway_id=self.customer_gateways[c].id,
                    static_routes_only=False,
                    tags={**args.tags, "Name": f"{name}-vpn-{label}"},
                    opts=child,
                    **tunnels,
                )
            )

        outside = [
            self.connections[0].tunnel1_address,
            self.connections[0].tunnel2_address,
            self.connections[1].tunnel1_address,
            self.connections[1].tunnel2_address,
        ]
        self.external_gateway = gcp.compute.ExternalVpnGateway(
            f"{name}-aws",
            name=f"{name}-aws",
            project=args.project,
            redundancy_type="FOUR_IPS_REDUNDANCY",
            interfaces=[{"id": i, "ip_address": ip} for i, ip in enumerate(outside)],
            description="The four AWS tunnel endpoints",
            labels=dict(args.labels),
            opts=child,
        )

        self.tunnels, self.router_interfaces, self.bgp_peers = [], [], []
        for t, ha_interface, peer_interface in addressing.tunnel_interface_map():
            connection = self.connections[t // 2]
            n = t % 2 + 1
            aws_inside = getattr(connection, f"tunnel{n}_vgw_inside_address")
            gcp_inside = getattr(connection, f"tunnel{n}_cgw_inside_address")
            tunnel = gcp.compute.VPNTunnel(
                f"{name}-tunnel-{t}",
                name=f"{name}-tunnel-{t}",
                vpn_gateway=self.gateway.id,
                vpn_gateway_interface=ha_interface,
                peer_external_gateway=self.external_gateway.id,
                peer_external_gateway_interface=peer_interface,
                shared_secret=self.preshared_keys[t],
                router=self.router.id,
                ike_version=2,
                labels=dict(args.labels),
                opts=child,
                **gcp_common,
            )
            interface = gcp.compute.RouterInterface(
                f"{name}-if-{t}",
                name=f"{name}-if-{t}",
                router=self.router.name,
                vpn_tunnel=tunnel.name,
                ip_range=pulumi.Output.concat(gcp_inside, "/30"),
                opts=child,
                **gcp_common,
            )
            peer = gcp.compute.RouterPeer(
                f"{name}-peer-{t}",
                name=f"{name}-peer-{t}",
                router=self.router.name,
                interface=interface.name,
                ip_address=gcp_inside,
                peer_ip_address=aws_inside,
                peer_asn=args.aws_asn,
                advertised_route_priority=100,
                opts=child,
                **gcp_common,
            )
            self.tunnels.append(tunnel)
            self.router_interfaces.append(interface)
            self.bgp_peers.append(peer)

        self.register_outputs({"gatewayId": self.gateway.id, "tunnels": [t.name for t in self.tunnels]})

    def _preshared_key(self, name: str) -> pulumi.Output[str]:
        """A key AWS accepts: letters, digits, '.' and '_', 8-64 characters, never starting with '0'."""
        body = random.RandomPassword(
            name,
            length=addressing.PSK_LENGTH - 1,
            special=True,
            override_special=addressing.PSK_SPECIAL_CHARACTERS,
            min_lower=4,
            min_upper=4,
            min_numeric=4,
            opts=self.stateful(),
        )
        # A fixed leading letter keeps the key from starting with '0'; the other 39 characters are random.
        return pulumi.Output.secret(pulumi.Output.concat("k", body.result))
