"""The GCP VPC: one regional subnet with GKE ranges, Cloud NAT, private services access, firewalls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.base import Component, ready_after

# Google front ends and health checkers reach backends from these ranges.
GOOGLE_HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"]
APP_TAG = "crm-app"


@dataclass
class GcpNetworkArgs:
    network_name: str
    project: str
    region: str
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    private_services_cidr: str
    labels: Mapping[str, str]
    app_port: int = 8080
    peer_cidrs: Sequence[str] = field(default_factory=list)
    peer_egress_ports: Sequence[int] = (5432,)


class GcpNetwork(Component):
    """Custom-mode VPC that denies ingress by default.

    The private services access range hosts Cloud SQL and Memorystore. Its peering exports custom
    routes, so routes learned over the VPN reach them (Cloud SQL pulls replication from AWS), and
    the service networking connection is abandoned rather than deleted on destroy: deleting it
    while instances use it fails and would strand them.
    """

    app_tag: str
    network_id: pulumi.Output[str]
    network_name: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    private_services_network_id: pulumi.Output[str]
    private_services_range_name: pulumi.Output[str]
    router: gcp.compute.Router
    subnet_self_link: pulumi.Output[str]

    def __init__(self, name: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=args.network_name,
            project=args.project,
            auto_create_subnetworks=False,
            routing_mode="GLOBAL",
            opts=child,
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=f"{args.network_name}-{args.region}",
            project=args.project,
            region=args.region,
            network=self.network.id,
            ip_cidr_range=args.subnet_cidr,
            secondary_ip_ranges=[
                {"range_name": "pods", "ip_cidr_range": args.pods_cidr},
                {"range_name": "services", "ip_cidr_range": args.services_cidr},
            ],
            private_ip_google_access=True,
            log_config={"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5, "metadata": "INCLUDE_ALL_METADATA"},
            opts=child,
        )
        self.router = gcp.compute.Router(
            f"{name}-nat-router",
            name=f"{args.network_name}-nat",
            project=args.project,
            region=args.region,
            network=self.network.id,
            opts=child,
        )
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=f"{args.network_name}-nat",
            project=args.project,
            region=args.region,
            router=self.router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            enable_dynamic_port_allocation=True,
            enable_endpoint_independent_mapping=False,
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child,
        )

        psa_address, psa_prefix = args.private_services_cidr.split("/")
        self.private_services_range = gcp.compute.GlobalAddress(
            f"{name}-psa-range",
            name=f"{args.network_name}-psa",
            project=args.project,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=psa_address,
            prefix_length=int(psa_prefix),
            network=self.network.id,
            labels=dict(args.labels),
            opts=child,
        )
        self.private_services = gcp.servicenetworking.Connection(
            f"{name}-psa",
            network=self.network.id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[self.private_services_range.name],
            deletion_policy="ABANDON",
            opts=child,
        )
        gcp.compute.NetworkPeeringRoutesConfig(
            f"{name}-psa-routes",
            project=args.project,
            network=self.network.name,
            peering=self.private_services.peering,
            export_custom_routes=True,
            import_custom_routes=True,
            opts=child,
        )
        self._firewalls(name, args)

        self.network_id = self.network.id
        # What Cloud SQL and Memorystore attach to: usable once the private services connection exists.
        self.private_services_network_id = ready_after(self.network.id, self.private_services)
        self.private_services_range_name = ready_after(self.private_services_range.name, self.private_services)
        self.network_self_link = self.network.self_link
        self.network_name = self.network.name
        self.subnet_self_link = self.subnet.self_link
        self.app_tag = APP_TAG
        self.register_outputs(
            {
                "networkSelfLink": self.network_self_link,
                "subnetSelfLink": self.subnet_self_link,
                "networkId": self.network_id,
                "networkName": self.network_name,
                "privateServicesNetworkId": self.private_services_network_id,
                "privateServicesRangeName": self.private_services_range_name,
            }
        )

    def _firewalls(self, name: str, args: GcpNetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        rule = lambda suffix, **kw: gcp.compute.Firewall(  # noqa: E731 - one-line factory keeps the rule table readable
            f"{name}-{suffix}",
            name=f"{args.network_name}-{suffix}",
            project=args.project,
            network=self.network.id,
            log_config={"metadata": "INCLUDE_ALL_METADATA"},
            opts=child,
            **kw,
        )
        rule(
            "deny-ingress",
            direction="INGRESS",
            priority=65534,
            denies=[{"protocol": "all"}],
            source_ranges=["0.0.0.0/0"],
            description="Deny every ingress not allowed by a rule above",
        )
        rule(
            "allow-internal",
            direction="INGRESS",
            priority=1000,
            allows=[{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
            source_ranges=[args.subnet_cidr, args.pods_cidr],
            description="Nodes and pods talk to each other",
        )
        rule(
            "allow-health-checks",
            direction="INGRESS",
            priority=1000,
            allows=[{"protocol": "tcp", "ports": [str(args.app_port)]}],
            source_ranges=GOOGLE_HEALTH_CHECK_RANGES,
            target_tags=[APP_TAG],
            description="Google load balancer and health checks to the application",
        )
        if args.peer_cidrs:
            rule(
                "allow-peer-app",
                direction="INGRESS",
                priority=1000,
                allows=[{"protocol": "tcp", "ports": [str(args.app_port)]}],
                source_ranges=list(args.peer_cidrs),
                target_tags=[APP_TAG],
                description="The other cloud's application over the VPN, application port only",
            )
            ports = sorted({str(p) for p in (*args.peer_egress_ports, args.app_port)})
            rule(
                "allow-egress-peer",
                direction="EGRESS",
                priority=1000,
                allows=[{"protocol": "tcp", "ports": ports}],
                destination_ranges=list(args.peer_cidrs),
                description="To the other cloud over the VPN: PostgreSQL replication and the application",
            )
            rule(
                "deny-egress-peer",
                direction="EGRESS",
                priority=1100,
                denies=[{"protocol": "all"}],
                destination_ranges=list(args.peer_cidrs),
                description="Nothing else crosses to the other cloud",
            )
