"""Parses and validates the config of a GCP stack (`crm:cloud: gcp`)."""
from __future__ import annotations

import re

from components.interconnect import addressing

from . import model, monitoring as monitoring_config, sizes
from .application import parse as parse_application
from .aws import check_database_users, parse_registry
from .cloudflare import parse_dns
from .reader import Problems, Section, check_counts, check_no_overlap, parse_cidr

_RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")
_TIER = re.compile(r"^db-(custom-\d+-\d+|perf-optimized-N-\d+|f1-micro|g1-small)$")
# Strimzi releases this program is written for, and the Kafka versions each supports (the release's
# kafka-versions.yaml, entries with `supported: true`). Strimzi 1.x serves only the kafka.strimzi.io/v1
# API and supports Kubernetes 1.30 and newer (CHANGELOG, 0.51.0); 0.45.0 does not start on 1.33+.
STRIMZI_KAFKA_VERSIONS = {"1.2.0": ("4.2.0", "4.2.1", "4.3.0", "4.3.1")}
STRIMZI_DEFAULT, KAFKA_DEFAULT = "1.2.0", "4.3.1"


def zone_in_region(zone: str, region: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}-[a-z]", zone) is not None


def parse(problems: Problems, common: model.Common, raw: dict) -> model.GcpStackConfig:
    env = common.environment
    row = sizes.GCP.get(env, sizes.GCP["production"])
    project_id = raw.get("gcp:project") or ""
    region = raw.get("gcp:region") or ""
    if not project_id:
        problems.add("gcp:project", "is required but not set")
    if not region:
        problems.add("gcp:region", "is required but not set")

    net = Section(problems, "crm:network", raw.get("crm:network"))
    network = model.GcpNetwork(
        name=net.string("name", f"{common.project}-{env}"),
        subnet_cidr=net.network("subnetCidr"),
        pods_cidr=net.network("podsCidr"),
        services_cidr=net.network("servicesCidr"),
        private_services_cidr=net.network("privateServicesCidr"),
        master_cidr=net.network("masterCidr", "172.16.0.0/28"),
        zones=net.strings("zones"),
    )
    net.finish()
    for i, zone in enumerate(network.zones):
        if region and not zone_in_region(zone, region):
            problems.add(f"crm:network.zones[{i}]", f"zone '{zone}' is not in region {region}")
    if not network.zones:
        problems.add("crm:network.zones", "needs at least one zone for the GKE node pool")
    if network.master_cidr is not None and network.master_cidr.prefixlen != 28:
        problems.add("crm:network.masterCidr", f"GKE needs a /28 for the control plane, got {network.master_cidr}")
    if network.private_services_cidr is not None and network.private_services_cidr.prefixlen > 24:
        problems.add("crm:network.privateServicesCidr", f"private services access needs at least a /24, got {network.private_services_cidr}")
    check_no_overlap(problems, gcp_ranges(network))

    k8s = Section(problems, "crm:kubernetes", raw.get("crm:kubernetes"))
    k8s_row = row["kubernetes"]
    kubernetes = model.Gke(
        release_channel=k8s.string("releaseChannel", "REGULAR", choices=_RELEASE_CHANNELS),
        machine_type=k8s.string("machineType", k8s_row["machineType"]),
        min_nodes=k8s.integer("minNodes", k8s_row["minNodes"], minimum=0, maximum=1000),
        initial_nodes=k8s.integer("initialNodes", k8s_row["initialNodes"], minimum=1, maximum=1000),
        max_nodes=k8s.integer("maxNodes", k8s_row["maxNodes"], minimum=1, maximum=1000),
        disk_size_gb=k8s.integer("diskSizeGb", k8s_row["diskSizeGb"], minimum=10, maximum=65536),
        authorized_networks=k8s.networks("authorizedNetworks", []),
    )
    k8s.finish()
    check_counts(problems, "crm:kubernetes", kubernetes.min_nodes, kubernetes.initial_nodes, kubernetes.max_nodes, ("minNodes", "initialNodes", "maxNodes"))
    # Pulumi reaches the cluster through its DNS endpoint (IAM-checked), so the deploy needs no entry
    # here; the list only opens the IP endpoint to people's kubectl, and may be empty.
    for i, cidr in enumerate(kubernetes.authorized_networks):
        if cidr.prefixlen == 0:
            problems.add(f"crm:kubernetes.authorizedNetworks[{i}]", "must not be 0.0.0.0/0: the control plane is never open to the world")

    db = Section(problems, "crm:database", raw.get("crm:database"))
    db_row = row["database"]
    database = model.CloudSqlPostgres(
        enabled=db.boolean("enabled", db_row["enabled"]),
        database_version=db.string("databaseVersion", "POSTGRES_15", choices=("POSTGRES_15",)),
        tier=db.string("tier", db_row["tier"]),
        disk_size_gb=db.integer("diskSizeGb", db_row["diskSizeGb"], minimum=10, maximum=65536),
        disk_type=db.string("diskType", "PD_SSD", choices=("PD_SSD", "PD_HDD")),
        availability=db.string("availability", db_row["availability"], choices=("REGIONAL", "ZONAL")),
        backup_retention_count=db.integer("backupRetentionCount", db_row["backupRetentionCount"], minimum=1, maximum=365),
        deletion_protection=db.boolean("deletionProtection", db_row["deletionProtection"]),
        logical_decoding=db.boolean("logicalDecoding", env == "dr"),
        database_name=db.string("name", "crm"),
        username=db.string("username", "crmadmin"),
        backup_location=db.string("backupLocation", sizes.BACKUPS.get(env, sizes.BACKUPS["production"])["cloudSqlLocation"]),
        app_username=db.string("appUsername", "crm_app"),
        client_image=db.string("clientImage", model.CloudSqlPostgres.client_image),
    )
    db.finish()
    if database.backup_location and not re.fullmatch(r"(asia|eu|us)|[a-z]+-[a-z]+\d", database.backup_location):
        problems.add("crm:database.backupLocation", f"must be a GCP region such as asia-northeast1 or a multi-region (asia, eu, us), got '{database.backup_location}'")
    elif database.backup_location == region:
        problems.add("crm:database.backupLocation", f"must differ from gcp:region ({region}): backups in the instance's own region do not survive its outage")
    check_database_users(problems, database.username, {"appUsername": database.app_username})
    if not _TIER.match(database.tier):
        problems.add("crm:database.tier", f"'{database.tier}' is not a Cloud SQL PostgreSQL tier such as db-custom-4-15360")

    rd = Section(problems, "crm:redis", raw.get("crm:redis"))
    rd_row = row["redis"]
    memory = rd.integer("memorySizeGb", rd_row["memorySizeGb"], minimum=1, maximum=300)
    redis = model.MemorystoreRedis(
        enabled=rd.boolean("enabled", rd_row["enabled"]),
        tier=rd.string("tier", rd_row["tier"], choices=("BASIC", "STANDARD_HA")),
        memory_size_gb=memory,
        replica_count=rd.integer("replicaCount", rd_row["replicaCount"], minimum=0, maximum=5),
        read_replicas=rd.boolean("readReplicas", memory >= 5 and rd_row["replicaCount"] > 1),
        redis_version=rd.string("version", "REDIS_7_0", choices=("REDIS_7_0", "REDIS_7_2")),
        rdb_snapshot_period=rd.string("rdbSnapshotPeriod", "SIX_HOURS", choices=("ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS")),
    )
    rd.finish()
    _check_redis(problems, redis)

    registry = parse_registry(problems, raw)

    interconnect = None
    if raw.get("crm:interconnect") is not None:
        ic = Section(problems, "crm:interconnect", raw.get("crm:interconnect"))
        block = ic.network("insideCidrBlock", "169.254.10.0/28")
        router_asn = ic.integer("routerAsn", 65010)
        interconnect = model.GcpInterconnect(
            peer_stack=ic.string("peerStack"),
            router_asn=router_asn,
            inside_cidrs=addressing.plan_inside_cidrs(block) if block else [],
        )
        ic.finish()
        if block is not None:
            if block.prefixlen > 28:
                problems.add("crm:interconnect.insideCidrBlock", f"needs room for four /30s (a /28 or larger), got {block}")
            else:
                for message in addressing.inside_cidr_problems(interconnect.inside_cidrs):
                    problems.add("crm:interconnect.insideCidrBlock", message)
        for message in addressing.asn_problems(router_asn, role="Cloud Router"):
            problems.add("crm:interconnect.routerAsn", message)

    pf = Section(problems, "crm:platform", raw.get("crm:platform"))
    platform = model.GcpPlatform(
        aws_stack=pf.string("awsStack", "aws-dr" if env == "dr" else ""),
        kafka_brokers=pf.integer("kafkaBrokers", 3, minimum=1, maximum=9),
        strimzi_chart_version=pf.string("strimziChartVersion", STRIMZI_DEFAULT, choices=tuple(STRIMZI_KAFKA_VERSIONS)),
        kafka_version=pf.string("kafkaVersion", KAFKA_DEFAULT),
        app_namespace=pf.string("appNamespace", "crm"),
        app_service_account=pf.string("appServiceAccount", "crm-app"),
    )
    pf.finish()
    supported_kafka = STRIMZI_KAFKA_VERSIONS.get(platform.strimzi_chart_version, ())
    if supported_kafka and platform.kafka_version not in supported_kafka:
        problems.add("crm:platform.kafkaVersion", f"Strimzi {platform.strimzi_chart_version} runs Kafka {', '.join(supported_kafka)}; "
                     f"got '{platform.kafka_version}'")
    if env != "dev" and platform.kafka_brokers < 3:
        problems.add("crm:platform.kafkaBrokers", f"needs at least 3 brokers outside dev (replication factor 3), got {platform.kafka_brokers}")

    monitoring = monitoring_config.parse(problems, common, raw, cloud="gcp")
    replication = monitoring_config.parse_replication(
        problems, common, raw, default_enabled=interconnect is not None and database.logical_decoding, database_enabled=database.enabled,
    )
    # Binary Authorization admits these by name (components/gcp/binary_authorization.py): the name must carry its registry.
    for key, image, used in (("crm:database.clientImage", database.client_image, database.enabled),
                             ("crm:replication.toolImage", replication.tool_image if replication else "", bool(replication and replication.enabled))):
        if used and image and ("/" not in image or "*" in image):
            problems.add(key, f"must name its registry and path (e.g. docker.io/library/postgres:15-alpine) for Binary Authorization's allowlist, got '{image}'")
    ing = Section(problems, "crm:ingress", raw.get("crm:ingress"))
    ingress = model.GcpIngress(
        allowed_cidrs=ing.strings("allowedCidrs", []),  # empty: Cloudflare's ranges, read from its API at deploy
    )
    ing.finish()
    for i, cidr in enumerate(ingress.allowed_cidrs):
        net_ = parse_cidr(problems, f"crm:ingress.allowedCidrs[{i}]", cidr)
        if net_ is not None and net_.prefixlen == 0:
            problems.add(f"crm:ingress.allowedCidrs[{i}]", "must not be 0.0.0.0/0: the load balancer admits only Cloudflare")
    dns = parse_dns(problems, common, raw)

    application = parse_application(problems, raw, env, registry.repositories)
    return model.GcpStackConfig(common, project_id, region, network, kubernetes, database, redis, registry, interconnect, platform,
                                monitoring, replication, application=application, dns=dns, ingress=ingress)


