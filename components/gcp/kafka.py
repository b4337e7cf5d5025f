"""Kafka inside GKE: the Strimzi operator from its Helm chart, and a KRaft Kafka cluster it runs.

The chart comes from Strimzi's OCI registry (the https://strimzi.io/charts/ repository is
deprecated). Strimzi 1.x serves only the `kafka.strimzi.io/v1` API and runs KRaft with node pools
by default, so the Kafka resource needs no `strimzi.io/kraft` / `strimzi.io/node-pools`
annotations. The operator watches its release namespace by default; naming that namespace again
in `watchNamespaces` ("additional namespaces") renders its RoleBindings twice and the install fails.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

STRIMZI_CHART = "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
STRIMZI_API = "kafka.strimzi.io/v1"
LISTENER_PORT = 9092


@dataclass
class KafkaOnGkeArgs:
    provider: k8s.Provider
    brokers: int = 3
    chart_version: str = "1.2.0"
    kafka_version: str = "4.3.1"
    namespace: str = "kafka"
    cluster_name: str = "crm"
    volume_size: str = "100Gi"


class KafkaOnGke(pulumi.ComponentResource):
    """Three dual-role KRaft nodes with an internal plain listener on 9092 inside the cluster network.

    Traffic stays inside the cluster (Dataplane V2 network policy applies); topics default to
    replication factor 3 with min.insync.replicas 2, so one broker can be lost without losing writes.
    """

    def __init__(self, name: str, args: KafkaOnGkeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:gcp:KafkaOnGke", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.provider)
        namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": args.namespace}, opts=on_cluster)
        operator = k8s.helm.v3.Release(
            f"{name}-strimzi",
            name="strimzi",
            chart=STRIMZI_CHART,
            version=args.chart_version,
            namespace=args.namespace,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[namespace]),
        )
        after_operator = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[operator])
        labels = {"strimzi.io/cluster": args.cluster_name}
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-nodes",
            api_version=STRIMZI_API,
            kind="KafkaNodePool",
            metadata={"name": "brokers", "namespace": args.namespace, "labels": labels},
            spec={
                "replicas": args.brokers,
                "roles": ["controller", "broker"],
                "storage": {"type": "jbod", "volumes": [{"id": 0, "type": "persistent-claim", "size": args.volume_size, "deleteClaim": False}]},
            },
            opts=after_operator,
        )
        replication = min(3, args.brokers)
        self.kafka = k8s.apiextensions.CustomResource(
            f"{name}-kafka",
            api_version=STRIMZI_API,
            kind="Kafka",
            metadata={"name": args.cluster_name, "namespace": args.namespace},
            spec={
                "kafka": {
                    "version": args.kafka_version,
                    "listeners": [{"name": "plain", "port": LISTENER_PORT, "type": "internal", "tls": False}],
                    "config": {
                        "default.replication.factor": replication,
                        "min.insync.replicas": max(1, replication - 1),
                        "offsets.topic.replication.factor": replication,
                        "transaction.state.log.replication.factor": replication,
                        "transaction.state.log.min.isr": max(1, replication - 1),
                        "auto.create.topics.enable": False,
                    },
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[operator, self.node_pool]),
        )
        self.bootstrap_servers = f"{args.cluster_name}-kafka-bootstrap.{args.namespace}.svc.cluster.local:{LISTENER_PORT}"
        self.register_outputs({"bootstrapServers": self.bootstrap_servers})
