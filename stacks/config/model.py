"""Typed configuration objects. Components receive these (or values taken from them), never `pulumi.Config`."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional

from .application import Application

Net = ipaddress.IPv4Network


@dataclass(frozen=True)
class Common:
    stack: str
    cloud: str  # aws | gcp | cloudflare
    environment: str  # dev | staging | production | dr
    project: str
    organization: str  # StackReference organization ("organization" on the local file backend)
    public_host: str

    @property
    def protected(self) -> bool:
        """Stateful resources are protected from replacement and deletion everywhere but dev."""
        return self.environment != "dev"

    @property
    def name_prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    def tags(self, role: str) -> dict[str, str]:
        return {"project": self.project, "environment": self.environment, "managed-by": "pulumi", "role": role}

    def stack_reference_name(self, stack: str) -> str:
        return f"{self.organization}/{self.project}/{stack}"


# ---------------------------------------------------------------- AWS

@dataclass(frozen=True)
class AwsNetwork:
    cidr: Net
    zones: list[str]
    public_subnets: list[Net]
    private_subnets: list[Net]
    data_subnets: list[Net]
    nat_gateways: str  # one-per-zone | single
    flow_log_retention_days: int


@dataclass(frozen=True)
class Eks:
    version: str
    instance_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_size_gb: int
    public_endpoint: bool
    public_access_cidrs: list[str]
    admin_principals: list[str]


@dataclass(frozen=True)
class RdsPostgres:
    enabled: bool
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    engine_version: str
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    database_name: str
    username: str
    logical_replication: bool
    max_slot_wal_keep_size_gb: int = 0  # 0: unbounded (no logical replication)
    log_retention_days: int = 90  # the exported PostgreSQL logs' CloudWatch groups
    backup_copy_region: str = ""  # second region the automated backups are replicated to; "" = none
    restore_testing: bool = False  # AWS Backup snapshots and a scheduled restore test
    app_username: str = "crm_app"  # the application's read-write role (not the master user)
    replication_username: str = "crm_replication"  # Cloud SQL's subscription connects as this role
    client_image: str = "docker.io/library/postgres:15-alpine"  # runs the role-creating Job on the cluster


@dataclass(frozen=True)
class ElastiCacheRedis:
    enabled: bool
    node_type: str
    nodes: int
    engine_version: str
    snapshot_retention_days: int
    cluster_mode: bool = False  # sharded: shards x (1 primary + replicas_per_shard)
    shards: int = 1
    replicas_per_shard: int = 1


@dataclass(frozen=True)
class Ingress:
    certificate_arn: str
    allowed_cidrs: list[str]
    health_check_path: str


@dataclass(frozen=True)
class Registry:
    repositories: list[str]
    keep_images: int


@dataclass(frozen=True)
class AwsInterconnect:
    """The AWS end of the link to a GCP stack (aws-dr only)."""

    peer_stack: str
    amazon_side_asn: int
    peer_ranges: list[Net] = field(default_factory=list)  # read from the peer's own config file


@dataclass(frozen=True)
class AwsPlatform:
    """Mail, scheduling and messaging the application uses on AWS (and, for mail, from GCP)."""

    mail_enabled: bool
    mail_domain: str
    webhook_hosts: list[str]
    msk_enabled: bool
    msk_instance_type: str
    msk_volume_gb: int
    app_namespace: str
    app_service_account: str


@dataclass(frozen=True)
class Dns:
    """The Cloudflare zone a cloud stack writes its own records into: its origin host and certificate validation."""

    zone_id: str
    origin_host: str  # aws.<publicHost> / gcp.<publicHost>: the proxied name of this cloud's load balancer
    api_token: Optional[str] = field(default=None, repr=False)  # cloudflare:apiToken (secret); None: CLOUDFLARE_API_TOKEN


@dataclass(frozen=True)
class AwsStackConfig:
    common: Common
    region: str
    network: AwsNetwork
    kubernetes: Eks
    database: RdsPostgres
    redis: ElastiCacheRedis
    ingress: Ingress
    registry: Registry
    interconnect: Optional[AwsInterconnect]
    platform: AwsPlatform
    monitoring: Optional["Monitoring"] = None
    application: Optional[Application] = None
    dns: Optional[Dns] = None

    @property
    def references(self) -> list[str]:
        return []


# ---------------------------------------------------------------- GCP

@dataclass(frozen=True)
class GcpNetwork:
    name: str
    subnet_cidr: Net
    pods_cidr: Net
    services_cidr: Net
    private_services_cidr: Net
    master_cidr: Net
    zones: list[str]


@dataclass(frozen=True)
class Gke:
    release_channel: str
    machine_type: str
    min_nodes: int
    initial_nodes: int
    max_nodes: int
    disk_size_gb: int
    authorized_networks: list[Net]


@dataclass(frozen=True)
class CloudSqlPostgres:
    enabled: bool
    database_version: str
    tier: str
    disk_size_gb: int
    disk_type: str
    availability: str
    backup_retention_count: int
    deletion_protection: bool
    logical_decoding: bool
    database_name: str
    username: str
    backup_location: str = ""  # where Cloud SQL keeps its backups; "" = Google's default multi-region
    app_username: str = "crm_app"  # read-only here until `dr promote` grants writes
    client_image: str = "docker.io/library/postgres:15-alpine"


@dataclass(frozen=True)
class MemorystoreRedis:
    enabled: bool
    tier: str
    memory_size_gb: int
    replica_count: int
    read_replicas: bool
    redis_version: str
    rdb_snapshot_period: str


@dataclass(frozen=True)
class GcpInterconnect:
    """The GCP end of the HA VPN, which also creates the AWS customer gateways and VPN connections."""

    peer_stack: str
    router_asn: int
    inside_cidrs: list[Net]
    peer_region: str = ""
    peer_asn: int = 0
    peer_vpc_cidr: Optional[Net] = None


@dataclass(frozen=True)
class GcpPlatform:
    """Kafka inside GKE, the workload identity, and the AWS stack whose mail and scheduler GCP uses."""

    aws_stack: str  # "" when this environment uses no AWS mail or scheduler
    kafka_brokers: int
    strimzi_chart_version: str
    kafka_version: str
    app_namespace: str
    app_service_account: str


@dataclass(frozen=True)
class GcpIngress:
    """The GKE Gateway in front of the application's Service (its port and health path: crm:application)."""

    allowed_cidrs: list[str]  # Cloud Armor admits these, denies the rest with 403; empty: Cloudflare's ranges from its API


