"""Parses and validates the config of an AWS stack (`crm:cloud: aws`)."""
from __future__ import annotations

import dataclasses
import re

from . import model, monitoring as monitoring_config, sizes
from .cloudflare import parse_dns
from .application import parse as parse_application
from .reader import Problems, Section, check_counts, check_hosts, check_no_overlap, check_within, parse_cidr

# RFC 6996 private ASNs, the only ones a VGW accepts as its Amazon-side ASN.
PRIVATE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
_EKS_VERSION = re.compile(r"^1\.\d{2}$")
# The retentions CloudWatch Logs accepts (PutRetentionPolicy's retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def is_private_asn(asn: int) -> bool:
    return any(low <= asn <= high for low, high in PRIVATE_ASN_RANGES)


def zone_in_region(zone: str, region: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}[a-z]", zone) is not None


def parse(problems: Problems, common: model.Common, raw: dict) -> model.AwsStackConfig:
    env = common.environment
    row = sizes.AWS.get(env, sizes.AWS["production"])
    region = raw.get("aws:region") or ""
    if not region:
        problems.add("aws:region", "is required but not set")

    net = Section(problems, "crm:network", raw.get("crm:network"))
    network = model.AwsNetwork(
        cidr=net.network("cidr"),
        zones=net.strings("zones"),
        public_subnets=net.networks("publicSubnets"),
        private_subnets=net.networks("privateSubnets"),
        data_subnets=net.networks("dataSubnets"),
        nat_gateways=net.string("natGateways", row["natGateways"], choices=("one-per-zone", "single")),
        flow_log_retention_days=net.integer("flowLogRetentionDays", 90, minimum=1, maximum=3653),
    )
    net.finish()
    _check_network(problems, network, region)

    k8s = Section(problems, "crm:kubernetes", raw.get("crm:kubernetes"))
    k8s_row = row["kubernetes"]
    kubernetes = model.Eks(
        version=k8s.string("version", sizes.EKS_DEFAULT_VERSION),
        instance_type=k8s.string("instanceType", k8s_row["instanceType"]),
        min_size=k8s.integer("minSize", k8s_row["minSize"], minimum=0, maximum=450),
        desired_size=k8s.integer("desiredSize", k8s_row["desiredSize"], minimum=0, maximum=450),
        max_size=k8s.integer("maxSize", k8s_row["maxSize"], minimum=1, maximum=450),
        disk_size_gb=k8s.integer("diskSizeGb", 50, minimum=20, maximum=16384),
        public_endpoint=k8s.boolean("publicEndpoint", False),
        public_access_cidrs=k8s.strings("publicAccessCidrs", []),
        admin_principals=k8s.strings("adminPrincipals", []),
    )
    k8s.finish()
    if not _EKS_VERSION.match(kubernetes.version):
        problems.add("crm:kubernetes.version", f"must be a Kubernetes minor such as 1.35, got '{kubernetes.version}'")
    check_counts(problems, "crm:kubernetes", kubernetes.min_size, kubernetes.desired_size, kubernetes.max_size, ("minSize", "desiredSize", "maxSize"))
    _check_public_endpoint(problems, kubernetes)

    db = Section(problems, "crm:database", raw.get("crm:database"))
    db_row = row["database"]
    allocated = db.integer("allocatedStorage", db_row["allocatedStorage"], minimum=20, maximum=65536)
    database = model.RdsPostgres(
        enabled=db.boolean("enabled", db_row["enabled"]),
        instance_class=db.string("instanceClass", db_row["instanceClass"]),
        allocated_storage_gb=allocated,
        max_allocated_storage_gb=db.integer("maxAllocatedStorage", allocated * 2, minimum=0, maximum=65536),
        engine_version=db.string("engineVersion", "15"),
        multi_az=db.boolean("multiAz", db_row["multiAz"]),
        backup_retention_days=db.integer("backupRetentionDays", db_row["backupRetentionDays"], minimum=0, maximum=35),
        deletion_protection=db.boolean("deletionProtection", db_row["deletionProtection"]),
        database_name=db.string("name", "crm"),
        username=db.string("username", "crmadmin"),
        logical_replication=db.boolean("logicalReplication", env == "dr"),
        log_retention_days=db.integer("logRetentionDays", 90, minimum=1, maximum=3653),
        backup_copy_region=db.string("backupCopyRegion", sizes.BACKUPS.get(env, sizes.BACKUPS["production"])["copyRegion"]),
        restore_testing=db.boolean("restoreTesting", sizes.BACKUPS.get(env, sizes.BACKUPS["production"])["restoreTesting"]),
        app_username=db.string("appUsername", "crm_app"),
        replication_username=db.string("replicationUsername", "crm_replication"),
        client_image=db.string("clientImage", model.RdsPostgres.client_image),
    )
    slot_wal_gb = db.integer("maxSlotWalKeepSizeGb", max(1, int(allocated * sizes.SLOT_WAL_SHARE_OF_STORAGE)), minimum=1, maximum=65536)
    db.finish()
    if database.logical_replication:
        database = dataclasses.replace(database, max_slot_wal_keep_size_gb=slot_wal_gb)
        if slot_wal_gb >= allocated:
            problems.add("crm:database.maxSlotWalKeepSizeGb", f"must be below allocatedStorage ({allocated} GB): WAL kept for a dead "
                         f"subscriber must never fill the disk, got {slot_wal_gb}")
    if database.log_retention_days not in LOG_RETENTION_DAYS:
        problems.add("crm:database.logRetentionDays", f"must be a retention CloudWatch Logs offers ({', '.join(map(str, LOG_RETENTION_DAYS))}), got {database.log_retention_days}")
    if database.backup_copy_region and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", database.backup_copy_region):
        problems.add("crm:database.backupCopyRegion", f"must be an AWS region such as ap-northeast-1 (or empty for no copy), got '{database.backup_copy_region}'")
    elif database.backup_copy_region and database.backup_copy_region == region:
        problems.add("crm:database.backupCopyRegion", f"must differ from aws:region ({region}): a copy in the same region does not survive its outage")
    if database.enabled and database.backup_copy_region and database.backup_retention_days < 1:
        problems.add("crm:database.backupCopyRegion", "needs crm:database.backupRetentionDays of at least 1: only automated backups are replicated")
    check_database_users(problems, database.username, {"appUsername": database.app_username, "replicationUsername": database.replication_username})
    if not database.instance_class.startswith("db."):
        problems.add("crm:database.instanceClass", f"must be an RDS class such as db.t3.large, got '{database.instance_class}'")
    if database.engine_version.split(".")[0] != "15":
        problems.add("crm:database.engineVersion", f"must be PostgreSQL 15 (the Cloud SQL subscriber runs 15), got '{database.engine_version}'")
    if 0 < database.max_allocated_storage_gb < database.allocated_storage_gb:
        problems.add("crm:database.maxAllocatedStorage", f"must be 0 (autoscaling off) or at least allocatedStorage ({database.allocated_storage_gb}), got {database.max_allocated_storage_gb}")
    if database.enabled and env != "dev" and database.backup_retention_days < 1:
        problems.add("crm:database.backupRetentionDays", "must be at least 1 outside dev: automated backups are what point-in-time recovery restores from")
    if database.username in ("admin", "postgres", "rdsadmin"):
        problems.add("crm:database.username", f"'{database.username}' is reserved by RDS PostgreSQL")

    rd = Section(problems, "crm:redis", raw.get("crm:redis"))
    rd_row = row["redis"]
    redis = model.ElastiCacheRedis(
        enabled=rd.boolean("enabled", rd_row["enabled"]),
        node_type=rd.string("nodeType", rd_row["nodeType"]),
        nodes=rd.integer("nodes", rd_row["nodes"], minimum=1, maximum=6),
        engine_version=rd.string("engineVersion", "7.1"),
        snapshot_retention_days=rd.integer("snapshotRetentionDays", rd_row["snapshotRetentionDays"], minimum=0, maximum=35),
        cluster_mode=rd.boolean("clusterMode", False),
        shards=rd.integer("shards", 1, minimum=1, maximum=500),
        replicas_per_shard=rd.integer("replicasPerShard", 1, minimum=0, maximum=5),
    )
    rd.finish()
    if redis.cluster_mode and env != "dev" and redis.replicas_per_shard < 1:
        problems.add("crm:redis.replicasPerShard", "must be at least 1 outside dev: cluster mode fails over automatically, which needs a replica in each shard")
    if not redis.cluster_mode and ({"shards", "replicasPerShard"} & set(rd.raw)):
        problems.add("crm:redis.clusterMode", "shards and replicasPerShard apply only with clusterMode: true (without it, crm:redis.nodes sets the size)")
    if not redis.node_type.startswith("cache."):
        problems.add("crm:redis.nodeType", f"must be an ElastiCache node type such as cache.t3.medium, got '{redis.node_type}'")
    if not redis.engine_version.startswith("7."):
        problems.add("crm:redis.engineVersion", f"must be a Redis 7.x version, got '{redis.engine_version}'")

    ing = Section(problems, "crm:ingress", raw.get("crm:ingress"))
    ingress = model.Ingress(
        certificate_arn=ing.string("certificateArn", ""),  # optional override of the ACM certificate the stack requests
        allowed_cidrs=ing.strings("allowedCidrs", []),  # empty: Cloudflare's ranges, read from its API at deploy
        health_check_path=ing.string("healthCheckPath", "/health"),
    )
    ing.finish()
    if ingress.certificate_arn and not _CERT_ARN.match(ingress.certificate_arn):
        problems.add("crm:ingress.certificateArn", f"'{ingress.certificate_arn}' is not an ACM certificate ARN")
    for i, cidr in enumerate(ingress.allowed_cidrs):
        net_ = parse_cidr(problems, f"crm:ingress.allowedCidrs[{i}]", cidr)
        if net_ is not None and net_.prefixlen == 0:
            problems.add(f"crm:ingress.allowedCidrs[{i}]", "must not be 0.0.0.0/0: the load balancer admits only Cloudflare")

    registry = parse_registry(problems, raw)
    alb_name = f"{common.name_prefix}-ingress"  # the ALB's name (components/aws/alb.py): Elastic Load Balancing allows 32 characters
    if len(alb_name) > 32:
        problems.add("crm:project", f"'{common.project}' makes the load balancer's name '{alb_name}' {len(alb_name)} characters; "
                     f"Elastic Load Balancing allows 32, so the project may have at most {32 - len(alb_name) + len(common.project)} characters in {env}")

    interconnect = None
    if raw.get("crm:interconnect") is not None:
        ic = Section(problems, "crm:interconnect", raw.get("crm:interconnect"))
        interconnect = model.AwsInterconnect(
            peer_stack=ic.string("peerStack"),
            amazon_side_asn=ic.integer("amazonSideAsn", 64512),
        )
        ic.finish()
        if not is_private_asn(interconnect.amazon_side_asn):
            problems.add("crm:interconnect.amazonSideAsn", f"{interconnect.amazon_side_asn} is not a private ASN (64512-65534 or 4200000000-4294967294)")

    pf = Section(problems, "crm:platform", raw.get("crm:platform"))
    platform = model.AwsPlatform(
        mail_enabled=pf.boolean("mail", env == "dr"),
        mail_domain=pf.string("mailDomain", common.public_host),
        # The GCP stack subscribes its own host (gcp.<publicHost>) once that host exists; see docs/ingress.md.
        webhook_hosts=pf.strings("webhookHosts", [f"aws.{common.public_host}"]),
        msk_enabled=pf.boolean("msk", env == "dr"),
        msk_instance_type=pf.string("mskInstanceType", "kafka.m5.large"),
        msk_volume_gb=pf.integer("mskVolumeGb", 100, minimum=1, maximum=16384),
        app_namespace=pf.string("appNamespace", "crm"),
        app_service_account=pf.string("appServiceAccount", "crm-app"),
    )
    pf.finish()
    check_hosts(problems, "crm:platform.webhookHosts", platform.webhook_hosts)
    if not platform.msk_instance_type.startswith("kafka."):
        problems.add("crm:platform.mskInstanceType", f"must be an MSK broker type such as kafka.m5.large, got '{platform.msk_instance_type}'")
    if len(network.zones) > 0 and platform.msk_enabled and len(network.zones) < 2:
        problems.add("crm:platform.msk", "MSK needs brokers in at least two zones")

    monitoring = monitoring_config.parse(problems, common, raw, cloud="aws")
    dns = parse_dns(problems, common, raw)
    if dns.origin_host and dns.origin_host not in platform.webhook_hosts and platform.mail_enabled:
        problems.add("crm:platform.webhookHosts", f"must include this stack's origin host '{dns.origin_host}' (crm:dns.originHost), where SES events are delivered")

    application = parse_application(problems, raw, env, registry.repositories, health_path=ingress.health_check_path)
    return model.AwsStackConfig(common, region, network, kubernetes, database, redis, ingress, registry, interconnect, platform,
                                monitoring=monitoring, application=application, dns=dns)



