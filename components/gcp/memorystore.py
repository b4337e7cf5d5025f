"""Memorystore for Redis 7: HA with AUTH, TLS and RDB snapshots, reached over private services access."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component
from components.endpoints import CacheEndpoint, pem_bundle

READ_REPLICA_MIN_GB = 5


@dataclass
class MemorystoreRedisArgs:
    project: str
    region: str
    network_id: pulumi.Input[str]
    reserved_ip_range: pulumi.Input[str]
    tier: str
    memory_size_gb: int
    labels: Mapping[str, str]
    replica_count: int = 1
    read_replicas: bool = False
    redis_version: str = "REDIS_7_0"
    rdb_snapshot_period: str = "SIX_HOURS"
    kms_key: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if self.read_replicas and self.memory_size_gb < READ_REPLICA_MIN_GB:
            raise ValueError(f"Memorystore read replicas need at least {READ_REPLICA_MIN_GB} GB, got {self.memory_size_gb}")


class MemorystoreRedis(Component):
    endpoint: CacheEndpoint
    host: pulumi.Output[str]
    instance_id: pulumi.Output[str]

    def __init__(self, name: str, args: MemorystoreRedisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:MemorystoreRedis", name, None, opts)
        standard = args.tier == "STANDARD_HA"
        self.instance = gcp.redis.Instance(
            f"{name}-redis",
            name=name,
            project=args.project,
            region=args.region,
            tier=args.tier,
            memory_size_gb=args.memory_size_gb,
            redis_version=args.redis_version,
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            connect_mode="PRIVATE_SERVICE_ACCESS",
            authorized_network=args.network_id,
            reserved_ip_range=args.reserved_ip_range,
            read_replicas_mode="READ_REPLICAS_ENABLED" if standard and args.read_replicas else "READ_REPLICAS_DISABLED",
            replica_count=args.replica_count if standard and args.read_replicas else None,
            persistence_config={"persistence_mode": "RDB", "rdb_snapshot_period": args.rdb_snapshot_period},
            maintenance_policy={"weekly_maintenance_windows": [{"day": "SUNDAY", "start_time": {"hours": 18, "minutes": 0}}]},
            customer_managed_key=args.kms_key,
            labels=dict(args.labels),
            # A fixed name, free again once the instance is deleted: a replacing change (tier, key, network) deletes
            # the cache first. Outside dev the instance is protected, so such a change stops instead.
            opts=self.stateful(depends_on=self.waits_for, delete_before_replace=True),
        )
        self.host = self.instance.host
        self.port = self.instance.port
        self.auth_string = pulumi.Output.secret(self.instance.auth_string)
        # Each instance signs its TLS certificate with its own CA; during a CA rotation it lists two.
        # Clients must trust all of them, so they get the whole PEM bundle.
        self.ca_certificate = self.instance.server_ca_certs.apply(pem_bundle)
        # With read replicas on, the read endpoint spreads reads over the replicas the instance pays for;
        # without them the one replica is a standby no client can read from.
        reads = standard and args.read_replicas
        self.read_host = self.instance.read_endpoint if reads else None
        self.read_port = self.instance.read_endpoint_port if reads else None
        self.endpoint = CacheEndpoint(
            self.host,
            self.port,
            self.auth_string,
            tls=True,
            ca_certificate=self.ca_certificate,
            reader_host=self.read_host,
            reader_port=self.read_port,
        )
        self.instance_id = self.instance.id  # projects/<p>/locations/<r>/instances/<name>: the instance_id label of its metrics
        self.register_outputs(
            {"host": self.host, "readHost": self.read_host, "caCertificate": self.ca_certificate, "instanceId": self.instance_id}
        )