@dataclass(frozen=True)
class GcpStackConfig:
    common: Common
    project_id: str
    region: str
    network: GcpNetwork
    kubernetes: Gke
    database: CloudSqlPostgres
    redis: MemorystoreRedis
    registry: Registry
    interconnect: Optional[GcpInterconnect]
    platform: GcpPlatform
    monitoring: Optional["Monitoring"] = None
    replication: Optional["Replication"] = None
    application: Optional[Application] = None
    dns: Optional[Dns] = None
    ingress: Optional[GcpIngress] = None

    @property
    def references(self) -> list[str]:
        stacks = [self.platform.aws_stack] if self.platform.aws_stack else []
        if self.interconnect and self.interconnect.peer_stack not in stacks:
            stacks.append(self.interconnect.peer_stack)
        return stacks


# ---------------------------------------------------------------- Cloudflare

@dataclass(frozen=True)
class HealthMonitor:
    path: str
    port: int
    expected_codes: str
    interval_seconds: int
    retries: int
    timeout_seconds: int
    consecutive_down: int


@dataclass(frozen=True)
class GlobalLoadBalancer:
    account_id: str
    zone_id: str
    hostname: str
    steering: str  # dynamic_latency | failover | random
    session_affinity_ttl: int
    notification_email: str
    rto_budget_seconds: int
    check_regions: list[str]
    monitor: HealthMonitor
    aws_stack: str
    gcp_stack: str
    pool_weights: tuple = (("aws", 50), ("gcp", 50))  # percent of new sessions per cloud under steering `random`


@dataclass(frozen=True)
class GlobalStackConfig:
    common: Common
    load_balancer: GlobalLoadBalancer

    @property
    def references(self) -> list[str]:
        return [self.load_balancer.aws_stack, self.load_balancer.gcp_stack]


StackConfig = AwsStackConfig | GcpStackConfig | GlobalStackConfig


# ---------------------------------------------------------------- Bootstrap

@dataclass(frozen=True)
class GithubRepository:
    """The one repository whose workflows may act on the estate, and which of its jobs may deploy."""

    repository: str  # OWNER/REPO, no wildcards
    deploy_environments: list[str]  # GitHub environments whose jobs assume the deploy identity
    preview_branches: list[str]  # branches whose pushes preview with the read-only identity (pull requests always do)

    @property
    def deploy_subjects(self) -> list[str]:
        return [f"repo:{self.repository}:environment:{name}" for name in self.deploy_environments]

    @property
    def preview_subjects(self) -> list[str]:
        return [f"repo:{self.repository}:pull_request"] + [f"repo:{self.repository}:ref:refs/heads/{b}" for b in self.preview_branches]


@dataclass(frozen=True)
class StateSettings:
    backend: str  # s3 | gcs: where every stack's state lives
    secrets_provider: str  # awskms | gcpkms: what encrypts every stack's secrets
    noncurrent_version_days: int
    log_retention_days: int
    aws_operators: list[str]  # IAM role/user ARNs of the people who run bootstrap (they use the keys and the state)
    gcp_operators: list[str]  # IAM members (user:, group:) with the same rights in GCP


@dataclass(frozen=True)
class BootstrapStackConfig:
    common: Common
    aws_region: str
    gcp_project: str
    gcp_region: str
    github: GithubRepository
    state: StateSettings
    deploy_projects: list[str]  # the GCP projects the gcp-* stacks deploy into

    @property
    def references(self) -> list[str]:
        return []


StackConfig = AwsStackConfig | GcpStackConfig | GlobalStackConfig | BootstrapStackConfig


# ---------------------------------------------------------------- Monitoring (AWS and GCP stacks)

@dataclass(frozen=True)
class Monitoring:
    """Who is told, and the thresholds, all derived from the SLA and the sizes in config."""

    emails: list[str]
    rpo_seconds: int
    replication_lag_seconds: int
    latency_p95_ms: int
    cpu_percent: int
    free_storage_percent: int
    disk_percent: int
    database_connections: int
    slot_wal_alarm_percent: int
    wal_bytes_per_second: int
    cache_cpu_percent: int
    cache_memory_percent: int
    cache_replication_lag_seconds: int
    http_5xx_per_minute: int
    dead_letter_messages: int
    kafka_disk_percent: int
    container_restarts: int
    monthly_budget_usd: int
    budget_alert_percents: list[int]
    billing_account: str = ""  # GCP only

    @property
    def slot_lag_bytes(self) -> int:
        """WAL a subscriber may fall behind before the alarm: the lag threshold's worth at the expected write rate."""
        return self.replication_lag_seconds * self.wal_bytes_per_second


@dataclass(frozen=True)
class Replication:
    """The deploy-time replication pieces in GKE (gcp-dr): the setup Job and the lag CronJob."""

    enabled: bool
    tool_image: str
    namespace: str
