"""Parses and validates the config of an AWS stack (`crm:cloud: aws`).

Each value is declared and checked on its own in the schema (model.py); this module relates them.
Every check runs in `problems.relation()`, which skips it when a value it reads is itself wrong,
so one wrong value gives one error.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Optional

from . import model, monitoring as monitoring_config
from .application import parse as parse_application
from .cloudflare import parse_dns
from .reader import Problems, check_counts, check_no_overlap, check_within
from .rules import LOG_RETENTION_DAYS, PRIVATE_ASN_RANGES, is_private_asn  # noqa: F401  (their home before the schema)
from .schema import Context, Parsed, Unavailable, provider_value, read, valid_or_none as _value


def zone_in_region(zone: str, region: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}[a-z]", zone) is not None


def parse(problems: Problems, common: model.Common, raw: dict, context: Context) -> Optional[model.AwsStackConfig]:
    env = common.environment
    region = provider_value(raw, "aws:region")

    network = read(problems, "crm:network", raw.get("crm:network"), model.AwsNetworkSettings, context)
    _check_network(problems, network, region)

    kubernetes = read(problems, "crm:kubernetes", raw.get("crm:kubernetes"), model.Eks, context)
    with problems.relation():
        check_counts(
            problems,
            "crm:kubernetes",
            kubernetes.min_size,
            kubernetes.desired_size,
            kubernetes.max_size,
            ("minSize", "desiredSize", "maxSize"),
        )
    with problems.relation():
        if kubernetes.pod_security_groups and kubernetes.instance_type not in trunk_instance_types():
            problems.add(
                "crm:kubernetes.instanceType",
                f"'{kubernetes.instance_type}' cannot give pods their own security groups (no trunk ENI: "
                "burstable t2/t3 and older types); pick a type such as m6i.large, or set crm:kubernetes.podSecurityGroups: false",
            )
    with problems.relation():
        if kubernetes.public_endpoint and not kubernetes.public_access_cidrs:
            problems.add(
                "crm:kubernetes.publicAccessCidrs",
                "must list the networks allowed to reach the public API endpoint when publicEndpoint is true",
            )

    database = read(problems, "crm:database", raw.get("crm:database"), model.RdsPostgres, context)
    _check_database(problems, database, region, env)

    redis = read(problems, "crm:redis", raw.get("crm:redis"), model.ElastiCacheRedis, context)
    with problems.relation():
        if redis.cluster_mode and env != "dev" and redis.replicas_per_shard < 1:
            problems.add(
                "crm:redis.replicasPerShard",
                "must be at least 1 outside dev: cluster mode fails over automatically, which needs a replica in each shard",
            )
    with problems.relation():
        if not redis.cluster_mode and (redis.given("shards") or redis.given("replicasPerShard")):
            problems.add(
                "crm:redis.clusterMode",
                "shards and replicasPerShard apply only with clusterMode: true (without it, crm:redis.nodes sets the size)",
            )

    ingress = read(problems, "crm:ingress", raw.get("crm:ingress"), model.Ingress, context)
    registry = parse_registry(problems, raw, context)
    alb_name = f"{common.name_prefix}-ingress"  # the ALB's name (components/aws/alb.py): Elastic Load Balancing allows 32 characters
    if len(alb_name) > 32:
        problems.add(
            "crm:project",
            f"'{common.project}' makes the load balancer's name '{alb_name}' {len(alb_name)} characters; "
            f"Elastic Load Balancing allows 32, so the project may have at most {32 - len(alb_name) + len(common.project)} characters in {env}",
        )

    interconnect = None
    if raw.get("crm:interconnect") is not None:
        interconnect = read(problems, "crm:interconnect", raw.get("crm:interconnect"), model.AwsInterconnect, context)

    platform = read(problems, "crm:platform", raw.get("crm:platform"), model.AwsPlatform, context)
    with problems.relation():
        if len(network.zones) > 0 and platform.msk_enabled and len(network.zones) < 2:
            problems.add("crm:platform.msk", "MSK needs brokers in at least two zones")
    check_topics(problems, platform)
    rotation = read(problems, "crm:rotation", raw.get("crm:rotation"), model.Rotation, context)
    ci = read(problems, "crm:ci", raw.get("crm:ci"), model.DeployRunnerSettings, context)
    fault_injection = read(problems, "crm:faultInjection", raw.get("crm:faultInjection"), model.FaultInjectionSettings, context)

    monitoring = monitoring_config.parse(problems, common, raw, context, cloud="aws")
    dns = parse_dns(problems, common, raw, context)

    application = parse_application(
        problems, raw, context, _value(registry, "repositories"), health_path=_value(ingress, "health_check_path") or Unavailable
    )
    try:
        rds = database.build()
        if not rds.logical_replication:
            rds = dataclasses.replace(rds, max_slot_wal_keep_size_gb=0)  # no slot to bound
        return model.AwsStackConfig(
            common,
            region,
            network.build(),
            kubernetes.build(),
            rds,
            redis.build(),
            ingress.build(),
            registry.build(),
            interconnect.build() if interconnect is not None else None,
            platform.build(),
            monitoring=monitoring.build(),
            application=application.build(),
            dns=dns.build(api_token=raw.get("cloudflare:apiToken") or None),
            rotation=rotation.build(),
            ci=ci.build(),
            fault_injection=fault_injection.build(),
        )
    except Unavailable:
        return None


def _check_database(problems: Problems, database: Parsed, region: str, env: str) -> None:
    with problems.relation():
        if database.logical_replication and database.max_slot_wal_keep_size_gb >= database.allocated_storage_gb:
            problems.add(
                "crm:database.maxSlotWalKeepSizeGb",
                f"must be below allocatedStorage ({database.allocated_storage_gb} GB): WAL kept for a dead "
                f"subscriber must never fill the disk, got {database.max_slot_wal_keep_size_gb}",
            )
    with problems.relation():
        if database.backup_copy_region and region and database.backup_copy_region == region:
            problems.add(
                "crm:database.backupCopyRegion",
                f"must differ from aws:region ({region}): a copy in the same region does not survive its outage",
            )
    with problems.relation():
        if database.enabled and database.backup_copy_region and database.backup_retention_days < 1:
            problems.add(
                "crm:database.backupCopyRegion",
                "needs crm:database.backupRetentionDays of at least 1: only automated backups are replicated",
            )
    check_database_users(
        problems,
        database,
        {"appUsername": "app_username", "replicationUsername": "replication_username", "monitorUsername": "monitor_username"},
    )
    with problems.relation():
        if 0 < database.max_allocated_storage_gb < database.allocated_storage_gb:
            problems.add(
                "crm:database.maxAllocatedStorage",
                f"must be 0 (autoscaling off) or at least allocatedStorage ({database.allocated_storage_gb}), got {database.max_allocated_storage_gb}",
            )
    with problems.relation():
        if database.enabled and env != "dev" and database.backup_retention_days < 1:
            problems.add(
                "crm:database.backupRetentionDays",
                "must be at least 1 outside dev: automated backups are what point-in-time recovery restores from",
            )


def check_database_users(problems: Problems, database: Parsed, users: dict[str, str]) -> None:
    """The application's and replication's roles are their own, never the admin user (each a valid identifier already)."""
    seen: dict[str, str] = {}
    for key, attribute in users.items():
        with problems.relation():
            role = getattr(database, attribute)
            if role == database.username:
                problems.add(
                    f"crm:database.{key}", f"'{role}' is the admin user (crm:database.username); the application gets its own role"
                )
            elif role in seen:
                problems.add(f"crm:database.{key}", f"'{role}' is also crm:database.{seen[role]}; each role has one purpose")
            seen[role] = key


@functools.lru_cache(maxsize=1)
def trunk_instance_types() -> frozenset[str]:
    """Instance types whose nodes support security groups for pods (the list's header names its source)."""
    text = (Path(__file__).with_name("trunk_instance_types.txt")).read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_topics(problems: Problems, platform: Parsed) -> None:
    with problems.relation():
        if len(set(platform.kafka_topics)) != len(platform.kafka_topics):
            problems.add("crm:platform.kafkaTopics", "lists a topic twice")


def parse_registry(problems: Problems, raw: dict, context: Context) -> Parsed:
    return read(problems, "crm:registry", raw.get("crm:registry"), model.Registry, context)


def _check_network(problems: Problems, network: Parsed, region: str) -> None:
    with problems.relation():
        for i, zone in enumerate(network.zones):
            if region and not zone_in_region(zone, region):
                problems.add(f"crm:network.zones[{i}]", f"zone '{zone}' is not in region {region}")
        if len(network.zones) < 2:
            problems.add("crm:network.zones", f"needs at least two zones (RDS and EKS span two), got {len(network.zones)}")
        if len(set(network.zones)) != len(network.zones):
            problems.add("crm:network.zones", "lists a zone twice")
    named = []
    for tier, attribute in (("publicSubnets", "public_subnets"), ("privateSubnets", "private_subnets"), ("dataSubnets", "data_subnets")):
        with problems.relation():
            subnets = getattr(network, attribute)
            with problems.relation():
                if len(subnets) != len(network.zones):
                    problems.add(f"crm:network.{tier}", f"needs one subnet per zone ({len(network.zones)}), got {len(subnets)}")
            for i, subnet in enumerate(subnets):
                key = f"crm:network.{tier}[{i}]"
                with problems.relation():
                    check_within(problems, key, subnet, "crm:network.cidr", network.cidr)
                named.append((key, subnet))
    check_no_overlap(problems, named)
