"""Logical replication RDS -> Cloud SQL as part of the deploy, and its lag measured every minute (gcp-dr).

- A Kubernetes Job runs `python -m dr setup` (idempotent: it creates only what is missing), so the
  subscription exists once `pulumi up` finishes. Pulumi waits for the Job: a failed setup fails the deploy.
- A CronJob runs `python -m dr.metrics` every minute: it measures the copy's lag with `python -m dr lag`
  and writes it to Cloud Monitoring as `custom.googleapis.com/crm/replication_lag_seconds`, which
  the replication-lag alert policy watches. Its Kubernetes service account acts, through Workload
  Identity, as a Google service account whose only role is `roles/monitoring.metricWriter`.

Both read the database endpoints and passwords from one Kubernetes Secret built from stack outputs
(environment variables named as `python -m dr` expects); no password is on a command line.
Pass the GKE provider (and `depends_on` the cluster and the VPN link that makes RDS reachable) through `opts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.base import Component
from components.endpoints import DatabaseEndpoint

LAG_SCHEDULE = "* * * * *"
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
    publisher: DatabaseEndpoint  # RDS (aws-dr outputs) as its admin, who creates the publication and heartbeat
    subscriber: DatabaseEndpoint  # Cloud SQL (this stack) as its admin
    # The role the subscription signs in to RDS as (aws-dr's replication role: rds_replication and
    # SELECT only). Without it the subscription would use the publisher's admin user.
    replication_user: Optional[pulumi.Input[str]] = None
    replication_password: Optional[pulumi.Input[str]] = None

    def __post_init__(self) -> None:
        if not self.image:
            raise ValueError("ReplicationJobsArgs: the dr tool image is required")
        if self.lag_threshold_seconds < 1:
            raise ValueError(f"ReplicationJobsArgs: lag threshold must be at least 1 s, got {self.lag_threshold_seconds}")


def connection_env(
    publisher: DatabaseEndpoint,
    subscriber: DatabaseEndpoint,
    replication_user: Optional[pulumi.Input[str]] = None,
    replication_password: Optional[pulumi.Input[str]] = None,
) -> dict[str, pulumi.Input[str]]:
    """The environment `python -m dr` reads its endpoints from."""
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
                f"{prefix}_SSLMODE": "require",
            }
        )
    if replication_user is not None:
        env.update({"REPLICATION_USER": replication_user, "REPLICATION_PASSWORD": replication_password})
    return env


class ReplicationJobs(Component):
    def __init__(self, name: str, args: ReplicationJobsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:gcp:ReplicationJobs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The setup Job waits explicitly for what the caller depends on (the VPN link that makes RDS reachable).
        after = self.waits_for
        ksa = f"{name}-lag"

        self.account = gcp.serviceaccount.Account(
            f"{name}-lag",
            account_id=f"{name}-lag"[:30],
            project=args.project,
            display_name="Replication lag exporter (Workload Identity)",
            opts=child,
        )
        gcp.projects.IAMMember(
            f"{name}-metric-writer",
            project=args.project,
            role=METRIC_WRITER,
            member=self.account.email.apply(lambda e: f"serviceAccount:{e}"),
            opts=child,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-wi",
            service_account_id=self.account.name,
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
            metadata={"name": ksa, "namespace": args.namespace, "annotations": {"iam.gke.io/gcp-service-account": self.account.email}},
            automount_service_account_token=False,
            opts=in_namespace,
        )
        self.secret = k8s.core.v1.Secret(
            f"{name}-endpoints",
            metadata={"name": f"{name}-endpoints", "namespace": args.namespace},
            type="Opaque",
            string_data=pulumi.Output.secret(
                connection_env(args.publisher, args.subscriber, args.replication_user, args.replication_password)
            ),
            opts=in_namespace,
        )
        env_from = [{"secretRef": {"name": f"{name}-endpoints"}}]

        self.setup = k8s.batch.v1.Job(
            f"{name}-setup",
            metadata={"namespace": args.namespace, "labels": {"app.kubernetes.io/name": "dr-setup"}},
            spec={
                "backoffLimit": 3,
                "activeDeadlineSeconds": 3600,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": False,
                        "volumes": [_SCRATCH_VOLUME],
                        "containers": [
                            {
                                "name": "setup",
                                "image": args.image,
                                "command": ["python", "-m", "dr", "setup"],
                                "envFrom": env_from,
                                "volumeMounts": [_SCRATCH_MOUNT],
                                "securityContext": _SECURE_CONTAINER,
                                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
                            }
                        ],
                    }
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[namespace, self.secret, *after], custom_timeouts=pulumi.CustomTimeouts(create="60m")
            ),
        )

        self.lag = k8s.batch.v1.CronJob(
            f"{name}-lag",
            metadata={"namespace": args.namespace, "labels": {"app.kubernetes.io/name": "dr-lag"}},
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
                            "spec": {
                                "restartPolicy": "Never",
                                "serviceAccountName": ksa,
                                "volumes": [_SCRATCH_VOLUME],
                                "containers": [
                                    {
                                        "volumeMounts": [_SCRATCH_MOUNT],
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
                                        "envFrom": env_from,
                                        "securityContext": _SECURE_CONTAINER,
                                        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                                    }
                                ],
                            }
                        },
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, service_account, self.secret, self.setup]),
        )
        self.lag_account_email = self.account.email
        self.register_outputs({"lagAccount": self.lag_account_email})