_PG_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_database_users(problems: Problems, admin: str, users: dict[str, str]) -> None:
    """The application's and replication's roles are their own, never the admin user, and plain identifiers."""
    seen: dict[str, str] = {}
    for key, role in users.items():
        if not _PG_ROLE.match(role):
            problems.add(f"crm:database.{key}", f"'{role}' must be a lower-case PostgreSQL identifier (letters, digits, _)")
        elif role == admin:
            problems.add(f"crm:database.{key}", f"'{role}' is the admin user (crm:database.username); the application gets its own role")
        elif role in seen:
            problems.add(f"crm:database.{key}", f"'{role}' is also crm:database.{seen[role]}; each role has one purpose")
        seen[role] = key


def parse_registry(problems: Problems, raw: dict) -> model.Registry:
    reg = Section(problems, "crm:registry", raw.get("crm:registry"))
    registry = model.Registry(
        repositories=reg.strings("repositories", ["crm-api", "crm-web"]),
        keep_images=reg.integer("keepImages", 30, minimum=1, maximum=1000),
    )
    reg.finish()
    for i, name in enumerate(registry.repositories):
        if not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", name):
            problems.add(f"crm:registry.repositories[{i}]", f"'{name}' must be lower-case letters, digits and . _ - separators")
    return registry


