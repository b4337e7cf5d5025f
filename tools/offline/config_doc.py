"""`python -m tools.offline.config_doc`: every `crm:*` setting the config layer reads, per kind of stack.

The list is recorded from the parsers themselves (stacks/config/): each kind of stack is parsed
once per environment with nothing set, and every key a parser reads is noted with the default it
falls back to. `docs/configuration.md` carries the output; tests/docs/test_configuration.py fails
when a key is missing from it.
"""
from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from stacks import config as config_layer
from stacks.config import cost, model
from stacks.config.reader import Problems, Section, _MISSING

KINDS = ("aws", "gcp", "cloudflare", "bootstrap")
TITLES = {"aws": "AWS stacks (`crm:cloud: aws`)", "gcp": "GCP stacks (`crm:cloud: gcp`)",
          "cloudflare": "Global stack (`crm:cloud: cloudflare`)", "bootstrap": "Bootstrap stack (`crm:cloud: bootstrap`)"}
ENVIRONMENTS = ("dev", "staging", "production", "dr")
# Settings outside the `crm` namespace that each program reads.
PROVIDER_KEYS = {
    "aws": ("aws:region",),
    "gcp": ("gcp:project", "gcp:region"),
    "cloudflare": ("cloudflare:apiToken",),
    "bootstrap": ("aws:region", "gcp:project", "gcp:region"),
}
# Top-level keys read without a Section, with their defaults.
_PLAIN = {
    "crm:cloud": "(required)",
    "crm:environment": "(required)",
    "crm:project": "crm",
    "crm:organization": "organization",
    "crm:publicHost": "(required)",
    "crm:deployProjects": "[gcp:project]",
}
# Sections a parser reads only when they are present in the stack file.
_OPTIONAL_SECTIONS = ("crm:interconnect", "crm:budget")
# Stands for crm:publicHost while recording; defaults derived from it print as <publicHost>.
_HOST = "publichost.invalid"

