"""Typed configuration objects, and the schema of every setting they carry.

Components receive these (or values taken from them), never `pulumi.Config`. Each section of the
stack file is a frozen pydantic model (`Section`); each field declared with `setting(...)` is a key
in the stack file: its type is the annotation, and `setting` holds its name in the file (the
field's alias), description, default (per environment from `sizes.py` where the sizing matrix sets
it), limits and rules (stacks/config/schema.py). Each kind of stack's typed config (`AwsStackConfig`,
`GcpStackConfig`, `GlobalStackConfig`, `BootstrapStackConfig`) is a model of its parts, read from
the stack file in one pass, whose model validator relates the settings (relations.py). Validation,
error messages and docs/configuration.md all come from these declarations. A new setting is one
line at the end of its section.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, model_validator

from components.aws.experiments import MAX_ACTION_MINUTES
from components.cloudflare.health import HealthCheck
from components.interconnect import addressing

from . import cost, relations, rules, sizes
from .schema import (
    UNSET,
    Context,
    Parsed,
    Section,
    StackModel,
    common_part,
    provider_part,
    section_part,
    setting,
    top_level_part,
)

Net = ipaddress.IPv4Network


def matrix(table: dict, *path: str) -> dict:
    """One column of a per-environment table in sizes.py: environment -> value."""
    column = {}
    for environment, row in table.items():
        value = row
        for part in path:
            value = value[part]
        column[environment] = value
    return column


def _monitoring(name: str) -> dict:
    return {env: {**sizes.MONITORING["common"], **sizes.MONITORING[env]}[name] for env in sizes.ENVIRONMENTS}


def _is_dr(context) -> bool:
    return context.env == "dr"


# Audit trails (EKS control plane, RDS PostgreSQL logs) are kept a year where the data is real.
AUDIT_LOG_DAYS = {env: 365 if env in ("production", "dr") else 90 for env in sizes.ENVIRONMENTS}


class Rotation(Section):
    """crm:rotation: when the stack's generated credentials are replaced (docs/runbooks/rotation.md).

    The generators' keepers change only when `generation` is raised or a new interval of
    `intervalDays` from `since` starts, so previews and deploys within an interval reproduce the
    same credentials. With neither set, the generators carry no keepers at all.
    """

    generation: int = setting(
        "generation", "raise by one to replace the generated credentials now (docs/runbooks/rotation.md)", default=0, ge=0, le=1_000_000
    )
    interval_days: int = setting(
        "intervalDays",
        "also replace them every N days from `since` (0: no schedule; at least 7)",
        default=0,
        ge=0,
        le=3650,
        check=rules.rotation_interval,
    )
    since: str = setting("since", "the day the rotation schedule counts from (YYYY-MM-DD)", default="2026-01-01", check=rules.iso_date)

    def keepers(self, today: datetime.date) -> dict[str, str] | None:
        """The generators' keepers on `today` (UTC): None when rotation was never asked for."""
        if not self.generation and not self.interval_days:
            return None
        start = self.since if isinstance(self.since, datetime.date) else datetime.date.fromisoformat(self.since)
        period = max(0, (today - start).days // self.interval_days) if self.interval_days else 0
        return {"rotation": f"g{self.generation}-p{period}"}

    def step(self, today: datetime.date) -> int | None:
        """How many rotations have happened by `today` (generation plus elapsed intervals): it only grows,
        by one per rotation. None when rotation was never asked for."""
        keepers = self.keepers(today)
        if keepers is None:
            return None
        generation, period = keepers["rotation"][1:].split("-p")
        return int(generation) + int(period)


class Budget(Section):
    """crm:budget: what the stack may cost a month, the one figure behind both budget checks.

    The cloud's budget (AWS Budgets, the GCP billing budget; docs/operations.md) alerts at each of
    `alertPercents` of `monthlyUsd`, and `python -m tools cost` fails when the stack's estimate
    reaches the first of them (docs/cost.md): an alert that fires every month is noise, not a warning.
    """

    monthly_usd: int = setting(
        "monthlyUsd", "the stack's monthly budget, USD: the cloud budget's amount and the cost gate's", ge=1, le=10**8
    )
    alert_percents: list[int] = setting(
        "alertPercents",
        "budget alerts at these % of monthlyUsd; `python -m tools cost` fails once the estimate reaches the lowest",
        default=[80, 100],
        item_check=rules.percentage,
        check=rules.percentages,
        convert=sorted,
    )

    @property
    def first_alert_usd(self) -> float:
        """The spend at which the first alert fires."""
        return self.monthly_usd * min(self.alert_percents) / 100


class Common(Section):
    stack: str
    cloud: str = setting(
        "cloud", "`aws`, `gcp`, `cloudflare` or `bootstrap`: picks the program", choices=("aws", "gcp", "cloudflare", "bootstrap")
    )  # aws | gcp | cloudflare
    environment: str = setting(
        "environment",
        "`dev`, `staging`, `production` or `dr`: picks the defaults; everything but dev is protected",
        choices=sizes.ENVIRONMENTS,
    )  # dev | staging | production | dr
    project: str = setting("project", "prefix of resource names", default="crm")
    organization: str = setting(
        "organization", "Pulumi organization of StackReferences", default="organization"
    )  # StackReference organization ("organization" on the local file backend)
    public_host: str = setting(
        "publicHost", "the application's public host name (crm.example.com)", check=rules.host_name, clouds=("aws", "gcp", "cloudflare")
    )
    bootstrap_stack: str = setting(
        "bootstrapStack",
        "the bootstrap stack whose permissions boundary every AWS role of this stack carries",
        default="bootstrap",
        clouds=("aws", "gcp"),
        attr_default="bootstrap",
    )
    budget: Budget = setting("budget", "what the stack may cost a month", nested=Budget, attr_default=None)  # None only before it is read
    # crm:costAssumptions, read with the rest (stacks/config/cost.py): key -> cost.Assumption
    cost_assumptions: Mapping[str, Any] = Field(default_factory=dict)

    @property
    def protected(self) -> bool:
        """Stateful resources are protected from replacement and deletion everywhere but dev."""
        return self.environment != "dev"

    @property
    def name_prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    @property
    def origin_label(self) -> str:
        """The first label of the stack's default origin host (crm:dns.originHost): one per project, environment and cloud."""
        return f"{self.name_prefix}-{self.cloud}"

    def tags(self, role: str) -> dict[str, str]:
        return {"project": self.project, "environment": self.environment, "managed-by": "pulumi", "role": role}

    def stack_reference_name(self, stack: str) -> str:
        return f"{self.organization}/{self.project}/{stack}"


# ---------------------------------------------------------------- AWS


class AwsNetworkSettings(Section):
    cidr: Net = setting("cidr", "VPC range")
    zones: list[str] = setting("zones", "zones, at least two, in the region")
    public_subnets: list[Net] = setting("publicSubnets", "one public subnet per zone, inside the VPC (ALB, NAT)")
    private_subnets: list[Net] = setting("privateSubnets", "one private subnet per zone (nodes, pods)")
    data_subnets: list[Net] = setting("dataSubnets", "one data subnet per zone (RDS, ElastiCache)")
    nat_gateways: str = setting(
        "natGateways", "`one-per-zone` or `single`", by_env=matrix(sizes.AWS, "natGateways"), choices=("one-per-zone", "single")
    )
    flow_log_retention_days: int = setting("flowLogRetentionDays", "VPC flow log retention", default=90, ge=1, le=3653)


class Eks(Section):
    version: str = setting("version", "EKS Kubernetes minor", default=sizes.EKS_DEFAULT_VERSION, check=rules.eks_version)
    instance_type: str = setting("instanceType", "EKS node group instance type", by_env=matrix(sizes.AWS, "kubernetes", "instanceType"))
    min_size: int = setting(
        "minSize", "node group minimum (min <= desired <= max)", by_env=matrix(sizes.AWS, "kubernetes", "minSize"), ge=0, le=450
    )
    desired_size: int = setting(
        "desiredSize", "node group initial size", by_env=matrix(sizes.AWS, "kubernetes", "desiredSize"), ge=0, le=450
    )
    max_size: int = setting("maxSize", "node group maximum", by_env=matrix(sizes.AWS, "kubernetes", "maxSize"), ge=1, le=450)
    disk_size_gb: int = setting("diskSizeGb", "node disk size, GB", default=50, ge=20, le=16384)
    public_endpoint: bool = setting("publicEndpoint", "open the EKS API endpoint publicly (to publicAccessCidrs only)", default=False)
    public_access_cidrs: list[str] = setting(
        "publicAccessCidrs",
        "networks allowed to the public endpoint; never 0.0.0.0/0",
        default=[],
        item_check=rules.cidr_admitting("the API endpoint is never open to the world"),
    )
    admin_principals: list[str] = setting(
        "adminPrincipals",
        "IAM roles or users given cluster-admin access entries; nobody else, not even the deploying identity, has access",
        item_check=rules.iam_principal,
        check=rules.admin_principals,
    )
    log_retention_days: int = setting(
        "logRetentionDays",
        "EKS control-plane (audit) log group's retention, a CloudWatch Logs value",
        by_env=AUDIT_LOG_DAYS,
        ge=1,
        le=3653,
        check=rules.log_retention,
    )
    pod_security_groups: bool = setting(
        "podSecurityGroups",
        "the app's pods get their own security group, the only one the data stores admit (needs a trunk-ENI instance type)",
        derive=lambda c: c.env != "dev",
        derive_doc="true outside dev",
    )


class RdsPostgres(Section):
    enabled: bool = setting("enabled", "create the database", by_env=matrix(sizes.AWS, "database", "enabled"))
    instance_class: str = setting(
        "instanceClass", "RDS instance class", by_env=matrix(sizes.AWS, "database", "instanceClass"), check=rules.rds_class
    )
    allocated_storage_gb: int = setting(
        "allocatedStorage", "RDS storage, GB", by_env=matrix(sizes.AWS, "database", "allocatedStorage"), ge=20, le=65536
    )
    max_allocated_storage_gb: int = setting(
        "maxAllocatedStorage",
        "storage autoscaling ceiling, GB (0: off)",
        ge=0,
        le=65536,
        derive=lambda c: c["allocated_storage_gb"] * 2,
        derive_doc="2 x allocatedStorage",
    )
    engine_version: str = setting("engineVersion", "PostgreSQL version (15)", default="15", check=rules.postgres_15)
    multi_az: bool = setting("multiAz", "RDS Multi-AZ", by_env=matrix(sizes.AWS, "database", "multiAz"))
    backup_retention_days: int = setting(
        "backupRetentionDays",
        "automated backups kept, days (at least 1 outside dev)",
        by_env=matrix(sizes.AWS, "database", "backupRetentionDays"),
        ge=0,
        le=35,
    )
    deletion_protection: bool = setting(
        "deletionProtection", "RDS deletion protection", by_env=matrix(sizes.AWS, "database", "deletionProtection")
    )
    database_name: str = setting("name", "database name", default="crm")
    username: str = setting("username", "admin user (its password is generated)", default="crmadmin", check=rules.rds_admin)
    logical_replication: bool = setting(
        "logicalReplication", "`rds.logical_replication` on (the publisher of the GCP copy)", derive=_is_dr, derive_doc="true in dr"
    )
    max_slot_wal_keep_size_gb: int = setting(  # 0: unbounded (no logical replication)
        "maxSlotWalKeepSizeGb",
        "WAL a replication slot may hold, GB (below allocatedStorage; with logicalReplication only)",
        ge=1,
        le=65536,
        derive=lambda c: max(1, int(c["allocated_storage_gb"] * sizes.SLOT_WAL_SHARE_OF_STORAGE)),
        attr_default=0,
    )
    log_retention_days: int = setting(
        "logRetentionDays",
        "RDS PostgreSQL log groups' retention, a CloudWatch Logs value",
        by_env=AUDIT_LOG_DAYS,
        ge=1,
        le=3653,
        check=rules.log_retention,
    )  # the exported PostgreSQL logs' CloudWatch groups
    backup_copy_region: str = setting(
        "backupCopyRegion",
        "region automated backups are copied to (empty: none)",
        by_env=matrix(sizes.BACKUPS, "copyRegion"),
        check=rules.aws_region_or_empty,
        attr_default="",
    )
    restore_testing: bool = setting(
        "restoreTesting", "AWS Backup restore testing of the database", by_env=matrix(sizes.BACKUPS, "restoreTesting"), attr_default=False
    )
    app_username: str = setting(
        "appUsername", "the application's own database role", default="crm_app", check=rules.postgres_role
    )  # the application's read-write role (not the master user)
    replication_username: str = setting(
        "replicationUsername", "the role Cloud SQL subscribes as", default="crm_replication", check=rules.postgres_role
    )
    monitor_username: str = setting(
        "monitorUsername", "the replication-lag monitor's role (with logical replication)", default="crm_monitor", check=rules.postgres_role
    )
    client_image: str = setting(
        "clientImage", "PostgreSQL client image of the role Job", default="docker.io/library/postgres:15-alpine"
    )  # runs the role-creating Job on the cluster


class ElastiCacheRedis(Section):
    enabled: bool = setting("enabled", "create the cache", by_env=matrix(sizes.AWS, "redis", "enabled"))
    node_type: str = setting(
        "nodeType",
        "ElastiCache node type",
        by_env=matrix(sizes.AWS, "redis", "nodeType"),
        check=rules.prefixed("cache.", "an ElastiCache node type such as cache.t3.medium"),
    )
    nodes: int = setting("nodes", "nodes without cluster mode", by_env=matrix(sizes.AWS, "redis", "nodes"), ge=1, le=6)
    engine_version: str = setting("engineVersion", "Redis 7.x version", default="7.1", check=rules.prefixed("7.", "a Redis 7.x version"))
    snapshot_retention_days: int = setting(
        "snapshotRetentionDays", "snapshots kept, days", by_env=matrix(sizes.AWS, "redis", "snapshotRetentionDays"), ge=0, le=35
    )
    cluster_mode: bool = setting(
        "clusterMode", "ElastiCache cluster mode (sharded)", default=False
    )  # sharded: shards x (1 primary + replicas_per_shard)
    shards: int = setting("shards", "shards in cluster mode", default=1, ge=1, le=500)
    replicas_per_shard: int = setting(
        "replicasPerShard", "replicas per shard in cluster mode (at least 1 outside dev)", default=1, ge=0, le=5
    )


class Ingress(Section):
    certificate_arn: str = setting(
        "certificateArn",
        "an existing ACM certificate (empty: the stack requests and validates one)",
        default="",
        check=rules.certificate_arn,
    )
    allowed_cidrs: list[str] = setting(
        "allowedCidrs",
        "ranges the ALB admits (empty: Cloudflare's published ranges, read from its API at deploy); never 0.0.0.0/0",
        default=[],
        check=rules.distinct("the range"),
        item_check=rules.cidr_admitting("the load balancer admits only Cloudflare"),
    )
    health_check_path: str = setting("healthCheckPath", "ALB target group health check path, also the pods' probes", default="/health")


class Registry(Section):
    repositories: list[str] = setting(
        "repositories", "registry repositories", default=["crm-api", "crm-web"], item_check=rules.registry_repository
    )
    keep_images: int = setting("keepImages", "images each repository keeps", default=30, ge=1, le=1000)


class AwsInterconnect(Section):
    """The AWS end of the link to a GCP stack (aws-dr only)."""

    peer_stack: str = setting("peerStack", "the other cloud's end of the VPN; section only in the DR stacks")
    amazon_side_asn: int = setting(
        "amazonSideAsn", "VGW's private ASN (differs from the Cloud Router's)", default=64512, check=rules.private_asn
    )
    peer_ranges: list[Net] = Field(default_factory=list)  # read from the peer's own config file


class AwsPlatform(Section):
    """Mail, scheduling and messaging the application uses on AWS (and, for mail, from GCP)."""

    mail_enabled: bool = setting("mail", "SES identity, configuration set, events and webhooks", derive=_is_dr, derive_doc="true in dr")
    mail_domain: str = setting("mailDomain", "SES domain", derive=lambda c: c.common.public_host, derive_doc="<publicHost>")
    # This stack's own origin host is always subscribed; the GCP stack subscribes its own once that host exists.
    webhook_hosts: list[str] = setting(
        "webhookHosts",
        "more hosts subscribed to SES events (`https://<host>/api/webhooks/ses`) besides this stack's origin host",
        default=[],
        item_check=rules.host_name,
    )
    # Off by default: the application on AWS messages and schedules through SQS (MESSAGE_PROVIDER and
    # SCHEDULER_PROVIDER `aws`), so nothing of the project's reads Kafka there; turn it on for consumers of your own.
    msk_enabled: bool = setting("msk", "MSK cluster, for Kafka clients of your own (the application uses SQS on AWS)", default=False)
    msk_instance_type: str = setting(
        "mskInstanceType",
        "MSK broker type",
        default="kafka.m5.large",
        check=rules.prefixed("kafka.", "an MSK broker type such as kafka.m5.large"),
    )
    msk_volume_gb: int = setting("mskVolumeGb", "MSK broker volume, GB", default=100, ge=1, le=16384)
    app_namespace: str = setting("appNamespace", "the application's Kubernetes namespace", default="crm")
    app_service_account: str = setting(
        "appServiceAccount", "the application's Kubernetes service account (IRSA / Workload Identity)", default="crm-app"
    )
    kafka_topics: list[str] = setting(
        "kafkaTopics",
        "topics the platform creates (MSK topic API), each starting `crm.`; the app may not create topics",
        default=["crm.scheduled-tasks", "crm.messages"],
        check=rules.distinct("the topic"),
        item_check=rules.kafka_topic,
    )
    kafka_topic_partitions: int = setting("kafkaTopicPartitions", "partitions of each of those topics", default=6, ge=1, le=1000)


class FaultInjectionSettings(Section):
    """crm:faultInjection: the AWS FIS experiment templates `python -m dr gameday` runs (docs/runbooks/gameday.md)."""

    enabled: bool = setting(
        "enabled",
        "AWS FIS experiment templates for the game day (a template does nothing until started)",
        derive=_is_dr,
        derive_doc="true in dr",
    )
    network_cut_minutes: int = setting(
        "networkCutMinutes", "how long aws-outage cuts the application subnets off", default=10, ge=1, le=MAX_ACTION_MINUTES
    )
    node_termination_percent: int = setting(
        "nodeTerminationPercent", "share of the EKS nodes eks-nodes terminates", default=34, ge=1, le=100
    )


class Dns(Section):
    """The Cloudflare zone a cloud stack writes its own records into: its origin host and certificate validation."""

    zone_id: str = setting("zoneId", "Cloudflare zone of the origin record and certificate validation", check=rules.cloudflare_id)
    origin_host: str = setting(
        "originHost",
        "this stack's proxied origin name (empty: `<project>-<environment>-<cloud>.<zone>`, one level under the zone,"
        " where Cloudflare's Universal SSL certificate covers it)",
        check=rules.host_name_or_empty,
        default="",  # the program names it once it has read the zone's name (stacks/dns.py origin_host)
    )
    api_token: str | None = Field(default=None, repr=False)  # cloudflare:apiToken (secret); None: CLOUDFLARE_API_TOKEN


def github_connection_name(project: str) -> str:
    """The CodeConnections connection bootstrap creates, and the one each AWS stack's runner looks up by default."""
    return f"{project}-github"


class DeployRunnerSettings(Section):
    """crm:ci: where CI runs this stack's `pulumi up`, which reaches the cluster's private API (docs/deploying.md)."""

    runner: bool = setting(
        "runner",
        "a CodeBuild-hosted GitHub Actions runner in the stack's private subnets, the one that may reach the EKS API",
        default=True,
    )
    github_connection: str = setting(
        "githubConnection",
        "name of the AWS CodeConnections connection to GitHub in this stack's account and region (bootstrap creates it)",
        derive=lambda c: github_connection_name(c.common.project),
        derive_doc="<project>-github",
        check=rules.matches(
            re.compile(r"^[A-Za-z0-9.@_-]{1,32}$"), "is not a CodeConnections connection name (1-32 of A-Z a-z 0-9 . @ _ -)"
        ),
    )
    log_retention_days: int = setting(
        "logRetentionDays",
        "the runner's build logs' retention (who deployed what), a CloudWatch Logs value",
        by_env=AUDIT_LOG_DAYS,
        ge=1,
        le=3653,
        check=rules.log_retention,
    )
    repository: str = ""  # OWNER/REPO, read from Pulumi.bootstrap.yaml's crm:github.repository


def _application_defaults(part: str, read: Mapping[str, Any]) -> dict[str, Any]:
    """crm:application's image repository defaults to the first of crm:registry.repositories (when they are valid)."""
    registry = read.get("registry", UNSET)
    if part != "application" or registry is UNSET or registry.repositories is UNSET:
        return {}
    return {"repositories": registry.repositories}


def _with_costs(common: Common, sections: Mapping[str, Parsed]) -> Common:
    return common.model_copy(update={"cost_assumptions": cost.assumptions(common, sections["costAssumptions"])})


def _with_token(dns: Dns, context: Context) -> Dns:
    """The zone's token is the stack's own provider secret."""
    return dns.model_copy(update={"api_token": context.raw.get("cloudflare:apiToken") or None})


class AwsStackConfig(StackModel):
    CLOUD: ClassVar[str] = "aws"

    common: Common = common_part()
    region: str = provider_part("aws:region")
    network: AwsNetworkSettings = section_part("network")
    kubernetes: Eks = section_part("kubernetes")
    database: RdsPostgres = section_part("database")
    redis: ElastiCacheRedis = section_part("redis")
    ingress: Ingress = section_part("ingress")
    registry: Registry = section_part("registry")
    interconnect: AwsInterconnect | None = section_part("interconnect", optional=True)
    platform: AwsPlatform = section_part("platform")
    monitoring: Monitoring = section_part("monitoring")
    application: ApplicationSettings = section_part("application")
    dns: Dns = section_part("dns")
    rotation: Rotation = section_part("rotation", default_factory=Rotation)
    ci: DeployRunnerSettings = section_part(
        "ci", default_factory=lambda: DeployRunnerSettings(runner=False, github_connection="", log_retention_days=90)
    )
    fault_injection: FaultInjectionSettings = section_part("faultInjection", default_factory=lambda: FaultInjectionSettings(enabled=False))
    cost_assumptions: cost.AwsCostAssumptions | None = section_part("costAssumptions", default_factory=lambda: None)  # pyright: ignore[reportInvalidTypeForm]  # in common.cost_assumptions

    @classmethod
    def derived_from(cls, part: str, read: Mapping[str, Any], context: Context) -> dict[str, Any]:
        return _application_defaults(part, read)

    @model_validator(mode="after")
    def _related(self, info: ValidationInfo) -> AwsStackConfig:
        return self.related(info, relations.aws)

    def finished(self, context: Context, sections: Mapping[str, Parsed]) -> AwsStackConfig:
        database = self.database
        if not database.logical_replication:
            database = database.model_copy(update={"max_slot_wal_keep_size_gb": 0})  # no slot to bound
        # The pods' probes use the ALB target group's path, so the two cannot drift apart.
        application = self.application.model_copy(update={"health_path": self.ingress.health_check_path})
        return self.model_copy(
            update={
                "common": _with_costs(self.common, sections),
                "database": database,
                "application": application,
                "dns": _with_token(self.dns, context),
            }
        )

    @property
    def references(self) -> list[str]:
        return [self.common.bootstrap_stack]  # the permissions boundary of the stack's roles


# ---------------------------------------------------------------- GCP


class GcpNetworkSettings(Section):
    name: str = setting("name", "VPC name", derive=lambda c: f"{c.common.project}-{c.env}", derive_doc="<project>-<environment>")
    subnet_cidr: Net = setting("subnetCidr", "nodes' subnet")
    pods_cidr: Net = setting("podsCidr", "GKE pods' secondary range")
    services_cidr: Net = setting("servicesCidr", "GKE services' secondary range")
    private_services_cidr: Net = setting(
        "privateServicesCidr", "private services access range for Cloud SQL and Memorystore (/24 or larger)", check=rules.private_services
    )
    master_cidr: Net = setting(
        "masterCidr", "GKE control plane /28", default=ipaddress.IPv4Network("172.16.0.0/28"), check=rules.gke_master
    )
    zones: list[str] = setting("zones", "zones of the node pool, in the region")


class Gke(Section):
    release_channel: str = setting("releaseChannel", "GKE release channel", default="REGULAR", choices=rules.RELEASE_CHANNELS)
    machine_type: str = setting("machineType", "GKE node machine type", by_env=matrix(sizes.GCP, "kubernetes", "machineType"))
    min_nodes: int = setting(
        "minNodes", "node pool minimum, total across zones", by_env=matrix(sizes.GCP, "kubernetes", "minNodes"), ge=0, le=1000
    )
    initial_nodes: int = setting(
        "initialNodes", "node pool initial size, total across zones", by_env=matrix(sizes.GCP, "kubernetes", "initialNodes"), ge=1, le=1000
    )
    max_nodes: int = setting(
        "maxNodes", "node pool maximum, total across zones", by_env=matrix(sizes.GCP, "kubernetes", "maxNodes"), ge=1, le=1000
    )
    disk_size_gb: int = setting("diskSizeGb", "node disk size, GB", by_env=matrix(sizes.GCP, "kubernetes", "diskSizeGb"), ge=10, le=65536)
    # Pulumi reaches the cluster through its DNS endpoint (IAM-checked), so the deploy needs no entry
    # here; the list only opens the IP endpoint to people's kubectl, and may be empty.
    authorized_networks: list[Net] = setting(
        "authorizedNetworks",
        "ranges for kubectl on the IP endpoint (deploys use the DNS endpoint); never 0.0.0.0/0",
        default=[],
        item_check=rules.cidr_admitting("the control plane is never open to the world"),
    )


class CloudSqlSettings(Section):
    enabled: bool = setting("enabled", "create the database", by_env=matrix(sizes.GCP, "database", "enabled"))
    database_version: str = setting("databaseVersion", "Cloud SQL version", default="POSTGRES_15", choices=("POSTGRES_15",))
    tier: str = setting("tier", "Cloud SQL machine tier", by_env=matrix(sizes.GCP, "database", "tier"), check=rules.cloud_sql_tier)
    disk_size_gb: int = setting("diskSizeGb", "Cloud SQL disk, GB", by_env=matrix(sizes.GCP, "database", "diskSizeGb"), ge=10, le=65536)
    disk_type: str = setting("diskType", "`PD_SSD` or `PD_HDD`", default="PD_SSD", choices=("PD_SSD", "PD_HDD"))
    availability: str = setting(
        "availability", "`REGIONAL` (HA) or `ZONAL`", by_env=matrix(sizes.GCP, "database", "availability"), choices=("REGIONAL", "ZONAL")
    )
    backup_retention_count: int = setting(
        "backupRetentionCount", "backups kept", by_env=matrix(sizes.GCP, "database", "backupRetentionCount"), ge=1, le=365
    )
    deletion_protection: bool = setting(
        "deletionProtection", "Cloud SQL deletion protection", by_env=matrix(sizes.GCP, "database", "deletionProtection")
    )
    logical_decoding: bool = setting("logicalDecoding", "`cloudsql.logical_decoding` on", derive=_is_dr, derive_doc="true in dr")
    database_name: str = setting("name", "database name", default="crm")
    username: str = setting("username", "admin user (its password is generated)", default="crmadmin")
    backup_location: str = setting(
        "backupLocation",
        "location backups are stored in (a region or multi-region other than the instance's)",  # "" = Google's default multi-region
        by_env=matrix(sizes.BACKUPS, "cloudSqlLocation"),
        check=rules.gcp_backup_location,
        attr_default="",
    )
    app_username: str = setting(
        "appUsername", "the application's own database role", default="crm_app", check=rules.postgres_role
    )  # read-only here until `dr promote` grants writes
    monitor_username: str = setting(
        "monitorUsername", "the replication-lag monitor's role (with replication)", default="crm_monitor", check=rules.postgres_role
    )
    client_image: str = setting("clientImage", "PostgreSQL client image of the role Job", default="docker.io/library/postgres:15-alpine")


class MemorystoreSettings(Section):
    enabled: bool = setting("enabled", "create the cache", by_env=matrix(sizes.GCP, "redis", "enabled"))
    tier: str = setting("tier", "`BASIC` or `STANDARD_HA`", by_env=matrix(sizes.GCP, "redis", "tier"), choices=("BASIC", "STANDARD_HA"))
    memory_size_gb: int = setting("memorySizeGb", "Memorystore size, GB", by_env=matrix(sizes.GCP, "redis", "memorySizeGb"), ge=1, le=300)
    replica_count: int = setting("replicaCount", "Memorystore replicas", by_env=matrix(sizes.GCP, "redis", "replicaCount"), ge=0, le=5)
    read_replicas: bool = setting(
        "readReplicas",
        "serve reads from replicas (needs 5 GB or more)",
        derive=lambda c: c["memory_size_gb"] >= 5 and sizes.GCP[c.env]["redis"]["replicaCount"] > 1,
        derive_doc="true when memorySizeGb >= 5 and the environment's replicaCount > 1",
    )
    redis_version: str = setting("version", "Memorystore Redis version", default="REDIS_7_0", choices=("REDIS_7_0", "REDIS_7_2"))
    rdb_snapshot_period: str = setting(
        "rdbSnapshotPeriod",
        "RDB persistence period",
        default="SIX_HOURS",
        choices=("ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"),
    )


class GcpInterconnect(Section):
    """The GCP end of the HA VPN, which also creates the AWS customer gateways and VPN connections."""

    peer_stack: str = setting("peerStack", "the other cloud's end of the VPN; section only in the DR stacks")
    router_asn: int = setting("routerAsn", "Cloud Router's private ASN", default=65010, check=rules.cloud_router_asn)
    inside_cidrs: list[Net] = setting(
        "insideCidrBlock",
        "block the four tunnels' /30s come from (/28 or larger in 169.254.0.0/16)",
        default="169.254.10.0/28",
        value_type=Net,
        check=rules.inside_block,
        convert=addressing.plan_inside_cidrs,
    )
    peer_region: str = ""
    peer_asn: int = 0
    peer_vpc_cidr: Net | None = None


class GcpPlatform(Section):
    """Kafka inside GKE, the workload identity, and the AWS stack whose mail and scheduler GCP uses."""

    aws_stack: str = setting(
        "awsStack",
        "the AWS stack whose mail, scheduler and writer database GCP uses",  # "" when this environment uses no AWS mail or scheduler
        derive=lambda c: "aws-dr" if c.env == "dr" else "",
        derive_doc='aws-dr in dr, else ""',
    )
    kafka_brokers: int = setting("kafkaBrokers", "Kafka nodes on GKE (at least 3 outside dev)", default=3, ge=1, le=9)
    strimzi_chart_version: str = setting(
        "strimziChartVersion",
        "Strimzi operator chart version (a release the program knows)",
        default=rules.STRIMZI_DEFAULT,
        choices=tuple(rules.STRIMZI_KAFKA_VERSIONS),
    )
    kafka_version: str = setting("kafkaVersion", "Kafka version (one the Strimzi release runs)", default=rules.KAFKA_DEFAULT)
    app_namespace: str = setting("appNamespace", "the application's Kubernetes namespace", default="crm")
    app_service_account: str = setting(
        "appServiceAccount", "the application's Kubernetes service account (IRSA / Workload Identity)", default="crm-app"
    )
    kafka_topics: list[str] = setting(
        "kafkaTopics",
        "topics the platform creates (Strimzi KafkaTopic), each starting `crm.`; the app may not create topics",
        default=["crm.scheduled-tasks", "crm.messages"],
        check=rules.distinct("the topic"),
        item_check=rules.kafka_topic,
    )
    kafka_topic_partitions: int = setting("kafkaTopicPartitions", "partitions of each of those topics", default=6, ge=1, le=1000)


class GcpIngress(Section):
    """The GKE Gateway in front of the application's Service (its port and health path: crm:application)."""

    allowed_cidrs: list[str] = setting(
        "allowedCidrs",
        "ranges Cloud Armor admits (empty: Cloudflare's published ranges, read from its API at deploy); never 0.0.0.0/0",
        default=[],
        check=rules.distinct("the range"),
        item_check=rules.cidr_admitting("the load balancer admits only Cloudflare"),
    )


class GcpStackConfig(StackModel):
    CLOUD: ClassVar[str] = "gcp"

    common: Common = common_part()
    project_id: str = provider_part("gcp:project")
    region: str = provider_part("gcp:region")
    network: GcpNetworkSettings = section_part("network")
    kubernetes: Gke = section_part("kubernetes")
    database: CloudSqlSettings = section_part("database")
    redis: MemorystoreSettings = section_part("redis")
    registry: Registry = section_part("registry")
    interconnect: GcpInterconnect | None = section_part("interconnect", optional=True)
    platform: GcpPlatform = section_part("platform")
    monitoring: Monitoring = section_part("monitoring")
    replication: Replication = section_part("replication")
    application: ApplicationSettings = section_part("application")
    dns: Dns = section_part("dns")
    ingress: GcpIngress = section_part("ingress")
    rotation: Rotation = section_part("rotation", default_factory=Rotation)
    cost_assumptions: cost.GcpCostAssumptions | None = section_part("costAssumptions", default_factory=lambda: None)  # pyright: ignore[reportInvalidTypeForm]  # in common.cost_assumptions

    @classmethod
    def derived_from(cls, part: str, read: Mapping[str, Any], context: Context) -> dict[str, Any]:
        if part == "replication":
            database = read.get("database", UNSET)
            if database is UNSET or database.logical_decoding is UNSET:
                return {}  # logicalDecoding is wrong, and reported
            return {"replication_default": read.get("interconnect") is not None and database.logical_decoding}
        return _application_defaults(part, read)

    @model_validator(mode="after")
    def _related(self, info: ValidationInfo) -> GcpStackConfig:
        return self.related(info, relations.gcp)

    def finished(self, context: Context, sections: Mapping[str, Parsed]) -> GcpStackConfig:
        return self.model_copy(update={"common": _with_costs(self.common, sections), "dns": _with_token(self.dns, context)})

    @property
    def references(self) -> list[str]:
        stacks = [self.platform.aws_stack] if self.platform.aws_stack else []
        if self.interconnect and self.interconnect.peer_stack not in stacks:
            stacks.append(self.interconnect.peer_stack)
        # The service accounts the stack uses (bootstrap creates them) and the mail-sending role's boundary.
        stacks.append(self.common.bootstrap_stack)
        return stacks


# ---------------------------------------------------------------- Cloudflare


class HealthMonitor(Section):
    path: str = setting("path", "health check path", default="/health")
    port: int = setting("port", "health check port", default=443, ge=1, le=65535)
    expected_codes: str = setting("expectedCodes", "healthy status codes", default="200")
    interval_seconds: int = setting("intervalSeconds", "seconds between checks", default=60, ge=5, le=3600)
    retries: int = setting("retries", "retries of a failed check", default=2, ge=0, le=5)
    timeout_seconds: int = setting("timeoutSeconds", "a check's timeout", default=5, ge=1, le=10)
    consecutive_down: int = setting("consecutiveDown", "failed checks before an origin is down", default=1, ge=1, le=10)

    def health_check(self) -> HealthCheck:
        """The check the load balancer's monitor runs (components/cloudflare/health.py)."""
        return HealthCheck(
            path=self.path,
            port=self.port,
            expected_codes=self.expected_codes,
            interval_seconds=self.interval_seconds,
            retries=self.retries,
            timeout_seconds=self.timeout_seconds,
            consecutive_down=self.consecutive_down,
        )


class PoolWeights(Section):
    """Steering `random` splits new sessions by these percentages (the documents' 50:50 by default)."""

    aws: int = setting("aws", "AWS pool's weight with `random` steering", default=50, ge=0, le=100)
    gcp: int = setting("gcp", "GCP pool's weight with `random` steering", default=50, ge=0, le=100)


class LoadBalancerSettings(Section):
    account_id: str = setting("accountId", "Cloudflare account id", check=rules.cloudflare_id)
    zone_id: str = setting("zoneId", "Cloudflare zone id", check=rules.cloudflare_id)
    hostname: str = setting("hostname", "the load-balanced host name", derive=lambda c: c.common.public_host, derive_doc="<publicHost>")
    steering: str = setting(
        "steering",
        "`dynamic_latency` (active-active), `failover` (AWS first) or `random` (poolWeights)",  # dynamic_latency | failover | random
        default="dynamic_latency",
        choices=("dynamic_latency", "failover", "random"),
    )
    session_affinity_ttl: int = setting("sessionAffinityTtlSeconds", "cookie session affinity TTL", default=3600, ge=1800, le=604800)
    notification_email: str = setting("notificationEmail", "who is told when a pool's health changes", check=rules.email)
    rto_budget_seconds: int = setting("detectionBudgetSeconds", "most the computed detection time may be", default=120, ge=1)
    check_regions: list[str] = setting(
        "checkRegions", "Cloudflare regions the health checks run from", default=["NEAS", "SEAS"], item_check=rules.check_region
    )
    monitor: HealthMonitor = setting("monitor", "the health check of both pools")
    aws_stack: str = setting("awsStack", "the AWS stack behind the AWS pool", default="aws-dr")
    gcp_stack: str = setting("gcpStack", "the GCP stack behind the GCP pool", default="gcp-dr")
    pool_weights: tuple = setting(
        "poolWeights",
        "percent of new sessions per cloud under steering `random`",
        nested=PoolWeights,
        convert=lambda w: (("aws", w.aws), ("gcp", w.gcp)),
        attr_default=(("aws", 50), ("gcp", 50)),
    )  # percent of new sessions per cloud under steering `random`


class GlobalStackConfig(StackModel):
    CLOUD: ClassVar[str] = "cloudflare"

    common: Common = common_part()
    load_balancer: LoadBalancerSettings = section_part("loadBalancer")
    cost_assumptions: cost.CloudflareCostAssumptions | None = section_part("costAssumptions", default_factory=lambda: None)  # pyright: ignore[reportInvalidTypeForm]

    @model_validator(mode="after")
    def _related(self, info: ValidationInfo) -> GlobalStackConfig:
        return self.related(info, relations.cloudflare)

    def finished(self, context: Context, sections: Mapping[str, Parsed]) -> GlobalStackConfig:
        return self.model_copy(update={"common": _with_costs(self.common, sections)})

    @property
    def references(self) -> list[str]:
        return [self.load_balancer.aws_stack, self.load_balancer.gcp_stack]


# ---------------------------------------------------------------- Bootstrap


# The GitHub environment whose jobs deploy the production stacks, behind its required reviewers: the AWS production
# deploy role trusts it alone. The stacks it deploys (.github/workflows/infrastructure.yml; the deploy role may not
# touch their state): patterns of stack names, `*` any characters.
PRODUCTION_ENVIRONMENT = "production"
PRODUCTION_STACKS = ("*-production", "*-dr", "global")


class GithubRepository(Section):
    """The one repository whose workflows may act on the estate, and which of its jobs may deploy."""

    repository: str = setting(
        "repository", "OWNER/REPO that CI's OIDC identities trust", check=rules.github_repository
    )  # OWNER/REPO, no wildcards
    deploy_environments: list[str] = setting(
        "deployEnvironments",
        # GitHub environments whose jobs assume the deploy identities
        "GitHub environments the deploy identities trust: `production` (AWS: the production deploy role alone) and at least one other",
        default=["non-production", "production"],
        item_check=rules.ref_name,
        check=rules.not_empty("needs at least one GitHub environment (the deploy identity trusts only jobs in these)"),
    )
    preview_branches: list[str] = setting(
        "previewBranches",
        "branches the preview identity trusts (besides pull requests)",  # branches whose pushes preview with the read-only identity (pull requests always do)
        default=["main"],
        item_check=rules.ref_name,
    )

    @property
    def deploy_subjects(self) -> list[str]:
        return [f"repo:{self.repository}:environment:{name}" for name in self.deploy_environments]

    @property
    def non_production_deploy_subjects(self) -> list[str]:
        """What the AWS deploy role trusts: every deploy environment but the production one."""
        return [f"repo:{self.repository}:environment:{name}" for name in self.deploy_environments if name != PRODUCTION_ENVIRONMENT]

    @property
    def production_deploy_subjects(self) -> list[str]:
        """What the AWS production deploy role trusts: the production environment alone."""
        return [f"repo:{self.repository}:environment:{name}" for name in self.deploy_environments if name == PRODUCTION_ENVIRONMENT]

    @property
    def preview_subjects(self) -> list[str]:
        return [f"repo:{self.repository}:pull_request"] + [f"repo:{self.repository}:ref:refs/heads/{b}" for b in self.preview_branches]


class StateSettings(Section):
    backend: str = setting(
        "backend", "`s3` or `gcs` state bucket", default="s3", choices=("s3", "gcs")
    )  # s3 | gcs: where every stack's state lives
    secrets_provider: str = setting(
        "secretsProvider", "`awskms` or `gcpkms` secrets key", default="awskms", choices=("awskms", "gcpkms")
    )  # awskms | gcpkms: what encrypts every stack's secrets
    noncurrent_version_days: int = setting("noncurrentVersionDays", "days old state versions are kept", default=90, ge=1, le=3650)
    log_retention_days: int = setting("logRetentionDays", "days the state bucket's access logs are kept", default=365, ge=1, le=3650)
    aws_operators: list[str] = setting(
        "awsOperators", "IAM roles or users that keep using the state and keys", default=[], item_check=rules.iam_principal
    )  # IAM role/user ARNs of the people who run bootstrap (they use the keys and the state)
    gcp_operators: list[str] = setting(
        "gcpOperators", "IAM members that keep using the state and keys", default=[], item_check=rules.gcp_member
    )  # IAM members (user:, group:) with the same rights in GCP


class ProjectFactory(Section):
    """crm:projects (bootstrap): create the GCP projects of crm:deployProjects and link them to billing."""

    create: bool = setting("create", "bootstrap creates each of crm:deployProjects, linked to billingAccount", default=False)
    billing_account: str = setting(
        "billingAccount", "billing account the created projects are linked to", default="", check=lambda v: v and rules.billing_account(v)
    )
    folder_id: str = setting(
        "folderId", "numeric id of the folder the projects are created in", default="", check=lambda v: v and rules.numeric_id(v)
    )
    organization_id: str = setting(
        "organizationId",
        "numeric id of the organization the projects are created in, when not in a folder",
        default="",
        check=lambda v: v and rules.numeric_id(v),
    )


class CloudflareTokenFactory(Section):
    """crm:cloudflareToken (bootstrap): create the stacks' Cloudflare API token, scoped to one zone and its account."""

    create: bool = setting(
        "create", "bootstrap creates the stacks' API token (bootstrap's own cloudflare:apiToken may create tokens)", default=False
    )
    account_id: str = setting("accountId", "Cloudflare account of the zone", default="", check=lambda v: v and rules.cloudflare_id(v))
    zone_id: str = setting("zoneId", "the zone of crm:publicHost", default="", check=lambda v: v and rules.cloudflare_id(v))


class BootstrapTopLevel(Section):
    """The bootstrap stack's own top-level `crm:` settings."""

    deploy_projects: list[str] = setting(
        "deployProjects",
        "GCP projects CI's deploy identity may deploy to",
        item_check=rules.gcp_project,
        derive=lambda c: [c["gcp_project"]] if c["gcp_project"] else [],
        derive_doc="[gcp:project]",
    )


class BootstrapStackConfig(StackModel):
    CLOUD: ClassVar[str] = "bootstrap"

    common: Common = common_part()
    aws_region: str = provider_part("aws:region")
    gcp_project: str = provider_part("gcp:project")
    gcp_region: str = provider_part("gcp:region")
    github: GithubRepository = section_part("github")
    state: StateSettings = section_part("state")
    projects: ProjectFactory | None = section_part("projects", default_factory=lambda: None)  # whether bootstrap creates them
    cloudflare_token: CloudflareTokenFactory | None = section_part("cloudflareToken", default_factory=lambda: None)
    cost_assumptions: cost.BootstrapCostAssumptions | None = section_part("costAssumptions", default_factory=lambda: None)  # pyright: ignore[reportInvalidTypeForm]
    deploy_projects: list[str] = top_level_part(BootstrapTopLevel)  # the GCP projects the gcp-* stacks deploy into

    @classmethod
    def derived_from(cls, part: str, read: Mapping[str, Any], context: Context) -> dict[str, Any]:
        if part == "deploy_projects":
            project = context.provider["gcp:project"]
            return {"gcp_project": project} if not project or rules.PROJECT_ID.match(project) else {}
        return {}

    @model_validator(mode="after")
    def _related(self, info: ValidationInfo) -> BootstrapStackConfig:
        return self.related(info, relations.bootstrap)

    def finished(self, context: Context, sections: Mapping[str, Parsed]) -> BootstrapStackConfig:
        return self.model_copy(update={"common": _with_costs(self.common, sections)})

    @property
    def references(self) -> list[str]:
        return []


StackConfig = AwsStackConfig | GcpStackConfig | GlobalStackConfig | BootstrapStackConfig


# ---------------------------------------------------------------- Monitoring (AWS and GCP stacks)


def _threshold(key: str, description: str, ge: int, le: int) -> Any:
    return setting(key, description, by_env=_monitoring(key), ge=ge, le=le)


class Monitoring(Section):
    """Who is told, and the thresholds, all derived from the SLA and the sizes in config."""

    emails: list[str] = setting(
        "emails",
        "who receives alarms and budget alerts",
        derive=lambda c: [f"oncall@{c.common.public_host}"],
        derive_doc="[oncall@<publicHost>]",
        item_check=rules.email,
        check=rules.not_empty("must list at least one address: an alarm nobody receives is not an alarm"),
    )
    rpo_seconds: int = _threshold("rpoSeconds", "recovery point objective", 1, 86400)
    replication_lag_seconds: int = _threshold("replicationLagSeconds", "replication lag alarm (below rpoSeconds)", 1, 86400)
    latency_p95_ms: int = _threshold("latencyP95Ms", "p95 latency alarm", 1, 60000)
    cpu_percent: int = _threshold("cpuPercent", "database and node CPU alarm", 1, 100)
    free_storage_percent: int = _threshold("freeStoragePercent", "RDS free storage alarm, % of allocated", 1, 99)
    disk_percent: int = _threshold("diskPercent", "Cloud SQL disk utilization alarm", 1, 100)
    database_connections: int = _threshold("databaseConnections", "database connections alarm", 1, 100000)
    slot_wal_alarm_percent: int = _threshold("slotWalAlarmPercent", "slot WAL alarm, % of maxSlotWalKeepSizeGb", 1, 90)
    wal_bytes_per_second: int = _threshold("walBytesPerSecond", "the primary's WAL rate, turns slot-lag bytes into seconds", 1, 10**10)
    cache_cpu_percent: int = _threshold("cacheCpuPercent", "cache CPU alarm", 1, 100)
    cache_memory_percent: int = _threshold("cacheMemoryPercent", "cache memory alarm", 1, 100)
    cache_replication_lag_seconds: int = _threshold("cacheReplicationLagSeconds", "cache replication lag alarm", 1, 3600)
    http_5xx_per_minute: int = _threshold("http5xxPerMinute", "load balancer 5xx alarm", 0, 10**6)
    dead_letter_messages: int = _threshold("deadLetterMessages", "dead-letter queue depth alarm", 0, 10**6)
    kafka_disk_percent: int = _threshold("kafkaDiskPercent", "Kafka broker disk alarm", 1, 100)
    container_restarts: int = _threshold("containerRestarts", "container restarts alarm", 1, 10**4)
    billing_account: str = setting(
        "billingAccount",
        "billing account the GCP budget belongs to",
        clouds=("gcp",),  # GCP only
        default=rules.PLACEHOLDER_BILLING_ACCOUNT,
        check=rules.billing_account,
        attr_default="",
    )

    availability_percent: float = _threshold(
        "availabilityPercent", "availability objective: share of requests without a 5xx over 30 days (SLOs, game day)", 90, 99.999
    )
    rto_seconds: int = _threshold("rtoSeconds", "recovery time objective: longest a failover to the other cloud may take", 30, 3600)

    @property
    def slot_lag_bytes(self) -> int:
        """WAL a subscriber may fall behind before the alarm: the lag threshold's worth at the expected write rate."""
        return self.replication_lag_seconds * self.wal_bytes_per_second


class Replication(Section):
    """The deploy-time replication pieces in GKE (gcp-dr): the setup Job and the lag CronJob."""

    enabled: bool = setting(
        "enabled",
        "the in-cluster Job that sets up and watches logical replication",
        derive=lambda c: c["replication_default"],
        derive_doc="true with crm:interconnect and logicalDecoding",
    )
    tool_image: str = setting("toolImage", "image built from dr/Dockerfile (required when enabled)", default="")
    namespace: str = setting("namespace", "the Job's namespace", default="crm-replication", check=rules.namespace)


# ---------------------------------------------------------------- the workload (AWS and GCP stacks)

# Replicas per environment: (minReplicas, maxReplicas). Two or more outside dev, so a drain or a
# zone loss leaves a pod serving (the PodDisruptionBudget keeps one up).
REPLICAS = {"dev": (1, 3), "staging": (2, 4), "production": (3, 12), "dr": (2, 8)}


class ApplicationSettings(Section):
    image_repository: str = setting(
        "imageRepository",
        "registry repository of the application image",
        derive=lambda c: c["repositories"][0] if c["repositories"] else "crm-api",
        derive_doc="the first of crm:registry.repositories",
    )
    image_tag: str = setting("imageTag", "the application image tag to run", check=rules.image_tag)
    port: int = setting("port", "container port", default=8080, ge=1024, le=65535)
    health_path: str = setting(
        "healthCheckPath",
        "readiness and health path (AWS: crm:ingress.healthCheckPath)",
        default="/health",
        check=rules.url_path,
        clouds=("gcp",),
    )
    min_replicas: int = setting("minReplicas", "autoscaler minimum", by_env={env: low for env, (low, _) in REPLICAS.items()}, ge=1, le=100)
    max_replicas: int = setting(
        "maxReplicas", "autoscaler maximum", by_env={env: high for env, (_, high) in REPLICAS.items()}, ge=1, le=100
    )
    cpu_request: str = setting("cpuRequest", "container CPU request", default="250m", check=rules.cpu_quantity)
    cpu_limit: str = setting("cpuLimit", "container CPU limit", default="1", check=rules.cpu_quantity)
    memory_request: str = setting("memoryRequest", "container memory request", default="512Mi", check=rules.memory_quantity)
    memory_limit: str = setting("memoryLimit", "container memory limit", default="1Gi", check=rules.memory_quantity)
    target_cpu_percent: int = setting("targetCpuPercent", "autoscaler CPU target", default=70, ge=10, le=95)


for _config in (AwsStackConfig, GcpStackConfig, GlobalStackConfig, BootstrapStackConfig):
    _config.model_rebuild()