def _check_network(problems: Problems, network: model.AwsNetwork, region: str) -> None:
    for i, zone in enumerate(network.zones):
        if region and not zone_in_region(zone, region):
            problems.add(f"crm:network.zones[{i}]", f"zone '{zone}' is not in region {region}")
    if len(network.zones) < 2:
        problems.add("crm:network.zones", f"needs at least two zones (RDS and EKS span two), got {len(network.zones)}")
    if len(set(network.zones)) != len(network.zones):
        problems.add("crm:network.zones", "lists a zone twice")
    tiers = (("publicSubnets", network.public_subnets), ("privateSubnets", network.private_subnets), ("dataSubnets", network.data_subnets))
    named = []
    for tier, subnets in tiers:
        if len(subnets) != len(network.zones):
            problems.add(f"crm:network.{tier}", f"needs one subnet per zone ({len(network.zones)}), got {len(subnets)}")
        for i, subnet in enumerate(subnets):
            key = f"crm:network.{tier}[{i}]"
            check_within(problems, key, subnet, "crm:network.cidr", network.cidr)
            named.append((key, subnet))
    check_no_overlap(problems, named)


def _check_public_endpoint(problems: Problems, kubernetes: model.Eks) -> None:
    if kubernetes.public_endpoint and not kubernetes.public_access_cidrs:
        problems.add("crm:kubernetes.publicAccessCidrs", "must list the networks allowed to reach the public API endpoint when publicEndpoint is true")
    for i, cidr in enumerate(kubernetes.public_access_cidrs):
        net = parse_cidr(problems, f"crm:kubernetes.publicAccessCidrs[{i}]", cidr)
        if net is not None and net.prefixlen == 0:
            problems.add(f"crm:kubernetes.publicAccessCidrs[{i}]", "must not be 0.0.0.0/0: the API endpoint is never open to the world")
