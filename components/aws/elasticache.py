"""ElastiCache Redis 7: replication group with AUTH, TLS, KMS at rest and automatic failover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.security import app_only_security_group
from components.base import Component
from components.endpoints import CacheEndpoint

PORT = 6379


@dataclass
class RedisCacheArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    app_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    node_type: str
    nodes: int
    snapshot_retention_days: int
    tags: Mapping[str, str]
    engine_version: str = "7.1"
    cluster_mode: bool = False  # sharded (cluster-enabled yes): `shards` node groups of 1 primary + `replicas_per_shard`
    shards: int = 1
    replicas_per_shard: int = 1
    # keepers of the AUTH token (crm:rotation); ROTATE keeps the previous token valid until the next change.
    rotation: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.cluster_mode and not 1 <= self.nodes <= 6:
            raise ValueError(f"a Redis replication group has 1-6 nodes, got {self.nodes}")
        if self.cluster_mode and not (1 <= self.shards <= 500 and 0 <= self.replicas_per_shard <= 5):
            raise ValueError(f"cluster mode takes 1-500 shards and 0-5 replicas per shard, got {self.shards} and {self.replicas_per_shard}")


class RedisCache(Component):
    endpoint: CacheEndpoint
    host: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:RedisCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), description=f"{name} data subnets", tags=tags, opts=child
        )
        self.security_group = app_only_security_group(
            name,
            vpc_id=args.vpc_id,
            port=PORT,
            app_security_group_id=args.app_security_group_id,
            service="Redis",
            tags=tags,
            parent=self,
        )
        # ElastiCache AUTH tokens: 16-128 printable characters without '@', '"' or '/'; letters and digits are always safe.
        # Not protected: rotation replaces it (the replication group stays protected).
        self.auth_token = random.RandomPassword(
            f"{name}-auth-token",
            length=64,
            special=False,
            keepers=dict(args.rotation) if args.rotation else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        slow_log = aws.cloudwatch.LogGroup(
            f"{name}-slow-log",
            name=f"/aws/elasticache/{name}/slow-log",
            retention_in_days=30,
            kms_key_id=args.logs_kms_key_arn,
            tags=tags,
            opts=child,
        )
        replicated = args.replicas_per_shard > 0 if args.cluster_mode else args.nodes > 1
        if args.cluster_mode:
            family = f"redis{args.engine_version.split('.')[0]}"
            parameter_group = aws.elasticache.ParameterGroup(
                f"{name}-cluster-params",
                name=f"{name}-cluster",
                family=family,
                description=f"{name}: cluster mode",
                parameters=[{"name": "cluster-enabled", "value": "yes"}],
                tags=tags,
                opts=child,
            )
            sizing = {
                "num_node_groups": args.shards,
                "replicas_per_node_group": args.replicas_per_shard,
                "parameter_group_name": parameter_group.name,
                "cluster_mode": "enabled",
            }
        else:
            sizing = {"num_cache_clusters": args.nodes}
        # A final snapshot when the group is deleted (a destroy, a replacement). Snapshot names stay taken, so
        # each incarnation of the group gets its own: the suffix is new whenever what replaces the group changes.
        snapshot_suffix = random.RandomString(
            f"{name}-final-snapshot-suffix",
            length=8,
            special=False,
            upper=False,
            keepers={"replicationGroupId": name, "kmsKeyArn": args.kms_key_arn, "clusterMode": str(args.cluster_mode), "port": str(PORT)},
            opts=self.stateful(),
        )
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=name,
            final_snapshot_identifier=snapshot_suffix.result.apply(lambda suffix: f"{name}-final-{suffix}"),
            description=f"Redis for {name}",
            engine="redis",
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=PORT,
            # Cluster mode always fails over automatically (ElastiCache requires it for cluster-enabled groups).
            automatic_failover_enabled=replicated or args.cluster_mode,
            multi_az_enabled=replicated,
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            auth_token=self.auth_token.result,
            auth_token_update_strategy="ROTATE",
            subnet_group_name=subnet_group.name,
            security_group_ids=[self.security_group.id],
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window="16:00-17:00",
            maintenance_window="sun:18:00-sun:19:00",
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            log_delivery_configurations=[
                {"destination": slow_log.name, "destination_type": "cloudwatch-logs", "log_format": "json", "log_type": "slow-log"}
            ],
            tags=tags,
            # The group's id is its name and stays ours until it is deleted: a replacement deletes it first
            # (after the final snapshot above). Outside dev the group is protected, so a replacement stops instead.
            opts=self.stateful(delete_before_replace=True),
            **sizing,
        )
        self.cluster_mode = args.cluster_mode
        # Cluster clients start from the configuration endpoint and follow MOVED/ASK redirects from there.
        self.host = (
            self.replication_group.configuration_endpoint_address if args.cluster_mode else self.replication_group.primary_endpoint_address
        )
        self.port = PORT
        # The reader endpoint spreads reads over the replicas (without cluster mode; a cluster client reads
        # replicas through the configuration endpoint). A group of one node has no replica to read.
        self.reader_host = self.replication_group.reader_endpoint_address if replicated and not args.cluster_mode else None
        # ElastiCache's certificates chain to Amazon's public roots, which default trust stores hold: no CA to hand out.
        self.endpoint = CacheEndpoint(
            self.host,
            PORT,
            self.auth_token.result,
            tls=True,
            cluster=args.cluster_mode,
            reader_host=self.reader_host,
            reader_port=PORT if self.reader_host is not None else None,
        )
        self.security_group_id = self.security_group.id
        self.replication_group_id = self.replication_group.replication_group_id
        self.member_clusters = self.replication_group.member_clusters  # the CacheClusterId dimension of per-node metrics
        self.register_outputs(
            {
                "host": self.host,
                "readerHost": self.reader_host,
                "securityGroupId": self.security_group_id,
                "replicationGroupId": self.replication_group_id,
            }
        )
