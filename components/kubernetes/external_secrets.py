"""External Secrets Operator from its official Helm repository, with its CRDs.

The operator holds no cloud identity of its own: each SecretStore authenticates with the
application's service account (IRSA on EKS, Workload Identity on GKE), so the operator can read
exactly what the application can and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.base import Component
from components.kubernetes.chart_release import ChartRelease, ChartReleaseArgs

ESO_REPOSITORY = "https://charts.external-secrets.io"
ESO_CHART = "external-secrets"
ESO_VERSION = "2.9.0"
# Two controllers keep serving while a node drains; leader election (chart value `leaderElect`, off by
# default in 2.9.0) lets only one of them reconcile at a time, so they never write the same Secret at once.
CONTROLLER_REPLICAS = 2


@dataclass
class ExternalSecretsOperatorArgs:
    chart_version: str = ESO_VERSION
    namespace: str = "external-secrets"


class ExternalSecretsOperator(Component):
    release: k8s.helm.v3.Release  # what the SecretStores and ExternalSecrets wait for (their CRDs)
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: ExternalSecretsOperatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:kubernetes:ExternalSecretsOperator", name, None, opts)
        chart = ChartRelease(
            name,
            ChartReleaseArgs(
                release_name="external-secrets",
                chart=ESO_CHART,
                version=args.chart_version,
                repository=ESO_REPOSITORY,
                namespace=args.namespace,
                create_namespace=True,
                values={
                    "installCRDs": True,
                    "replicaCount": CONTROLLER_REPLICAS,
                    "leaderElect": CONTROLLER_REPLICAS > 1,
                    "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                },
                release_suffix="eso",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = chart.release
        self.status = chart.status
        self.register_outputs({"status": self.status})