def gcp_ranges(network: model.GcpNetwork) -> list[tuple[str, object]]:
    return [
        ("crm:network.subnetCidr", network.subnet_cidr),
        ("crm:network.podsCidr", network.pods_cidr),
        ("crm:network.servicesCidr", network.services_cidr),
        ("crm:network.privateServicesCidr", network.private_services_cidr),
        ("crm:network.masterCidr", network.master_cidr),
    ]


def _check_redis(problems: Problems, redis: model.MemorystoreRedis) -> None:
    if redis.tier == "BASIC" and redis.replica_count:
        problems.add("crm:redis.replicaCount", "the BASIC tier has no replicas; use tier STANDARD_HA")
    if redis.tier == "STANDARD_HA":
        if redis.read_replicas and redis.memory_size_gb < 5:
            problems.add("crm:redis.readReplicas", f"Memorystore read replicas need at least 5 GB; memorySizeGb is {redis.memory_size_gb}")
        if redis.read_replicas and not 1 <= redis.replica_count <= 5:
            problems.add("crm:redis.replicaCount", f"must be 1-5 with read replicas, got {redis.replica_count}")
        if not redis.read_replicas and redis.replica_count != 1:
            problems.add("crm:redis.replicaCount", f"without read replicas STANDARD_HA keeps exactly one standby replica; got {redis.replica_count}")
