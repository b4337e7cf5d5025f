"""Kafka inside GKE: the Strimzi operator from its Helm chart, and a KRaft Kafka cluster it runs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

STRIMZI_REPOSITORY = "https://strimzi.io/charts/"
LISTENER_PORT = 9092


@dataclass
class KafkaOnGkeArgs:
    provider: k8s.Provider
    brokers: int = 3
    chart_version: str = "0.45.0"
    kafka_version: str = "3.9.0"
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
            chart="strimzi-kafka-operator",
            version=args.chart_version,
            repository_opts={"repo": STRIMZI_REPOSITORY},
            namespace=args.namespace,
            values={"watchNamespaces": [args.namespace]},
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[namespace]),
        )
        after_operator = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[operator])
        labels = {"strimzi.io/cluster": args.cluster_name}
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-nodes",
            api_version="kafka.strimzi.io/v1beta2",
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
            api_version="kafka.strimzi.io/v1beta2",
            kind="Kafka",
            metadata={"name": args.cluster_name, "namespace": args.namespace,
                      "annotations": {"strimzi.io/kraft": "enabled", "strimzi.io/node-pools": "enabled"}},
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
