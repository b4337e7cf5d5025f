"""MSK: Kafka brokers in the private subnets, TLS in transit, IAM authentication, KMS at rest."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.security import app_only_security_group
from components.base import Component

IAM_PORT = 9098
# Durability of an acknowledged write: every topic keeps three copies and a producer's acks=all write
# needs two in sync, so losing one broker loses nothing acknowledged and keeps topics writable. MSK
# spreads brokers evenly over the client subnets, so the broker count is a multiple of them (Amazon MSK
# developer guide, broker placement). Over two zones a partition's three copies put two in one zone:
# losing that zone loses nothing acknowledged (the other zone holds a copy) but stops acks=all writes to
# that partition until the zone returns; three zones' subnets would keep them writable.
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


@dataclass
class KafkaClusterArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    app_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    instance_type: str = "kafka.m5.large"
    volume_gb: int = 100
    kafka_version: str = "3.6.0"  # 3.6.0 or later: MSK's topic API (aws.msk.Topic) needs it
    # Topics the platform creates through MSK's topic API; the application's role may not create, delete or alter any.
    topics: Sequence[str] = field(default_factory=list)
    topic_partitions: int = 6
    # Brokers in each client subnet's zone: with the stacks' two zones, 2 gives the four brokers RF 3 needs.
    brokers_per_zone: int = 2

    def __post_init__(self) -> None:
        if self.broker_count < REPLICATION_FACTOR:
            raise ValueError(
                f"MSK needs at least {REPLICATION_FACTOR} brokers for replication factor {REPLICATION_FACTOR}; "
                f"{len(self.subnet_ids)} subnets x {self.brokers_per_zone} brokers per zone give {self.broker_count}"
            )

    @property
    def broker_count(self) -> int:
        return len(self.subnet_ids) * self.brokers_per_zone


class KafkaCluster(Component):
    arn: pulumi.Output[str]
    bootstrap_brokers: pulumi.Output[str]
    broker_count: int
    cluster_name: pulumi.Output[str]

    def __init__(self, name: str, args: KafkaClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:KafkaCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.security_group = app_only_security_group(
            name,
            vpc_id=args.vpc_id,
            port=IAM_PORT,
            app_security_group_id=args.app_security_group_id,
            service="Kafka",
            tags=tags,
            parent=self,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-broker-logs", name=f"/aws/msk/{name}", retention_in_days=30, kms_key_id=args.logs_kms_key_arn, tags=tags, opts=child
        )
        self.cluster = aws.msk.Cluster(
            f"{name}-msk",
            cluster_name=name,
            kafka_version=args.kafka_version,
            # Raised in place (UpdateBrokerCount; MSK never lowers it). The client subnets and security groups
            # force a new cluster (terraform-provider-aws internal/service/kafka/cluster.go: ForceNew), so
            # the broker count grows by brokers per zone, never by adding subnets to a running cluster.
            number_of_broker_nodes=args.broker_count,
            broker_node_group_info={
                "instance_type": args.instance_type,
                "client_subnets": list(args.subnet_ids),
                "security_groups": [self.security_group.id],
                "storage_info": {"ebs_storage_info": {"volume_size": args.volume_gb}},
            },
            encryption_info={
                "encryption_at_rest_kms_key_arn": args.kms_key_arn,
                "encryption_in_transit": {"client_broker": "TLS", "in_cluster": True},
            },
            client_authentication={"sasl": {"iam": True}, "unauthenticated": False},
            logging_info={"broker_logs": {"cloudwatch_logs": {"enabled": True, "log_group": logs.name}}},
            tags=tags,
            # A fixed name, free again once the cluster is deleted: a replacing change (subnets, key) deletes it first.
            # Outside dev the cluster is protected, so such a change stops instead.
            opts=self.stateful(delete_before_replace=True),
        )
        self.arn = self.cluster.arn
        self.cluster_name = self.cluster.cluster_name  # the "Cluster Name" dimension of its CloudWatch metrics
        self.broker_count = args.broker_count
        self.bootstrap_brokers = self.cluster.bootstrap_brokers_sasl_iam
        self.topics = [
            aws.msk.Topic(
                f"{name}-topic-{topic}",
                cluster_arn=self.cluster.arn,
                name=topic,
                partition_count=args.topic_partitions,
                replication_factor=REPLICATION_FACTOR,
                configs=json.dumps({"min.insync.replicas": str(MIN_INSYNC_REPLICAS)}),
                # The provider replaces a topic whose replication factor changes (terraform-provider-aws
                # internal/service/kafka/topic.go: RequiresReplace), deleting its messages. A running topic's
                # factor is raised by reassigning its partitions (docs/data-stores.md#msk-durability); the
                # program records the goal and never plans the replacement. A topic left out of
                # crm:platform.kafkaTopics keeps its messages: Pulumi forgets it, the broker keeps it.
                opts=self.stateful(retain_on_delete=True, ignore_changes=["replicationFactor"]),
            )
            for topic in args.topics
        ]
        self.register_outputs({"bootstrapBrokers": self.bootstrap_brokers, "arn": self.arn, "clusterName": self.cluster_name})