# One line per key (without the `crm:` prefix); a key that differs by cloud is written `<cloud>/<key>`.
DESCRIPTIONS = {
    "aws:region": "AWS region of the stack",
    "gcp:project": "GCP project of the stack",
    "gcp:region": "GCP region of the stack",
    "cloudflare:apiToken": "Cloudflare API token (`pulumi config set --secret`)",
    "cloud": "`aws`, `gcp`, `cloudflare` or `bootstrap`: picks the program",
    "environment": "`dev`, `staging`, `production` or `dr`: picks the defaults; everything but dev is protected",
    "project": "prefix of resource names",
    "organization": "Pulumi organization of StackReferences",
    "publicHost": "the application's public host name (crm.example.com)",
    "deployProjects": "GCP projects CI's deploy identity may deploy to",
    "network.cidr": "VPC range",
    "network.zones": "zones, at least two, in the region",
    "network.publicSubnets": "one public subnet per zone, inside the VPC (ALB, NAT)",
    "network.privateSubnets": "one private subnet per zone (nodes, pods)",
    "network.dataSubnets": "one data subnet per zone (RDS, ElastiCache)",
    "network.natGateways": "`one-per-zone` or `single`",
    "network.flowLogRetentionDays": "VPC flow log retention (1-3653)",
    "network.name": "VPC name",
    "network.subnetCidr": "nodes' subnet",
    "network.podsCidr": "GKE pods' secondary range",
    "network.servicesCidr": "GKE services' secondary range",
    "network.privateServicesCidr": "private services access range for Cloud SQL and Memorystore (/24 or larger)",
    "network.masterCidr": "GKE control plane /28",
    "kubernetes.version": "EKS Kubernetes minor",
    "kubernetes.instanceType": "EKS node group instance type",
    "kubernetes.minSize": "node group minimum (min <= desired <= max, 0-450)",
    "kubernetes.desiredSize": "node group initial size",
    "kubernetes.maxSize": "node group maximum",
    "aws/kubernetes.diskSizeGb": "node disk size",
    "gcp/kubernetes.diskSizeGb": "node disk size",
    "kubernetes.publicEndpoint": "open the EKS API endpoint publicly (to publicAccessCidrs only)",
    "kubernetes.publicAccessCidrs": "networks allowed to the public endpoint; never 0.0.0.0/0",
    "kubernetes.adminPrincipals": "IAM ARNs given cluster-admin access entries",
    "kubernetes.releaseChannel": "GKE release channel",
    "kubernetes.machineType": "GKE node machine type",
    "kubernetes.minNodes": "node pool minimum, total across zones",
    "kubernetes.initialNodes": "node pool initial size, total across zones",
    "kubernetes.maxNodes": "node pool maximum, total across zones",
    "kubernetes.authorizedNetworks": "ranges for kubectl on the IP endpoint (deploys use the DNS endpoint); never 0.0.0.0/0",
    "database.enabled": "create the database",
    "database.allocatedStorage": "RDS storage, GB (20-65536)",
    "database.maxAllocatedStorage": "storage autoscaling ceiling, GB (0: off)",
    "database.instanceClass": "RDS instance class",
    "database.engineVersion": "PostgreSQL version (15)",
    "database.multiAz": "RDS Multi-AZ",
    "database.backupRetentionDays": "automated backups kept, days (0-35, at least 1 outside dev)",
    "aws/database.deletionProtection": "RDS deletion protection",
    "gcp/database.deletionProtection": "Cloud SQL deletion protection",
    "database.name": "database name",
    "database.username": "admin user (its password is generated)",
    "database.logicalReplication": "`rds.logical_replication` on (the publisher of the GCP copy)",
    "database.logRetentionDays": "RDS PostgreSQL log groups' retention, a CloudWatch Logs value",
    "database.backupCopyRegion": "region automated backups are copied to (empty: none)",
    "database.restoreTesting": "AWS Backup restore testing of the database",
    "database.appUsername": "the application's own database role",
    "database.replicationUsername": "the role Cloud SQL subscribes as",
    "database.clientImage": "PostgreSQL client image of the role Job",
    "database.maxSlotWalKeepSizeGb": "WAL a replication slot may hold, GB (below allocatedStorage)",
    "database.databaseVersion": "Cloud SQL version",
    "database.tier": "Cloud SQL machine tier",
    "database.diskSizeGb": "Cloud SQL disk, GB",
    "database.diskType": "`PD_SSD` or `PD_HDD`",
    "database.availability": "`REGIONAL` (HA) or `ZONAL`",
    "database.backupRetentionCount": "backups kept (1-365)",
    "database.logicalDecoding": "`cloudsql.logical_decoding` on",
    "database.backupLocation": "location backups are stored in",
    "redis.enabled": "create the cache",
    "redis.nodeType": "ElastiCache node type",
    "redis.nodes": "nodes without cluster mode (1-6)",
    "redis.engineVersion": "Redis 7.x version",
    "redis.snapshotRetentionDays": "snapshots kept, days (0-35)",
    "redis.clusterMode": "ElastiCache cluster mode (sharded)",
    "redis.shards": "shards in cluster mode",
    "redis.replicasPerShard": "replicas per shard in cluster mode (at least 1 outside dev)",
    "redis.memorySizeGb": "Memorystore size, GB (1-300)",
    "redis.tier": "`BASIC` or `STANDARD_HA`",
    "redis.replicaCount": "Memorystore replicas",
    "redis.readReplicas": "serve reads from replicas (needs 5 GB or more)",
    "redis.version": "Memorystore Redis version",
    "redis.rdbSnapshotPeriod": "RDB persistence period",
    "ingress.certificateArn": "an existing ACM certificate (empty: the stack requests and validates one)",
    "aws/ingress.allowedCidrs": "ranges the ALB admits; empty: Cloudflare's IPv4 ranges, read from Cloudflare's API at every deploy; never 0.0.0.0/0",
    "gcp/ingress.allowedCidrs": "ranges Cloud Armor admits; empty: Cloudflare's IPv4 ranges, read from Cloudflare's API at every deploy; never 0.0.0.0/0",
    "ingress.healthCheckPath": "ALB target group health check path",
    "registry.repositories": "ECR repositories",
    "aws/registry.keepImages": "images each repository keeps",
    "gcp/registry.keepImages": "images Artifact Registry cleanup keeps",
    "interconnect.peerStack": "the other cloud's end of the VPN; section only in the DR stacks",
    "interconnect.amazonSideAsn": "VGW's private ASN (differs from the Cloud Router's)",
    "interconnect.routerAsn": "Cloud Router's private ASN",
    "interconnect.insideCidrBlock": "block the four tunnels' /30s come from (/28 or larger in 169.254.0.0/16)",
    "platform.mail": "SES identity, configuration set, events and webhooks",
    "platform.mailDomain": "SES domain",
    "platform.webhookHosts": "hosts subscribed to SES events (`https://<host>/api/webhooks/ses`)",
    "platform.msk": "MSK cluster",
    "platform.mskInstanceType": "MSK broker type",
    "platform.mskVolumeGb": "MSK broker volume, GB",
    "platform.appNamespace": "the application's Kubernetes namespace",
    "platform.appServiceAccount": "the application's Kubernetes service account (IRSA / Workload Identity)",
    "platform.awsStack": "the AWS stack whose mail, scheduler and writer database GCP uses",
    "platform.kafkaBrokers": "Kafka nodes on GKE (at least 3 outside dev)",
    "platform.strimziChartVersion": "Strimzi operator chart version (a release the program knows)",
    "platform.kafkaVersion": "Kafka version (one the Strimzi release runs)",
    "monitoring.emails": "who receives alarms and budget alerts",
    "monitoring.rpoSeconds": "recovery point objective",
    "monitoring.replicationLagSeconds": "replication lag alarm (below rpoSeconds)",
    "monitoring.latencyP95Ms": "p95 latency alarm",
    "monitoring.cpuPercent": "database and node CPU alarm",
    "monitoring.freeStoragePercent": "RDS free storage alarm, % of allocated",
    "monitoring.diskPercent": "Cloud SQL disk utilization alarm",
    "monitoring.databaseConnections": "database connections alarm",
    "monitoring.slotWalAlarmPercent": "slot WAL alarm, % of maxSlotWalKeepSizeGb",
    "monitoring.walBytesPerSecond": "the primary's WAL rate, turns slot-lag bytes into seconds",
    "monitoring.cacheCpuPercent": "cache CPU alarm",
    "monitoring.cacheMemoryPercent": "cache memory alarm",
    "monitoring.cacheReplicationLagSeconds": "cache replication lag alarm",
    "monitoring.http5xxPerMinute": "load balancer 5xx alarm",
    "monitoring.deadLetterMessages": "dead-letter queue depth alarm",
    "monitoring.kafkaDiskPercent": "Kafka broker disk alarm",
    "monitoring.containerRestarts": "container restarts alarm",
    "monitoring.monthlyBudgetUsd": "the cloud's budget, USD a month",
    "monitoring.budgetAlertPercents": "budget alert thresholds, %",
    "monitoring.billingAccount": "billing account the GCP budget belongs to",
    "replication.enabled": "the in-cluster Job that sets up and watches logical replication",
    "replication.toolImage": "image built from dr/Dockerfile (required when enabled)",
    "replication.namespace": "the Job's namespace",
    "dns.zoneId": "Cloudflare zone of the origin record and certificate validation",
    "dns.originHost": "this cloud's proxied origin name",
    "application.imageRepository": "registry repository of the application image",
    "application.imageTag": "the application image tag to run",
    "application.port": "container port",
    "application.healthCheckPath": "readiness and health path",
    "application.minReplicas": "autoscaler minimum",
    "application.maxReplicas": "autoscaler maximum",
    "application.cpuRequest": "container CPU request",
    "application.cpuLimit": "container CPU limit",
    "application.memoryRequest": "container memory request",
    "application.memoryLimit": "container memory limit",
    "application.targetCpuPercent": "autoscaler CPU target",
    "loadBalancer.accountId": "Cloudflare account id",
    "loadBalancer.zoneId": "Cloudflare zone id",
    "loadBalancer.hostname": "the load-balanced host name",
    "loadBalancer.steering": "`dynamic_latency` (active-active), `failover` (AWS first) or `random` (poolWeights)",
    "loadBalancer.sessionAffinityTtlSeconds": "cookie session affinity TTL",
    "loadBalancer.notificationEmail": "who is told when a pool's health changes",
    "loadBalancer.detectionBudgetSeconds": "most the computed detection time may be",
    "loadBalancer.checkRegions": "Cloudflare regions the health checks run from",
    "loadBalancer.awsStack": "the AWS stack behind the AWS pool",
    "loadBalancer.gcpStack": "the GCP stack behind the GCP pool",
    "loadBalancer.poolWeights.aws": "AWS pool's weight with `random` steering",
    "loadBalancer.poolWeights.gcp": "GCP pool's weight with `random` steering",
    "loadBalancer.monitor.path": "health check path",
    "loadBalancer.monitor.port": "health check port",
    "loadBalancer.monitor.expectedCodes": "healthy status codes",
    "loadBalancer.monitor.intervalSeconds": "seconds between checks",
    "loadBalancer.monitor.retries": "retries of a failed check",
    "loadBalancer.monitor.timeoutSeconds": "a check's timeout",
    "loadBalancer.monitor.consecutiveDown": "failed checks before an origin is down",
    "github.repository": "OWNER/REPO that CI's OIDC identities trust",
    "github.deployEnvironments": "GitHub environments the deploy identity trusts",
    "github.previewBranches": "branches the preview identity trusts (besides pull requests)",
    "state.backend": "`s3` or `gcs` state bucket",
    "state.secretsProvider": "`awskms` or `gcpkms` secrets key",
    "state.noncurrentVersionDays": "days old state versions are kept",
    "state.logRetentionDays": "days the state bucket's access logs are kept",
    "state.awsOperators": "IAM roles or users that keep using the state and keys",
    "state.gcpOperators": "IAM members that keep using the state and keys",
    "budget.monthlyUsd": "the cost estimate's budget; `python -m tools cost` fails above it (required once `crm:budget` is set)",
}


