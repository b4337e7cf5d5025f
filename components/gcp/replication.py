"""Logical replication RDS -> Cloud SQL as part of the deploy, and its lag measured every minute (gcp-dr).

- A Kubernetes Job runs `python -m dr setup` (idempotent: it creates only what is missing), so the
  subscription exists once `pulumi up` finishes. Pulumi waits for the Job: a failed setup fails the deploy.
- A CronJob runs `python -m dr.metrics` every minute: it measures the copy's lag with `python -m dr lag`
  and writes it to Cloud Monitoring as `custom.googleapis.com/crm/replication_lag_seconds`, which
  the replication-lag alert policy watches. Its Kubernetes service account acts, through Workload
  Identity, as a Google service account whose only role is `roles/monitoring.metricWriter` (bootstrap's
  account: the deploy account may set the allow policy of that account alone).

Each reads the database endpoints and passwords from its own Kubernetes Secret built from stack outputs
(environment variables named as `python -m dr` expects); no password is on a command line:

- the setup Job's Secret holds both admins (it creates the publication, the heartbeat and the
  subscription) and the replication role the subscription signs in as;
- the lag CronJob's Secret holds only each side's monitor role (the roles Jobs create it: CONNECT and
  pg_monitor; `dr setup` grants it EXECUTE on dr.beat() and SELECT on the heartbeat tables). A pod
  of the CronJob, which runs every minute, never holds an admin password.

Both verify the servers' certificates: RDS's with the region's RDS root CAs (verify-full: the
certificate names the host), Cloud SQL's with its server CA (verify-ca: the certificate does not name
the private IP), from a ConfigMap mounted at /tls. The subscription Cloud SQL opens to RDS is made by
Cloud SQL's own server, which no CA file can be given to: it is encrypted (sslmode require) and runs
inside the HA VPN's IPsec tunnels.

The namespace admits no ingress and allows egress only to PostgreSQL on the two databases' ranges,
DNS, and (the lag pods) HTTPS to Google's APIs and the GKE metadata server for Workload Identity.
Pass the GKE provider (and `depends_on` the cluster and the VPN link that makes RDS reachable) through `opts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.base import Component
from components.endpoints import DatabaseEndpoint, DatabaseUser

LAG_SCHEDULE = "* * * * *"
TLS_DIR = "/tls"
SETUP_LABELS = {"app.kubernetes.io/name": "dr-setup"}
LAG_LABELS = {"app.kubernetes.io/name": "dr-lag"}
DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
# private.googleapis.com: Google's APIs on addresses reached only through Private Google Access (the subnet's
# private_ip_google_access, components/gcp/network.py) over the VPC's default route, never the internet
# (https://cloud.google.com/vpc/docs/configure-private-google-access#domain-options).
PRIVATE_GOOGLE_APIS_CIDR = "199.36.153.8/30"
PRIVATE_GOOGLE_APIS_ADDRESSES = ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"]
# The Google APIs the lag job calls (dr/metrics.py: Cloud Monitoring; its token comes from the GKE metadata
# server). The pod resolves them to private.googleapis.com's addresses (hostAliases), so the VPC needs no private
# DNS zone for googleapis.com and nothing else in it changes how it reaches Google.
LAG_GOOGLE_API_HOSTS = ["monitoring.googleapis.com"]
METRIC_WRITER = "roles/monitoring.metricWriter"
# A read-only root filesystem, with a scratch /tmp for the PostgreSQL client tools.
_SCRATCH_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
_SCRATCH_MOUNT = {"name": "tmp", "mountPath": "/tmp"}
_SECURE_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "capabilities": {"drop": ["ALL"]},
}


@dataclass
class ReplicationJobsArgs:
    project: str
    namespace: str
    image: str
    lag_threshold_seconds: int
    lag_account: pulumi.Input[str]  # the lag exporter's Google service account (its email), created by bootstrap
    publisher: DatabaseEndpoint  # RDS (aws-dr outputs) as its admin, who creates the publication and heartbeat
    subscriber: DatabaseEndpoint  # Cloud SQL (this stack) as its admin
    # The role the subscription signs in to RDS as (aws-dr's replication role: rds_replication and
    # SELECT only). Without it the subscription would use the publisher's admin user.
    replication_user: pulumi.Input[str] | None = None
    replication_password: pulumi.Input[str] | None = None
    # The lag CronJob's own role on each side (the roles Jobs' monitor role), never an admin.
    publisher_monitor: DatabaseUser | None = None
    subscriber_monitor: DatabaseUser | None = None
    # Where the two databases are (CIDRs): the namespace's only PostgreSQL egress.
    database_cidrs: tuple[str, ...] | list[str] = ()

    def __post_init__(self) -> None:
        if not self.image:
            raise ValueError("ReplicationJobsArgs: the dr tool image is required")
        if self.publisher_monitor is None or self.subscriber_monitor is None:
            raise ValueError(
                "ReplicationJobsArgs: the lag CronJob needs a monitor role on each side (publisher_monitor, subscriber_monitor)"
            )
        if not self.database_cidrs:
            raise ValueError("ReplicationJobsArgs: database_cidrs (the two databases' ranges) are required for the namespace's egress")
        if self.lag_threshold_seconds < 1:
            raise ValueError(f"ReplicationJobsArgs: lag threshold must be at least 1 s, got {self.lag_threshold_seconds}")


def connection_env(
    publisher: DatabaseEndpoint,
    subscriber: DatabaseEndpoint,
    replication_user: pulumi.Input[str] | None = None,
    replication_password: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """The environment `python -m dr` reads its endpoints from (each side signed in as its endpoint's user)."""
    env: dict[str, pulumi.Input[str]] = {}
    for prefix, db in (("PUBLISHER", publisher), ("SUBSCRIBER", subscriber)):
        env.update(
            {
                # A port read through a StackReference arrives as a JSON number (5432.0): libpq wants an integer.
                f"{prefix}_HOST": db.host,
                f"{prefix}_PORT": pulumi.Output.from_input(db.port).apply(lambda p: str(int(float(p)))),
                f"{prefix}_DBNAME": db.database,
                f"{prefix}_USER": db.user.username,
                f"{prefix}_PASSWORD": db.user.password,
                f"{prefix}_SSLMODE": db.sslmode if db.ca_certificate is not None else "require",
            }
        )
        if db.ca_certificate is not None:
            env[f"{prefix}_SSLROOTCERT"] = f"{TLS_DIR}/{ca_file(prefix)}"
    if replication_user is not None:
        env.update({"REPLICATION_USER": replication_user, "REPLICATION_PASSWORD": replication_password})
    return env


def ca_file(prefix: str) -> str:
    return f"{prefix.lower()}-ca.pem"


class ReplicationJobs(Component):
    def __init__(self, name: str, args: ReplicationJobsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:ReplicationJobs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The setup Job waits explicitly for what the caller depends on (the VPN link that makes RDS reachable).
        after = self.waits_for
        ksa = f"{name}-lag"

        lag_account = pulumi.Output.from_input(args.lag_account)
        gcp.projects.IAMMember(
            f"{name}-metric-writer",
            project=args.project,
            role=METRIC_WRITER,
            member=pulumi.Output.concat("serviceAccount:", lag_account),
            opts=child,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-wi",
            service_account_id=pulumi.Output.concat("projects/", args.project, "/serviceAccounts/", lag_account),
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{args.project}.svc.id.goog[{args.namespace}/{ksa}]",
            # The PROJECT.svc.id.goog pool appears with the first Workload Identity cluster: the caller's
            # depends_on carries that cluster.
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )

        namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": args.namespace}, opts=child)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-ksa",
            metadata={"name": ksa, "namespace": args.namespace, "annotations": {"iam.gke.io/gcp-service-account": lag_account}},
            automount_service_account_token=False,
            opts=in_namespace,
        )
        assert args.publisher_monitor is not None and args.subscriber_monitor is not None  # __post_init__
        # The setup Job's: both admins and the replication role. Only the setup Job mounts it.
        self.secret = k8s.core.v1.Secret(
            f"{name}-endpoints",
            metadata={"name": f"{name}-endpoints", "namespace": args.namespace},
            type="Opaque",
            string_data=pulumi.Output.secret(
                {
                    **connection_env(args.publisher, args.subscriber, args.replication_user, args.replication_password),
                    "DR_MONITOR_ROLE": args.subscriber_monitor.username,
                }
            ),
            opts=in_namespace,
        )
        # The lag CronJob's: each side's monitor role, nothing more.
        self.lag_secret = k8s.core.v1.Secret(
            f"{name}-lag-endpoints",
            metadata={"name": f"{name}-lag-endpoints", "namespace": args.namespace},
            type="Opaque",
            string_data=pulumi.Output.secret(
                connection_env(args.publisher.signed_in_as(args.publisher_monitor), args.subscriber.signed_in_as(args.subscriber_monitor))
            ),
            opts=in_namespace,
        )
        # The servers' CA bundles (public certificates), mounted where *_SSLROOTCERT points.
        cas = {
            ca_file(p): db.ca_certificate
            for p, db in (("PUBLISHER", args.publisher), ("SUBSCRIBER", args.subscriber))
            if db.ca_certificate is not None
        }
        tls = k8s.core.v1.ConfigMap(
            f"{name}-tls", metadata={"name": f"{name}-tls", "namespace": args.namespace}, data=cas, opts=in_namespace
        )
        tls_volume = {"name": "tls", "configMap": {"name": f"{name}-tls"}}
        tls_mount = {"name": "tls", "mountPath": TLS_DIR, "readOnly": True}
        self.network_policies = self._network_policies(name, args, in_namespace)
        env_from = [{"secretRef": {"name": f"{name}-endpoints"}}]
        lag_env_from = [{"secretRef": {"name": f"{name}-lag-endpoints"}}]

        self.setup = k8s.batch.v1.Job(
            f"{name}-setup",
            metadata={"namespace": args.namespace, "labels": SETUP_LABELS},
            spec={
                "backoffLimit": 3,
                "activeDeadlineSeconds": 3600,
                "template": {
                    "metadata": {"labels": SETUP_LABELS},
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": False,
                        "volumes": [_SCRATCH_VOLUME, tls_volume],
                        "containers": [
                            {
                                "name": "setup",
                                "image": args.image,
                                "command": ["python", "-m", "dr", "setup"],
                                "envFrom": env_from,
                                "volumeMounts": [_SCRATCH_MOUNT, tls_mount],
                                "securityContext": _SECURE_CONTAINER,
                                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
                            }
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespace, self.secret, tls, *self.network_policies, *after],
                custom_timeouts=pulumi.CustomTimeouts(create="60m"),
            ),
        )

        self.lag = k8s.batch.v1.CronJob(
            f"{name}-lag",
            metadata={"namespace": args.namespace, "labels": LAG_LABELS},
            spec={
                "schedule": LAG_SCHEDULE,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 0,
                        "activeDeadlineSeconds": 50,
                        "template": {
                            "metadata": {"labels": LAG_LABELS},
                            "spec": {
                                "restartPolicy": "Never",
                                "serviceAccountName": ksa,
                                "hostAliases": [{"ip": ip, "hostnames": LAG_GOOGLE_API_HOSTS} for ip in PRIVATE_GOOGLE_APIS_ADDRESSES],
                                "volumes": [_SCRATCH_VOLUME, tls_volume],
                                "containers": [
                                    {
                                        "volumeMounts": [_SCRATCH_MOUNT, tls_mount],
                                        "name": "lag",
                                        "image": args.image,
                                        "command": [
                                            "python",
                                            "-m",
                                            "dr.metrics",
                                            "--max-seconds",
                                            str(args.lag_threshold_seconds),
                                            "--project",
                                            args.project,
                                        ],
                                        "envFrom": lag_env_from,
                                        "securityContext": _SECURE_CONTAINER,
                                        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                                    }
                                ],
                            },
                        },
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, service_account, self.lag_secret, tls, self.setup]),
        )
        self.lag_account_email = lag_account
        self.register_outputs({"lagAccount": self.lag_account_email})

    def _network_policies(self, name: str, args: ReplicationJobsArgs, opts: pulumi.ResourceOptions) -> list:
        """No ingress; egress to PostgreSQL on the databases' ranges and DNS for every pod here; the lag pods
        also HTTPS to Google's APIs at private.googleapis.com only and the GKE metadata server (Workload Identity)."""
        postgres = {"to": [{"ipBlock": {"cidr": c}} for c in args.database_cidrs], "ports": [{"protocol": "TCP", "port": 5432}]}
        dns = {"to": [DNS_PEER], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
        every_pod = k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata={"name": "dr-databases", "namespace": args.namespace},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": [postgres, dns]},
            opts=opts,
        )
        lag = k8s.networking.v1.NetworkPolicy(
            f"{name}-lag-egress",
            metadata={"name": "dr-lag-google-apis", "namespace": args.namespace},
            spec={
                "podSelector": {"matchLabels": LAG_LABELS},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": PRIVATE_GOOGLE_APIS_CIDR}}], "ports": [{"protocol": "TCP", "port": 443}]},
                    {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]},
                    {"to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}], "ports": [{"protocol": "TCP", "port": 988}]},
                ],
            },
            opts=opts,
        )
        return [every_pod, lag]
