"""Parses and validates the config of a GCP stack (`crm:cloud: gcp`).

Each value is declared and checked on its own in the schema (model.py); this module relates them,
each check skipped when a value it reads is itself wrong (one wrong value, one error).
"""

from __future__ import annotations

import re
from typing import Optional

from . import model, monitoring as monitoring_config
from .application import parse as parse_application
from .aws import check_database_users, check_topics, parse_registry
from .cloudflare import parse_dns
from .reader import Problems, check_counts, check_no_overlap
from .rules import KAFKA_DEFAULT, RELEASE_CHANNELS as _RELEASE_CHANNELS, STRIMZI_DEFAULT, STRIMZI_KAFKA_VERSIONS  # noqa: F401  (their home before the schema)
from .schema import Context, Parsed, Unavailable, provider_value, read, valid_or_none as _value


def zone_in_region(zone: str, region: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}-[a-z]", zone) is not None


def parse(problems: Problems, common: model.Common, raw: dict, context: Context) -> Optional[model.GcpStackConfig]:
    env = common.environment
    project_id = provider_value(raw, "gcp:project")
    region = provider_value(raw, "gcp:region")

    network = read(problems, "crm:network", raw.get("crm:network"), model.GcpNetworkSettings, context)
    with problems.relation():
        for i, zone in enumerate(network.zones):
            if region and not zone_in_region(zone, region):
                problems.add(f"crm:network.zones[{i}]", f"zone '{zone}' is not in region {region}")
        if not network.zones:
            problems.add("crm:network.zones", "needs at least one zone for the GKE node pool")
    check_no_overlap(problems, gcp_ranges(network))

    kubernetes = read(problems, "crm:kubernetes", raw.get("crm:kubernetes"), model.Gke, context)
    with problems.relation():
        check_counts(
            problems,
            "crm:kubernetes",
            kubernetes.min_nodes,
            kubernetes.initial_nodes,
            kubernetes.max_nodes,
            ("minNodes", "initialNodes", "maxNodes"),
        )

    database = read(problems, "crm:database", raw.get("crm:database"), model.CloudSqlSettings, context)
    with problems.relation():
        if database.backup_location and database.backup_location == region:
            problems.add(
                "crm:database.backupLocation",
                f"must differ from gcp:region ({region}): backups in the instance's own region do not survive its outage",
            )
    check_database_users(problems, database, {"appUsername": "app_username", "monitorUsername": "monitor_username"})

    redis = read(problems, "crm:redis", raw.get("crm:redis"), model.MemorystoreSettings, context)
    _check_redis(problems, redis)

    registry = parse_registry(problems, raw, context)

    interconnect = None
    if raw.get("crm:interconnect") is not None:
        interconnect = read(problems, "crm:interconnect", raw.get("crm:interconnect"), model.GcpInterconnect, context)

    platform = read(problems, "crm:platform", raw.get("crm:platform"), model.GcpPlatform, context)
    with problems.relation():
        supported_kafka = STRIMZI_KAFKA_VERSIONS.get(platform.strimzi_chart_version, ())
        if supported_kafka and platform.kafka_version not in supported_kafka:
            problems.add(
                "crm:platform.kafkaVersion",
                f"Strimzi {platform.strimzi_chart_version} runs Kafka {', '.join(supported_kafka)}; got '{platform.kafka_version}'",
            )
    with problems.relation():
        if env != "dev" and platform.kafka_brokers < 3:
            problems.add(
                "crm:platform.kafkaBrokers", f"needs at least 3 brokers outside dev (replication factor 3), got {platform.kafka_brokers}"
            )

    check_topics(problems, platform)
    rotation = read(problems, "crm:rotation", raw.get("crm:rotation"), model.Rotation, context)

    monitoring = monitoring_config.parse(problems, common, raw, context, cloud="gcp")
    replication = monitoring_config.parse_replication(
        problems, common, raw, context, interconnect=interconnect is not None, database=database
    )
    # Binary Authorization admits these by name (components/gcp/binary_authorization.py): the name must carry its registry.
    for key, section, attribute, used in (
        ("crm:database.clientImage", database, "client_image", "enabled"),
        ("crm:replication.toolImage", replication, "tool_image", "enabled"),
    ):
        with problems.relation():
            image = getattr(section, attribute)
            if getattr(section, used) and image and ("/" not in image or "*" in image):
                problems.add(
                    key,
                    f"must name its registry and path (e.g. docker.io/library/postgres:15-alpine) for Binary Authorization's allowlist, got '{image}'",
                )
    ingress = read(problems, "crm:ingress", raw.get("crm:ingress"), model.GcpIngress, context)
    dns = parse_dns(problems, common, raw, context)

    application = parse_application(problems, raw, context, _value(registry, "repositories"))
    try:
        return model.GcpStackConfig(
            common,
            project_id,
            region,
            network.build(),
            kubernetes.build(),
            database.build(),
            redis.build(),
            registry.build(),
            interconnect.build() if interconnect is not None else None,
            platform.build(),
            monitoring.build(),
            replication.build(),
            application=application.build(),
            dns=dns.build(api_token=raw.get("cloudflare:apiToken") or None),
            ingress=ingress.build(),
            rotation=rotation.build(),
        )
    except Unavailable:
        return None


def gcp_ranges(network) -> list[tuple[str, object]]:
    """The ranges of a GCP network (a built GcpNetworkSettings, or a section being read: its wrong ranges left out)."""
    ranges = []
    for key, attribute in (
        ("subnetCidr", "subnet_cidr"),
        ("podsCidr", "pods_cidr"),
        ("servicesCidr", "services_cidr"),
        ("privateServicesCidr", "private_services_cidr"),
        ("masterCidr", "master_cidr"),
    ):
        value = _value(network, attribute) if isinstance(network, Parsed) else getattr(network, attribute)
        if value is not None:
            ranges.append((f"crm:network.{key}", value))
    return ranges


def _check_redis(problems: Problems, redis: Parsed) -> None:
    with problems.relation():
        if redis.tier == "BASIC" and redis.replica_count:
            problems.add("crm:redis.replicaCount", "the BASIC tier has no replicas; use tier STANDARD_HA")
    with problems.relation():
        if redis.tier == "STANDARD_HA":
            if redis.read_replicas and redis.memory_size_gb < 5:
                problems.add(
                    "crm:redis.readReplicas", f"Memorystore read replicas need at least 5 GB; memorySizeGb is {redis.memory_size_gb}"
                )
            if redis.read_replicas and not 1 <= redis.replica_count <= 5:
                problems.add("crm:redis.replicaCount", f"must be 1-5 with read replicas, got {redis.replica_count}")
            if not redis.read_replicas and redis.replica_count != 1:
                problems.add(
                    "crm:redis.replicaCount",
                    f"without read replicas STANDARD_HA keeps exactly one standby replica; got {redis.replica_count}",
                )