def describe(kind: str, key: str) -> str:
    """The one-line meaning of a key, or '' when none is written."""
    short = key.removeprefix("crm:")
    section, _, name = short.partition(".")
    if section == "costAssumptions" and name in cost.ASSUMPTIONS.get(kind, {}):
        description, unit, _ = cost.ASSUMPTIONS[kind][name]
        return f"cost estimate: {description} ({unit} a month)"
    return DESCRIPTIONS.get(f"{kind}/{short}") or DESCRIPTIONS.get(short, "")


def _format(value: Any) -> str:
    if value is _MISSING:
        return "(required)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, ipaddress.IPv4Network):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        if len(value) > 4:
            return f"{len(value)} entries"
        return "[" + ", ".join(_format(v) for v in value) + "]" if value else "[]"
    if value == "":
        return '""'
    return str(value).replace(_HOST, "<publicHost>")


def record(kind: str, environment: str) -> dict[str, str]:
    """Key -> default for one kind of stack in one environment, as the parser reads them."""
    seen: dict[str, str] = {}
    original = Section._get

    def spy(self: Section, name: str, default: Any) -> Any:
        seen.setdefault(f"{self.key}.{name}", _format(default))
        return original(self, name, default)

    raw: dict[str, Any] = {"crm:cloud": kind, "crm:environment": environment, "crm:publicHost": _HOST,
                           "aws:region": "ap-northeast-2", "gcp:project": "crm-doc-project", "gcp:region": "asia-northeast3"}
    raw.update({section: {} for section in _OPTIONAL_SECTIONS})
    Section._get = spy  # type: ignore[method-assign]
    try:
        problems = Problems()
        stack_config = config_layer._parse(problems, f"{kind}-{environment}", raw)
        common = stack_config.common if stack_config is not None else model.Common(
            stack=f"{kind}-{environment}", cloud=kind, environment=environment, project="crm", organization="organization", public_host=_HOST)
        cost.parse(problems, common, raw)
    finally:
        Section._get = original  # type: ignore[method-assign]
    plain = {f"crm:{key}": _PLAIN.get(f"crm:{key}", "") for key in config_layer.KNOWN_KEYS[kind] if f"crm:{key}" in _PLAIN}
    return {**plain, **seen}


