"""The rules that relate settings: run once per stack by its typed config's model validator (model.py),
after every section has been read and validated.

Each value is declared and checked on its own in the schema (`setting(...)` in model.py, with the
rules on one value in rules.py). What is left is what no single value can say: counts in order,
ranges inside and apart from each other, a feature that needs another. Each check runs in
`problems.relation()`, which skips it when a value it reads is itself wrong (reading it raises
`Unavailable`), so one wrong value gives one error.

`sections` maps a section's name (`network`, `faultInjection`) to what the schema read of it;
`provider` holds the provider settings the program reads (`aws:region`, "" when unset).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import model, rules
from .reader import Problems
from .schema import Parsed, valid_or_none

Sections = Mapping[str, Parsed]

# ---------------------------------------------------------------- shared checks


def check_no_overlap(problems: Problems, named: Sequence[tuple[str, ipaddress.IPv4Network | None]], context: str = "") -> None:
    """Adds one problem per overlapping pair of ranges."""
    ranges = [(k, n) for k, n in named if n is not None]
    for i, (key_a, net_a) in enumerate(ranges):
        for key_b, net_b in ranges[i + 1 :]:
            if net_a.overlaps(net_b):
                problems.add(key_a, f"range {net_a} overlaps {key_b} ({net_b}){context}")


def check_within(
    problems: Problems, key: str, net: ipaddress.IPv4Network | None, parent_key: str, parent: ipaddress.IPv4Network | None
) -> None:
    if net is not None and parent is not None and not net.subnet_of(parent):
        problems.add(key, f"range {net} is not inside {parent_key} ({parent})")


def check_counts(problems: Problems, key: str, minimum: int, desired: int, maximum: int, names: tuple[str, str, str]) -> None:
    if not minimum <= desired <= maximum:
        low, mid, high = names
        problems.add(key, f"node counts must satisfy {low} <= {mid} <= {high}; got {minimum} <= {desired} <= {maximum}")


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


def check_topics(problems: Problems, platform: Parsed) -> None:
    with problems.relation():
        if len(set(platform.kafka_topics)) != len(platform.kafka_topics):
            problems.add("crm:platform.kafkaTopics", "lists a topic twice")


def check_monitoring(problems: Problems, monitoring: Parsed) -> None:
    with problems.relation():
        if monitoring.replication_lag_seconds >= monitoring.rpo_seconds:
            problems.add(
                "crm:monitoring.replicationLagSeconds",
                f"must be below rpoSeconds ({monitoring.rpo_seconds}) so the alarm fires "
                f"before the RPO is spent, got {monitoring.replication_lag_seconds}",
            )


def check_dns(problems: Problems, common: model.Common, dns: Parsed) -> None:
    with problems.relation():
        if dns.origin_host and dns.origin_host == common.public_host:
            problems.add("crm:dns.originHost", "must differ from crm:publicHost, which the global stack's load balancer owns")


def check_application(problems: Problems, common: model.Common, app: Parsed, repositories: list[str] | None) -> None:
    """`repositories` is None when crm:registry.repositories is wrong (and reported)."""
    env = common.environment
    with problems.relation():
        if repositories and app.image_repository not in repositories:
            problems.add(
                "crm:application.imageRepository",
                f"'{app.image_repository}' is not one of crm:registry.repositories ({', '.join(repositories)})",
            )
    with problems.relation():
        if app.min_replicas > app.max_replicas:
            problems.add("crm:application.minReplicas", f"must not exceed maxReplicas ({app.max_replicas}), got {app.min_replicas}")
    with problems.relation():
        if env != "dev" and app.min_replicas < 2:
            problems.add(
                "crm:application.minReplicas",
                f"needs at least 2 outside dev, so a node drain or zone loss leaves a pod serving; got {app.min_replicas}",
            )
    with problems.relation():
        if rules.cpu(app.cpu_request) > rules.cpu(app.cpu_limit):
            problems.add("crm:application.cpuRequest", f"{app.cpu_request} exceeds cpuLimit {app.cpu_limit}")
    with problems.relation():
        if rules.memory(app.memory_request) > rules.memory(app.memory_limit):
            problems.add("crm:application.memoryRequest", f"{app.memory_request} exceeds memoryLimit {app.memory_limit}")


# ---------------------------------------------------------------- AWS stacks


def aws_zone_in_region(zone: str, region: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}[a-z]", zone) is not None


@functools.lru_cache(maxsize=1)
def trunk_instance_types() -> frozenset[str]:
    """Instance types whose nodes support security groups for pods (the list's header names its source)."""
    text = (Path(__file__).with_name("trunk_instance_types.txt")).read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def aws(problems: Problems, common: model.Common, sections: Sections, provider: Mapping[str, str]) -> None:
    env = common.environment
    region = provider["aws:region"]
    _check_aws_network(problems, sections["network"], region)

    kubernetes = sections["kubernetes"]
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

    _check_rds(problems, sections["database"], region, env)

    redis = sections["redis"]
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

    alb_name = f"{common.name_prefix}-ingress"  # the ALB's name (components/aws/alb.py): Elastic Load Balancing allows 32 characters
    if len(alb_name) > 32:
        problems.add(
            "crm:project",
            f"'{common.project}' makes the load balancer's name '{alb_name}' {len(alb_name)} characters; "
            f"Elastic Load Balancing allows 32, so the project may have at most {32 - len(alb_name) + len(common.project)} characters in {env}",
        )

    platform, network = sections["platform"], sections["network"]
    with problems.relation():
        if len(network.zones) > 0 and platform.msk_enabled and len(network.zones) < 2:
            problems.add("crm:platform.msk", "MSK needs brokers in at least two zones")
    check_topics(problems, platform)
    check_monitoring(problems, sections["monitoring"])
    check_dns(problems, common, sections["dns"])
    check_application(problems, common, sections["application"], valid_or_none(sections["registry"], "repositories"))


def _check_rds(problems: Problems, database: Parsed, region: str, env: str) -> None:
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


def _check_aws_network(problems: Problems, network: Parsed, region: str) -> None:
    with problems.relation():
        for i, zone in enumerate(network.zones):
            if region and not aws_zone_in_region(zone, region):
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


# ---------------------------------------------------------------- GCP stacks


def gcp_zone_in_region(zone: str, region: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}-[a-z]", zone) is not None


def gcp_ranges(network) -> list[tuple[str, ipaddress.IPv4Network | None]]:
    """The ranges of a GCP network (built settings, or a section as read: its wrong ranges left out)."""
    ranges = []
    for key, attribute in (
        ("subnetCidr", "subnet_cidr"),
        ("podsCidr", "pods_cidr"),
        ("servicesCidr", "services_cidr"),
        ("privateServicesCidr", "private_services_cidr"),
        ("masterCidr", "master_cidr"),
    ):
        value = valid_or_none(network, attribute) if isinstance(network, Parsed) else getattr(network, attribute)
        if value is not None:
            ranges.append((f"crm:network.{key}", value))
    return ranges


def gcp(problems: Problems, common: model.Common, sections: Sections, provider: Mapping[str, str]) -> None:
    env = common.environment
    region = provider["gcp:region"]

    network = sections["network"]
    with problems.relation():
        for i, zone in enumerate(network.zones):
            if region and not gcp_zone_in_region(zone, region):
                problems.add(f"crm:network.zones[{i}]", f"zone '{zone}' is not in region {region}")
        if not network.zones:
            problems.add("crm:network.zones", "needs at least one zone for the GKE node pool")
    check_no_overlap(problems, gcp_ranges(network))

    kubernetes = sections["kubernetes"]
    with problems.relation():
        check_counts(
            problems,
            "crm:kubernetes",
            kubernetes.min_nodes,
            kubernetes.initial_nodes,
            kubernetes.max_nodes,
            ("minNodes", "initialNodes", "maxNodes"),
        )

    database = sections["database"]
    with problems.relation():
        if database.backup_location and database.backup_location == region:
            problems.add(
                "crm:database.backupLocation",
                f"must differ from gcp:region ({region}): backups in the instance's own region do not survive its outage",
            )
    check_database_users(problems, database, {"appUsername": "app_username", "monitorUsername": "monitor_username"})

    _check_memorystore(problems, sections["redis"])

    platform = sections["platform"]
    with problems.relation():
        supported_kafka = rules.STRIMZI_KAFKA_VERSIONS.get(platform.strimzi_chart_version, ())
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

    check_monitoring(problems, sections["monitoring"])
    replication = sections["replication"]
    with problems.relation():
        if replication.enabled and not database.enabled:
            problems.add("crm:replication.enabled", "needs crm:database.enabled: the setup Job subscribes Cloud SQL to RDS")
    with problems.relation():
        if replication.enabled and not replication.tool_image:
            problems.add("crm:replication.toolImage", "is required when replication is enabled: the image built from dr/Dockerfile")
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
    check_dns(problems, common, sections["dns"])
    check_application(problems, common, sections["application"], valid_or_none(sections["registry"], "repositories"))


def _check_memorystore(problems: Problems, redis: Parsed) -> None:
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


# ---------------------------------------------------------------- the global stack


def cloudflare(problems: Problems, common: model.Common, sections: Sections, provider: Mapping[str, str]) -> None:
    balancer = sections["loadBalancer"]
    with problems.relation():
        if balancer.steering == "random" and not any(weight for _, weight in balancer.pool_weights):
            problems.add("crm:loadBalancer.poolWeights", "at least one cloud needs a weight above 0 when steering is random")
    with problems.relation():
        monitor = balancer.monitor
        if monitor.timeout_seconds * (monitor.retries + 1) >= monitor.interval_seconds:
            problems.add(
                "crm:loadBalancer.monitor.timeoutSeconds",
                f"timeoutSeconds x (retries + 1) = {monitor.timeout_seconds * (monitor.retries + 1)} s must be shorter than intervalSeconds ({monitor.interval_seconds} s), or checks overlap",
            )
        worst = monitor.health_check().detection_seconds
        if worst > balancer.rto_budget_seconds:
            problems.add(
                "crm:loadBalancer.monitor",
                f"worst-case detection is {worst} s (consecutiveDown {monitor.consecutive_down} x intervalSeconds {monitor.interval_seconds}"
                f" + (retries {monitor.retries} + 1) x timeoutSeconds {monitor.timeout_seconds}), over crm:loadBalancer.detectionBudgetSeconds ({balancer.rto_budget_seconds} s)",
            )


# ---------------------------------------------------------------- the bootstrap stack


def bootstrap(problems: Problems, common: model.Common, sections: Sections, provider: Mapping[str, str]) -> None:
    projects, token, state, github = sections["projects"], sections["cloudflareToken"], sections["state"], sections["github"]
    with problems.relation():
        environments = list(github.deploy_environments)
        if model.PRODUCTION_ENVIRONMENT not in environments or len(set(environments)) < 2:
            problems.add(
                "crm:github.deployEnvironments",
                f"needs '{model.PRODUCTION_ENVIRONMENT}' (the workflows' environment for the production stacks, the one the production "
                "deploy role trusts) and at least one other (the deploy role's)",
            )
    with problems.relation():
        if projects.create and not projects.billing_account:
            problems.add(
                "crm:projects.billingAccount", "is required when crm:projects.create is true: a project without billing cannot enable APIs"
            )
    with problems.relation():
        for key, value in (("accountId", token.account_id), ("zoneId", token.zone_id)):
            if token.create and not value:
                problems.add(
                    f"crm:cloudflareToken.{key}", "is required when crm:cloudflareToken.create is true: the token is scoped to them"
                )
    with problems.relation():
        if projects.folder_id and projects.organization_id:
            problems.add("crm:projects.folderId", "give the folder or the organization, not both (a folder already names its organization)")
    with problems.relation():
        if (state.backend == "s3" or state.secrets_provider == "awskms") and not state.aws_operators:
            problems.add(
                "crm:state.awsOperators",
                "needs the IAM role or user that runs bootstrap, or nobody outside CI could read the state or the secrets key",
            )
    with problems.relation():
        if (state.backend == "gcs" or state.secrets_provider == "gcpkms") and not state.gcp_operators:
            problems.add(
                "crm:state.gcpOperators",
                "needs the IAM member that runs bootstrap, or nobody outside CI could read the state or the secrets key",
            )
