"""GKE: a regional private cluster with Workload Identity, Dataplane V2 and a separately managed node pool.

Pulumi (and CI) reaches the control plane through GKE's DNS-based endpoint: a per-cluster name
that accepts traffic from anywhere but lets a request through only when the caller's Google
identity holds `container.clusters.connect` (IAM), then Kubernetes RBAC applies. A GitHub-hosted
runner, whose egress addresses change, can therefore deploy without being in the authorized
networks. The kubeconfig names that endpoint and authenticates with `gke-gcloud-auth-plugin`.
The IP endpoint stays, limited to `authorized_networks` (may be empty: then only the cluster's
own network reaches it).

Intranode visibility sends pod-to-pod traffic on one node through the VPC too, so flow logs and
firewall rules see it. The cluster enforces the project's Binary Authorization policy
(components/gcp/binary_authorization.py). Turning intranode visibility on for an existing
cluster recreates its nodes (a surge upgrade of the pool).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.base import Component

# What nodes need and nothing more (Google's "least privilege service account for nodes").
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
    "roles/artifactregistry.reader",
)


MAINTENANCE_START, MAINTENANCE_END, MAINTENANCE_RECURRENCE = "2025-01-03T15:00:00Z", "2025-01-03T23:00:00Z", "FREQ=WEEKLY;BYDAY=FR,SA"


@dataclass
class GkeClusterArgs:
    project: str
    region: str
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    zones: Sequence[str]
    master_cidr: str
    # The nodes' Google service account (its email): created by bootstrap, which grants the deploy account
    # Service Account User on it alone (components/bootstrap/deploy_permissions.py GCP_ESTATE_ACCOUNTS).
    node_service_account: pulumi.Input[str]
    release_channel: str
    machine_type: str
    min_nodes: int
    initial_nodes: int
    max_nodes: int
    disk_size_gb: int
    secrets_kms_key: pulumi.Input[str]
    labels: Mapping[str, str]
    authorized_networks: Sequence[str] = field(default_factory=list)
    node_tags: Sequence[str] = ("crm-app",)
    deletion_protection: bool = True  # the cloud's own guard against deletion (Pulumi's protect is opts.protect)

    def __post_init__(self) -> None:
        if not self.min_nodes <= self.initial_nodes <= self.max_nodes:
            raise ValueError(
                f"GKE node counts must satisfy min <= initial <= max, got {self.min_nodes}/{self.initial_nodes}/{self.max_nodes}"
            )
        if "0.0.0.0/0" in self.authorized_networks:
            raise ValueError("the GKE control plane is never open to 0.0.0.0/0")
        if not self.zones:
            raise ValueError("the node pool needs at least one zone")

    @property
    def initial_nodes_per_zone(self) -> int:
        """GKE counts initial nodes per zone; round up so the pool starts with at least the total asked for."""
        return -(-self.initial_nodes // len(self.zones))


class GkeCluster(Component):
    cluster_name: pulumi.Output[str]
    dns_endpoint: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = dict(args.labels)

        # Creating the cluster and its pool, which run as this account, needs iam.serviceAccounts.actAs on it: the
        # deploy account holds it on this account alone, granted by bootstrap, which creates the account.
        self.node_service_account = args.node_service_account
        node_member = pulumi.Output.concat("serviceAccount:", args.node_service_account)
        for role in NODE_ROLES:
            gcp.projects.IAMMember(f"{name}-nodes-{role.split('/')[-1]}", project=args.project, role=role, member=node_member, opts=child)

        # What every node of ours runs with, the bootstrap pool's too: our own account, shielded boot, the GKE metadata server.
        node_security = {
            "service_account": args.node_service_account,
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "metadata": {"disable-legacy-endpoints": "true"},
        }
        node_config = {
            **node_security,
            "machine_type": args.machine_type,
            "disk_size_gb": args.disk_size_gb,
            "disk_type": "pd-balanced",
            "tags": list(args.node_tags),
            "resource_labels": labels,
        }
        self.cluster = gcp.container.Cluster(
            f"{name}-cluster",
            name=name,
            project=args.project,
            location=args.region,
            network=args.network,
            subnetwork=args.subnetwork,
            # The default pool is only a bootstrap, removed once the cluster exists; the managed pool below
            # replaces it. The cluster's node_config describes that removed pool only, so it carries nothing
            # that changes (machine type, disk, tags live on the pool): the provider updates a node_config
            # change through the default pool, which is gone (404), and replaces the cluster for some fields.
            # ignore_changes keeps clusters created with the full config (before this change) as they are.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=node_security,
            release_channel={"channel": args.release_channel},
            # The Gateway API CRDs and GKE's Gateway controller, which builds the application's load balancer.
            gateway_api_config={"channel": "CHANNEL_STANDARD"},
            workload_identity_config={"workload_pool": f"{args.project}.svc.id.goog"},
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": False,
                "master_ipv4_cidr_block": args.master_cidr,
            },
            control_plane_endpoints_config={"dns_endpoint_config": {"allow_external_traffic": True}},
            master_authorized_networks_config={
                "cidr_blocks": [{"cidr_block": cidr, "display_name": f"allowed-{i}"} for i, cidr in enumerate(args.authorized_networks)],
                "gcp_public_cidrs_access_enabled": False,
            },
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2: network policy enforced by eBPF
            enable_intranode_visibility=True,
            binary_authorization={"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
            database_encryption={"state": "ENCRYPTED", "key_name": args.secrets_kms_key},
            enable_legacy_abac=False,
            enable_shielded_nodes=True,
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
            monitoring_config={"enable_components": ["SYSTEM_COMPONENTS"], "managed_prometheus": {"enabled": True}},
            # 00:00-08:00 KST on Saturday and Sunday: 8 h x 2 days a week clears GKE's minimum of 48 h per 32 days.
            maintenance_policy={
                "recurring_window": {"start_time": MAINTENANCE_START, "end_time": MAINTENANCE_END, "recurrence": MAINTENANCE_RECURRENCE}
            },
            resource_labels=labels,
            deletion_protection=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected, depends_on=self.waits_for, ignore_changes=["nodeConfig"]),
        )
        self.node_pool = gcp.container.NodePool(
            f"{name}-pool",
            name=f"{name}-pool",
            project=args.project,
            location=args.region,
            cluster=self.cluster.name,
            node_locations=list(args.zones),
            initial_node_count=args.initial_nodes_per_zone,
            autoscaling={"total_min_node_count": args.min_nodes, "total_max_node_count": args.max_nodes, "location_policy": "BALANCED"},
            management={"auto_repair": True, "auto_upgrade": True},
            upgrade_settings={"max_surge": 1, "max_unavailable": 0, "strategy": "SURGE"},
            node_config=node_config,
            # The pool's name is fixed: a change that replaces it (the nodes' service account, OAuth scopes, boot-disk
            # key) deletes the old pool first, as a new one beside it would fail on the name (409). A name drawn
            # anew for each pool would let both coexist, but would itself replace every deployed pool once.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"], delete_before_replace=True),
        )
        self.dns_endpoint = self.cluster.control_plane_endpoints_config.apply(_dns_endpoint)
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, self.dns_endpoint).apply(lambda a: _kubeconfig(a[0], a[1]))
        )
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_pool])
        )
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.workload_pool = f"{args.project}.svc.id.goog"
        self.register_outputs(
            {"clusterName": self.cluster_name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig, "dnsEndpoint": self.dns_endpoint}
        )


def _field(value, name: str):
    if value is None:
        return None
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _dns_endpoint(config) -> str:
    return _field(_field(config, "dns_endpoint_config"), "endpoint") or ""


def _kubeconfig(name: str, dns_endpoint: str) -> str:
    # The DNS endpoint presents a publicly trusted certificate: no cluster CA in the kubeconfig.
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": f"https://{dns_endpoint}"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        }
    )