def keys_by_kind() -> dict[str, dict[str, dict[str, str]]]:
    """kind -> key -> environment -> default."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    for kind in KINDS:
        table: dict[str, dict[str, str]] = {}
        for environment in ENVIRONMENTS:
            for key, default in record(kind, environment).items():
                table.setdefault(key, {})[environment] = default
        result[kind] = table
    return result


def _default_cell(per_env: dict[str, str]) -> str:
    values = set(per_env.values())
    def cell(value: str) -> str:
        return value if value == "(required)" else f"`{value}`"

    if len(values) == 1:
        return cell(values.pop())
    return "; ".join(f"{env}: {cell(value)}" for env, value in per_env.items())


def markdown(kind: str) -> str:
    table = keys_by_kind()[kind]
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    for key in PROVIDER_KEYS[kind]:
        default = "(required)" if key != "cloudflare:apiToken" else "(secret; or CLOUDFLARE_API_TOKEN)"
        lines.append(f"| `{key}` | {default} | {describe(kind, key)} |")
    for key, per_env in table.items():
        lines.append(f"| `{key}` | {_default_cell(per_env).replace('|', '/')} | {describe(kind, key)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.offline.config_doc", description=__doc__.splitlines()[0])
    parser.add_argument("kind", nargs="?", choices=KINDS, help="one kind of stack (default: all, each under a heading)")
    args = parser.parse_args(argv)
    for kind in ([args.kind] if args.kind else KINDS):
        if not args.kind:
            print(f"### {TITLES[kind]}\n")
        print(markdown(kind))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
