"""Monthly cost of a previewed stack, line by line, from the pinned price table.

Every resource type a preview holds is either priced by a rule below (keyed by type), listed as
free, or listed as billed by usage only; a type in none of them, or a rule that needs a price entry
the table lacks, makes the estimate incomplete and the command fail, so a new billable resource
cannot slip into the estate unpriced. Rules read the resource's own inputs (instance type, node
count, storage) and the stack's usage assumptions (`crm:costAssumptions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.config.cost import CostSettings

from ..engine.engine import PreviewResult, RegisteredResource

PRICE_TABLE = Path(__file__).parent / "data" / "prices.yaml"

# Lines of the source documents' estimate of the DR estate (USD per month), by cloud.
SEED_LINES = {
    "aws": {"kubernetes": 473, "database": 300, "cache": 150, "vpn": 36, "network": 100},
    "gcp": {"kubernetes": 523, "database": 200, "cache": 100, "vpn": 36, "network": 100},
    "cloudflare": {"load balancer": 50},
    "transfer": {"transfer": 200},
}
SEED_TOTAL = 2268
DR_STACKS = ("aws-dr", "gcp-dr", "global")


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    per: str
    what: str
    source: str
    free: float = 0.0


@dataclass
class PriceTable:
    read: str
    hours_per_month: float
    prices: dict[str, Price]
    free: dict[str, str]
    usage_only: dict[str, str]
    regions: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"

    def price(self, key: str) -> Price:
        if key not in self.prices:
            raise MissingPrice(key)
        return self.prices[key]


def load_prices(path: Path = PRICE_TABLE) -> PriceTable:
    import yaml

    document = yaml.safe_load(path.read_text())
    prices = {
        key: Price(key, float(entry["usd"]), str(entry["per"]), str(entry["what"]), str(entry["source"]), float(entry.get("free", 0)))
        for key, entry in (document.get("prices") or {}).items()
    }
    return PriceTable(
        str(document["read"]),
        float(document["hoursPerMonth"]),
        prices,
        dict(document.get("free") or {}),
        dict(document.get("usageOnly") or {}),
        {str(cloud): str(region) for cloud, region in (document.get("regions") or {}).items()},
        str(document.get("currency", "USD")),
    )


class MissingPrice(Exception):
    """A rule needs a price entry the table does not have."""


@dataclass
class Item:
    resource: str
    type: str
    price_entry: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    cloud: str
    line: str  # the line of the seeds' estimate this belongs to ("" when the seeds have none)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "type": self.type,
            "price_entry": self.price_entry,
            "quantity": round(self.quantity, 4),
            "unit": self.unit,
            "unit_usd": self.unit_usd,
            "monthly_usd": round(self.monthly_usd, 2),
            "cloud": self.cloud,
            "line": self.line,
            "note": self.note,
        }


@dataclass
class Estimate:
    stack: str
    items: list[Item]
    unpriced: list[str]  # "type: why" for each type or price entry missing from the table
    usage_only: list[tuple[str, str, str]]  # (resource, type, reason)
    settings: CostSettings
    read: str

    @property
    def monthly_usd(self) -> float:
        return round(sum(item.monthly_usd for item in self.items), 2)

    @property
    def over_budget(self) -> bool:
        """True when the cloud's budget would alert on this estimate every month: it reaches crm:budget's first alert."""
        budget = self.settings.budget
        return budget is not None and self.monthly_usd >= budget.first_alert_usd

    def as_json(self) -> dict[str, Any]:
        budget = self.settings.budget
        return {
            "stack": self.stack,
            "monthly_usd": self.monthly_usd,
            "budget_usd": budget.monthly_usd if budget else None,
            "budget_first_alert_usd": budget.first_alert_usd if budget else None,
            "prices_read": self.read,
            "assumptions": {
                a.key: {"value": a.value, "unit": a.unit, "default": a.default, "what": a.description}
                for a in self.settings.assumptions.values()
            },
            "items": [item.as_json() for item in sorted(self.items, key=_item_order)],
            "usage_only": [{"resource": r, "type": t, "reason": why} for r, t, why in self.usage_only],
            "unpriced": self.unpriced,
        }


def _item_order(item: Item) -> tuple:
    return (-round(item.monthly_usd, 2), item.type, item.resource, item.price_entry)


class Context:
    """What a rule may look at: the table, the stack's assumptions and the other resources."""

    def __init__(self, table: PriceTable, settings: CostSettings, result: PreviewResult):
        self.table = table
        self.settings = settings
        self.result = result
        self.by_urn = {r.urn: r for r in result.resources}
        self.hours = table.hours_per_month

    def price(self, key: str) -> Price:
        return self.table.price(key)

    def assumption(self, key: str) -> float:
        return self.settings.value(key)

    def count(self, type_: str) -> int:
        return len(self.result.of_type(type_))

    def dependency_of_type(self, resource: RegisteredResource, type_: str) -> RegisteredResource | None:
        for urn in resource.dependencies:
            found = self.by_urn.get(urn)
            if found is not None and found.type == type_:
                return found
        return None

    # Items -------------------------------------------------------------------------------
    def hourly(self, r: RegisteredResource, key: str, count: float, line: str, unit: str = "", note: str = "") -> Item:
        price = self.price(key)
        return self.item(r, price, count * self.hours, unit or f"{price.per}s", line, note)

    def monthly(self, r: RegisteredResource, key: str, quantity: float, line: str, note: str = "") -> Item:
        price = self.price(key)
        return self.item(r, price, quantity, price.per, line, note)

    def item(self, r: RegisteredResource, price: Price, quantity: float, unit: str, line: str, note: str = "") -> Item:
        return Item(r.name, r.type, price.key, quantity, unit, price.usd, quantity * price.usd, self.cloud_of(r.type), line, note)

    def cloud_of(self, type_: str) -> str:
        """The cloud that bills a type; Kubernetes objects bill to the cloud of the stack's cluster."""
        prefix = type_.split(":")[0]
        if prefix in _CLOUDS:
            return prefix
        clouds = [r.type.split(":")[0] for r in self.result.resources if r.type.split(":")[0] in _CLOUDS]
        return max(_CLOUDS, key=clouds.count) if clouds else "other"


_CLOUDS = ("aws", "gcp", "cloudflare")


Rule = Callable[[RegisteredResource, Context], list[Item]]
RULES: dict[str, Rule] = {}


def rule(*types: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        for type_ in types:
            RULES[type_] = function
        return function

    return register


def _number(value: Any, default: float = 0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


# ---------------------------------------------------------------- AWS


@rule("aws:eks/cluster:Cluster")
def _eks_cluster(r, ctx):
    """Cluster-hours in standard support (extended support has its own entry)."""
    return [ctx.hourly(r, "aws.eks.cluster", 1, "kubernetes", "cluster-hours", f"Kubernetes {r.get('version')} in standard support")]


@rule("aws:eks/nodeGroup:NodeGroup")
def _eks_nodes(r, ctx):
    """Instance-hours of the desired size, plus the launch template's root volumes."""
    scaling = r.get("scalingConfig") or {}
    nodes = _number(scaling.get("desiredSize"), 0)
    instance = (r.get("instanceTypes") or ["t3.medium"])[0]
    items = [ctx.hourly(r, f"aws.ec2.{instance}", nodes, "kubernetes", "instance-hours", f"{nodes:g} x {instance} (desired size)")]
    template = ctx.dependency_of_type(r, "aws:ec2/launchTemplate:LaunchTemplate")
    volume = ((template.get("blockDeviceMappings") or [{}])[0].get("ebs") or {}) if template else {}
    size = _number(volume.get("volumeSize"), _number(r.get("diskSize"), 20))
    volume_type = volume.get("volumeType", "gp3")
    items.append(
        ctx.monthly(r, f"aws.ebs.{volume_type}", nodes * size, "kubernetes", f"{nodes:g} x {size:g} GB {volume_type} root volumes")
    )
    return items


@rule("aws:ec2/natGateway:NatGateway")
def _nat_gateway(r, ctx):
    """Gateway-hours, and an equal share of the `natDataGb` assumption as data processed."""
    share = ctx.assumption("natDataGb") / max(ctx.count("aws:ec2/natGateway:NatGateway"), 1)
    return [
        ctx.hourly(r, "aws.vpc.nat-gateway", 1, "network", "gateway-hours"),
        ctx.monthly(
            r, "aws.vpc.nat-gateway.data", share, "network", f"its share of costAssumptions.natDataGb ({ctx.assumption('natDataGb'):g} GB)"
        ),
    ]


@rule("aws:ec2/eip:Eip")
def _eip(r, ctx):
    """Address-hours."""
    return [ctx.hourly(r, "aws.vpc.public-ipv4", 1, "network", "address-hours")]


@rule("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(r, ctx):
    """Endpoint-hours per zone for an interface endpoint; a gateway endpoint is free."""
    if r.get("vpcEndpointType", "Gateway") == "Gateway":
        return []
    zones = len(r.get("subnetIds") or []) or 1
    return [ctx.hourly(r, "aws.vpc.interface-endpoint", zones, "network", "endpoint-zone-hours")]


@rule("aws:ec2/vpnConnection:VpnConnection")
def _vpn_connection(r, ctx):
    """Connection-hours (a connection has two tunnels)."""
    return [ctx.hourly(r, "aws.vpn.connection", 1, "vpn", "connection-hours", "two tunnels")]


@rule("aws:lb/loadBalancer:LoadBalancer")
def _alb(r, ctx):
    """Load-balancer-hours, LCU-hours from the `albLcu` assumption, its public IPv4 per zone, and the `internetEgressGb` assumption."""
    if r.get("loadBalancerType", "application") != "application":
        raise MissingPrice(f"aws.elb.{r.get('loadBalancerType')}")
    items = [
        ctx.hourly(r, "aws.elb.alb", 1, "network", "load-balancer-hours"),
        ctx.hourly(
            r, "aws.elb.alb.lcu", ctx.assumption("albLcu"), "network", "LCU-hours", f"costAssumptions.albLcu = {ctx.assumption('albLcu'):g}"
        ),
    ]
    if not r.get("internal", False):
        zones = len(r.get("subnets") or []) or 2
        items.append(ctx.hourly(r, "aws.vpc.public-ipv4", zones, "network", "address-hours", f"one public IPv4 address per zone ({zones})"))
    items.append(
        ctx.monthly(
            r,
            "aws.transfer.internet-out",
            ctx.assumption("internetEgressGb"),
            "transfer",
            "costAssumptions.internetEgressGb: responses to Cloudflare",
        )
    )
    return items


@rule("aws:rds/instance:Instance")
def _rds(r, ctx):
    """Instance-hours of the class and the storage, both doubled for Multi-AZ."""
    factor = ctx.price("aws.rds.multi-az-factor").usd if r.get("multiAz") else 1
    az = "Multi-AZ" if r.get("multiAz") else "single-AZ"
    storage_type = r.get("storageType", "gp3")
    storage = _number(r.get("allocatedStorage"), 20)
    return [
        ctx.hourly(
            r, f"aws.rds.postgres.{r.get('instanceClass')}", factor, "database", "instance-hours", f"{r.get('instanceClass')}, {az}"
        ),
        ctx.monthly(r, f"aws.rds.storage.{storage_type}", storage * factor, "database", f"{storage:g} GB {storage_type}, {az}"),
    ]


@rule("aws:elasticache/replicationGroup:ReplicationGroup")
def _elasticache(r, ctx):
    """Node-hours of the node type x nodes."""
    nodes = _number(r.get("numCacheClusters"), 1)
    return [ctx.hourly(r, f"aws.elasticache.{r.get('nodeType')}", nodes, "cache", "node-hours", f"{nodes:g} x {r.get('nodeType')}")]


@rule("aws:msk/cluster:Cluster")
def _msk(r, ctx):
    """Broker-hours x brokers, and storage x brokers."""
    brokers = _number(r.get("numberOfBrokerNodes"), 3)
    info = r.get("brokerNodeGroupInfo") or {}
    volume = _number(((info.get("storageInfo") or {}).get("ebsStorageInfo") or {}).get("volumeSize"), 1000)
    return [
        ctx.hourly(r, f"aws.msk.{info.get('instanceType')}", brokers, "", "broker-hours", f"{brokers:g} x {info.get('instanceType')}"),
        ctx.monthly(r, "aws.msk.storage", brokers * volume, "", f"{brokers:g} x {volume:g} GB"),
    ]


@rule("aws:kms/key:Key")
def _kms_key(r, ctx):
    """Per key a month."""
    return [ctx.monthly(r, "aws.kms.key", 1, "")]


@rule("aws:secretsmanager/secret:Secret")
def _secret(r, ctx):
    """Per secret a month."""
    return [ctx.monthly(r, "aws.secretsmanager.secret", 1, "")]


@rule("aws:ssm/parameter:Parameter")
def _ssm_parameter(r, ctx):
    """Per advanced parameter a month; standard parameters are free."""
    if r.get("tier", "Standard") != "Advanced":
        return []
    return [ctx.monthly(r, "aws.ssm.advanced-parameter", 1, "")]


@rule("aws:cloudwatch/logGroup:LogGroup")
def _log_group(r, ctx):
    """Ingestion: an equal share of the `logIngestionGb` assumption per log group."""
    groups = ctx.count("aws:cloudwatch/logGroup:LogGroup")
    total = ctx.assumption("logIngestionGb")
    return [
        ctx.monthly(
            r,
            "aws.cloudwatch.logs.ingest",
            total / max(groups, 1),
            "",
            f"an equal share of costAssumptions.logIngestionGb ({total:g} GB over {groups} log groups)",
        )
    ]


@rule("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(r, ctx):
    """CloudWatch bills an alarm per metric it reads (every metric of a metric-math alarm), at the high-resolution rate under a minute."""
    queries = [q for q in r.get("metricQueries") or [] if isinstance(q, dict) and q.get("metric")]
    periods = [_number((q.get("metric") or {}).get("period"), 60) for q in queries] or [_number(r.get("period"), 60)]
    entry = "aws.cloudwatch.alarm.high-resolution" if min(periods) < 60 else "aws.cloudwatch.alarm"
    metrics = len(queries) or 1
    return [ctx.monthly(r, entry, metrics, "", (f"{metrics} metric(s) of its metric math" if queries else ""))]


@rule("aws:cloudwatch/compositeAlarm:CompositeAlarm")
def _composite_alarm(r, ctx):
    """Per composite alarm a month."""
    return [ctx.monthly(r, "aws.cloudwatch.alarm.composite", 1, "")]


@rule("aws:cloudwatch/logMetricFilter:LogMetricFilter")
def _log_metric_filter(r, ctx):
    """Per custom metric it publishes a month."""
    transformations = r.get("metricTransformation")
    count = len(transformations) if isinstance(transformations, list) else 1
    return [ctx.monthly(r, "aws.cloudwatch.custom-metric", count, "", "the custom metric it publishes")]


@rule("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(r, ctx):
    """Per dashboard a month."""
    return [ctx.monthly(r, "aws.cloudwatch.dashboard", 1, "")]


@rule("aws:fis/experimentTemplate:ExperimentTemplate")
def _experiment_template(r, ctx):
    """A template costs nothing; each run bills its actions' minutes (costAssumptions.faultInjectionRunsPerMonth runs of each)."""
    from components.aws.experiments import action_minutes

    runs = ctx.assumption("faultInjectionRunsPerMonth")
    minutes = 0.0
    for action in r.get("actions") or []:
        parameters = {p.get("key"): p.get("value") for p in action.get("parameters") or [] if isinstance(p, dict)}
        per_run = action_minutes(str(action.get("actionId")), parameters)
        if per_run is None:
            raise MissingPrice(f"aws.fis.action-minute (action {action.get('actionId')} has no duration to price)")
        minutes += per_run
    return [
        ctx.monthly(
            r,
            "aws.fis.action-minute",
            runs * minutes,
            "",
            f"{runs:g} run(s) a month (costAssumptions.faultInjectionRunsPerMonth) x {minutes:g} action-minutes",
        )
    ]


@rule("aws:budgets/budgetAction:BudgetAction")
def _budget_action(r, ctx):
    """Per day of a budget with actions."""
    return [ctx.monthly(r, "aws.budgets.action-budget", ctx.hours / 24, "", "days a month")]


# ---------------------------------------------------------------- GCP


@rule("gcp:container/cluster:Cluster")
def _gke_cluster(r, ctx):
    """Cluster-hours, and the project's Cloud Logging ingestion (`logIngestionGb`) beyond the free allowance."""
    items = [ctx.hourly(r, "gcp.gke.cluster", 1, "kubernetes", "cluster-hours")]
    logs = ctx.assumption("logIngestionGb")
    price = ctx.price("gcp.logging.ingest")
    items.append(
        ctx.item(
            r,
            price,
            max(logs - price.free, 0),
            "GiB",
            "",
            f"costAssumptions.logIngestionGb = {logs:g} GiB, the first {price.free:g} free (the project's logs, carried here)",
        )
    )
    return items


def _gke_node_count(r: RegisteredResource) -> float:
    zones = len(r.get("nodeLocations") or []) or 1
    if r.get("nodeCount") is not None:
        return _number(r.get("nodeCount")) * zones
    return _number(r.get("initialNodeCount"), 1) * zones


@rule("gcp:container/nodePool:NodePool")
def _gke_nodes(r, ctx):
    """Machine-hours of the nodes as created (per-zone count x zones), plus their boot disks."""
    node = r.get("nodeConfig") or {}
    nodes = _gke_node_count(r)
    machine = node.get("machineType", "e2-medium")
    disk_type = node.get("diskType", "pd-balanced")
    disk = _number(node.get("diskSizeGb"), 100)
    return [
        ctx.hourly(
            r,
            f"gcp.gce.{machine}",
            nodes,
            "kubernetes",
            "instance-hours",
            f"{nodes:g} x {machine} ({_number(r.get('initialNodeCount'), 1):g} per zone x {len(r.get('nodeLocations') or []) or 1} zones, as created)",
        ),
        ctx.monthly(r, f"gcp.pd.{disk_type}", nodes * disk, "kubernetes", f"{nodes:g} x {disk:g} GB {disk_type} boot disks"),
    ]


@rule("gcp:compute/routerNat:RouterNat")
def _cloud_nat(r, ctx):
    """Per VM using it (the node pools' nodes, up to the price entry's cap), its automatic address, data from `natDataGb`."""
    vms = min(sum(_gke_node_count(pool) for pool in ctx.result.of_type("gcp:container/nodePool:NodePool")), 32)
    data = ctx.assumption("natDataGb") / max(ctx.count("gcp:compute/routerNat:RouterNat"), 1)
    items = [
        ctx.hourly(r, "gcp.nat.vm", vms, "network", "VM-hours", f"{vms:g} nodes use it"),
        ctx.monthly(r, "gcp.nat.data", data, "network", f"costAssumptions.natDataGb = {ctx.assumption('natDataGb'):g} GB"),
    ]
    if r.get("natIpAllocateOption") == "AUTO_ONLY":
        items.append(
            ctx.hourly(
                r,
                "gcp.ip.external-in-use",
                1,
                "network",
                "address-hours",
                "one automatically allocated address (more as the VM count grows)",
            )
        )
    return items


@rule("gcp:compute/globalAddress:GlobalAddress")
def _global_address(r, ctx):
    """Hours of a reserved address no forwarding rule uses; the origin's `internetEgressGb` when no forwarding rule carries it."""
    if r.get("addressType", "EXTERNAL") != "EXTERNAL":
        return []
    forwarding = [f for f in ctx.result.resources if f.type == "gcp:compute/globalForwardingRule:GlobalForwardingRule"]
    if forwarding:
        return []  # an address in use by a forwarding rule is billed through the rule
    if any(r.get("name") in _named_addresses(gateway) for gateway in ctx.result.of_type(_GATEWAY)):
        # A Gateway claims it: GKE's forwarding rule for the Gateway (priced there) uses it; what the origin sends is billed here once.
        return [_egress_to_cloudflare(r, ctx)]
    items = [ctx.hourly(r, "gcp.ip.static-unused", 1, "network", "address-hours", "reserved, no forwarding rule in this stack uses it")]
    items.append(_egress_to_cloudflare(r, ctx))
    return items


def _egress_to_cloudflare(r, ctx):
    """The origin's internet egress (responses to Cloudflare), charged once per stack."""
    return ctx.monthly(
        r,
        "gcp.transfer.internet-out",
        ctx.assumption("internetEgressGb"),
        "transfer",
        "costAssumptions.internetEgressGb: responses to Cloudflare",
    )


@rule("gcp:compute/globalForwardingRule:GlobalForwardingRule")
def _forwarding_rule(r, ctx):
    """Rule-hours; the first rule of a stack carries the origin's `internetEgressGb`."""
    items = [ctx.hourly(r, "gcp.lb.forwarding-rule", 1, "network", "rule-hours")]
    first = ctx.result.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")[0]
    if r is first:
        items.append(_egress_to_cloudflare(r, ctx))
    return items


@rule("gcp:compute/vPNTunnel:VPNTunnel")
def _vpn_tunnel(r, ctx):
    """Tunnel-hours."""
    return [ctx.hourly(r, "gcp.vpn.tunnel", 1, "vpn", "tunnel-hours")]


@rule("aws:ec2/vpnGateway:VpnGateway")
def _vpn_gateway(r, ctx):
    """The `interCloudEgressGb` assumption at the internet egress rate (VPN egress is billed so); the gateway itself is free."""
    gb = ctx.assumption("interCloudEgressGb")
    return (
        [
            ctx.monthly(
                r, "aws.transfer.internet-out", gb, "transfer", f"costAssumptions.interCloudEgressGb: AWS to GCP over the VPN ({gb:g} GB)"
            )
        ]
        if gb
        else []
    )


@rule("gcp:compute/haVpnGateway:HaVpnGateway")
def _ha_vpn_gateway(r, ctx):
    """The `interCloudEgressGb` assumption at the internet egress rate (VPN egress is billed so); the gateway itself is free."""
    gb = ctx.assumption("interCloudEgressGb")
    return (
        [
            ctx.monthly(
                r,
                "gcp.transfer.internet-out",
                gb,
                "transfer",
                f"costAssumptions.interCloudEgressGb: GCP to AWS over the HA VPN ({gb:g} GB)",
            )
        ]
        if gb
        else []
    )


@rule("gcp:sql/databaseInstance:DatabaseInstance")
def _cloud_sql(r, ctx):
    """vCPU-hours and memory GB-hours of the `db-custom-N-M` tier and the storage, doubled for REGIONAL."""
    settings = r.get("settings") or {}
    tier = str(settings.get("tier", ""))
    parts = tier.split("-")
    if len(parts) != 4 or parts[:2] != ["db", "custom"]:
        raise MissingPrice(f"gcp.sql.{tier}")
    vcpus, memory_gb = float(parts[2]), float(parts[3]) / 1024
    regional = settings.get("availabilityType") == "REGIONAL"
    factor = ctx.price("gcp.sql.regional-factor").usd if regional else 1
    availability = "REGIONAL" if regional else "ZONAL"
    disk = _number(settings.get("diskSize"), 10)
    disk_key = "gcp.sql.storage.ssd" if settings.get("diskType", "PD_SSD") == "PD_SSD" else "gcp.sql.storage.hdd"
    return [
        ctx.hourly(r, "gcp.sql.vcpu", vcpus * factor, "database", "vCPU-hours", f"{tier}: {vcpus:g} vCPU, {availability}"),
        ctx.hourly(r, "gcp.sql.memory", memory_gb * factor, "database", "GB-hours", f"{tier}: {memory_gb:g} GB, {availability}"),
        ctx.monthly(r, disk_key, disk * factor, "database", f"{disk:g} GB, {availability}"),
    ]


@rule("gcp:redis/instance:Instance")
def _memorystore(r, ctx):
    """GB-hours of the capacity band; Standard tier per node (primary + replicas)."""
    size = _number(r.get("memorySizeGb"), 1)
    band = "m1" if size <= 4 else "m2" if size <= 10 else "m3" if size <= 35 else "m4"
    if r.get("tier", "BASIC") == "BASIC":
        return [ctx.hourly(r, f"gcp.redis.basic.{band}", size, "cache", "GB-hours", f"{size:g} GB, Basic")]
    nodes = 1 + max(_number(r.get("replicaCount"), 1), 1)
    return [
        ctx.hourly(
            r,
            f"gcp.redis.node.{band}",
            size * nodes,
            "cache",
            "GB-hours",
            f"{size:g} GB x {nodes:g} nodes (primary + {nodes - 1:g} replicas), Standard",
        )
    ]


@rule("gcp:kms/cryptoKey:CryptoKey")
def _crypto_key(r, ctx):
    """Per active key version a month."""
    return [ctx.monthly(r, "gcp.kms.key-version", 1, "", "one active version (rotation adds one per period until old ones are destroyed)")]


@rule("gcp:secretmanager/secretVersion:SecretVersion")
def _secret_version(r, ctx):
    """Per active secret version a month."""
    return [ctx.monthly(r, "gcp.secretmanager.version", 1, "")]


@rule("gcp:monitoring/alertPolicy:AlertPolicy")
def _alert_policy(r, ctx):
    """Per condition a month."""
    return [ctx.monthly(r, "gcp.monitoring.alert-condition", len(r.get("conditions") or []) or 1, "")]


@rule("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
def _uptime_check(r, ctx):
    """Per thousand executions (period x regions) beyond the free ones."""
    period = str(r.get("period", "60s")).rstrip("s")
    seconds = float(period) if period.replace(".", "", 1).isdigit() else 60
    regions = len(r.get("selectedRegions") or []) or 6
    executions = ctx.hours * 3600 / seconds * regions
    price = ctx.price("gcp.monitoring.uptime-check")
    billable = max(executions - price.free, 0) / 1000
    return [
        ctx.item(
            r,
            price,
            billable,
            "thousand executions",
            "",
            f"{executions:,.0f} executions a month from {regions} regions, the first {price.free:,.0f} free",
        )
    ]


@rule("kubernetes:kafka.strimzi.io/v1:KafkaNodePool")
def _strimzi_disks(r, ctx):
    """Its persistent volumes as balanced persistent disk."""
    spec = r.get("spec") or {}
    replicas = _number(spec.get("replicas"), 1)
    gb = 0.0
    for volume in (spec.get("storage") or {}).get("volumes") or [spec.get("storage") or {}]:
        gb += _gib(str(volume.get("size", "0")))  # GCP bills disks per GiB ("GB" in its price list)
    return [
        ctx.monthly(
            r, "gcp.pd.pd-balanced", replicas * gb, "", f"{replicas:g} x {gb:g} GB persistent volumes (GKE's default class, balanced PD)"
        )
    ]


def _gib(size: str) -> float:
    """A Kubernetes quantity ("100Gi", "1Ti", "500Mi") in GiB."""
    for suffix, factor in (("Ti", 1024.0), ("Gi", 1.0), ("Mi", 1 / 1024)):
        if size.endswith(suffix):
            return float(size[: -len(suffix)]) * factor
    return float(size or 0) / 2**30


@rule("kubernetes:core/v1:Service")
def _kubernetes_service(r, ctx):
    """A LoadBalancer Service: an NLB's hours on AWS, a forwarding rule's on GCP; other Services are free."""
    if (r.get("spec") or {}).get("type") != "LoadBalancer":
        return []  # ClusterIP and NodePort services run on the priced nodes
    if ctx.cloud_of(r.type) == "aws":
        return [ctx.hourly(r, "aws.elb.nlb", 1, "network", "load-balancer-hours", "a LoadBalancer Service makes an NLB")]
    return [ctx.hourly(r, "gcp.lb.forwarding-rule", 1, "network", "rule-hours", "a LoadBalancer Service makes a forwarding rule")]


_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


def _named_addresses(gateway: RegisteredResource) -> list[str]:
    """The reserved addresses a Gateway claims by name (`spec.addresses[].type: NamedAddress`)."""
    addresses = (gateway.get("spec") or {}).get("addresses") or []
    return [str(a["value"]) for a in addresses if isinstance(a, dict) and a.get("type") == "NamedAddress" and a.get("value")]


@rule(_GATEWAY)
def _gateway(r, ctx):
    """Rule-hours of the global external load balancer GKE builds for it."""
    # GKE's Gateway controller builds a global external Application Load Balancer: one forwarding rule
    # per Gateway (HTTPS). Data processed is usage (costAssumptions.internetEgressGb prices what leaves).
    return [ctx.hourly(r, "gcp.lb.forwarding-rule", 1, "network", "rule-hours", "the Gateway's global external load balancer")]


# ---------------------------------------------------------------- Cloudflare


@rule("cloudflare:index/loadBalancer:LoadBalancer")
def _cloudflare_lb(r, ctx):
    """The load-balancing add-on, origins beyond two, multi-region checks, dynamic or geo steering, DNS queries beyond the included ones."""
    items = [ctx.monthly(r, "cloudflare.lb.base", 1, "load balancer")]
    origins = sum(len(pool.get("origins") or []) for pool in ctx.result.of_type("cloudflare:index/loadBalancerPool:LoadBalancerPool"))
    if origins > 2:
        items.append(ctx.monthly(r, "cloudflare.lb.origin", origins - 2, "load balancer", f"{origins} origins, two included"))
    regions = {
        region
        for pool in ctx.result.of_type("cloudflare:index/loadBalancerPool:LoadBalancerPool")
        for region in pool.get("checkRegions") or []
    }
    if len(regions) > 1:
        items.append(ctx.monthly(r, "cloudflare.lb.multi-region-checks", 1, "load balancer", f"checks from {', '.join(sorted(regions))}"))
    steering = r.get("steeringPolicy", "off")
    if steering in ("dynamic_latency", "least_outstanding_requests", "least_connections"):
        items.append(ctx.monthly(r, "cloudflare.lb.dynamic-steering", 1, "load balancer", f"steering {steering}"))
    elif steering in ("geo", "proximity"):
        items.append(ctx.monthly(r, "cloudflare.lb.geo-steering", 1, "load balancer", f"steering {steering}"))
    queries = ctx.assumption("dnsQueriesMillions")
    price = ctx.price("cloudflare.lb.dns-queries")
    extra = max(queries - price.free, 0) * 2  # the price is per 500,000
    if extra:
        items.append(
            ctx.item(
                r,
                price,
                extra,
                "500,000 queries",
                "load balancer",
                f"costAssumptions.dnsQueriesMillions = {queries:g}, 0.5 million included",
            )
        )
    return items


@rule("cloudflare:index/loadBalancerPool:LoadBalancerPool")
def _cloudflare_pool(r, ctx):
    """Free by itself: its origins are priced on the load balancer."""
    return []  # origins are priced on the load balancer (the add-on counts them across pools)


# ---------------------------------------------------------------- the estimate

# Kubernetes objects run on nodes that are priced already, except kinds that make the cloud create
# something billable (a load balancer, a disk): those need a rule of their own.
_KUBERNETES_BILLABLE_KINDS = {"Service", "Ingress", "Gateway", "PersistentVolumeClaim", "PersistentVolume", "StatefulSet", "KafkaNodePool"}


def billing_status(type_: str, table: PriceTable) -> str | None:
    """'rule', 'free' or 'usage-only' for a type the estimate knows; None for one it does not."""
    if type_ in RULES:
        return "rule"
    if type_ in table.free or type_.startswith("pulumi:providers:"):
        return "free"
    if type_ in table.usage_only:
        return "usage-only"
    if type_.startswith("kubernetes:") and type_.split(":")[-1] not in _KUBERNETES_BILLABLE_KINDS:
        return "free"
    return None


def estimate(result: PreviewResult, settings: CostSettings, table: PriceTable | None = None) -> Estimate:
    table = table or load_prices()
    ctx = Context(table, settings, result)
    items: list[Item] = []
    unpriced: list[str] = []
    usage_only: list[tuple[str, str, str]] = []
    for r in sorted(result.resources, key=lambda r: (r.type, r.name)):
        if not r.custom:
            continue  # a component: its children are what is billed
        status = billing_status(r.type, table)
        if status is None:
            unpriced.append(f"{r.type}: no rule, no price entry and not listed as free in {PRICE_TABLE.name}")
        elif status == "usage-only":
            usage_only.append((r.name, r.type, table.usage_only[r.type]))
        elif status == "rule":
            try:
                items.extend(RULES[r.type](r, ctx))
            except MissingPrice as missing:
                unpriced.append(f"{r.type}: resource '{r.name}' needs price entry '{missing}' in {PRICE_TABLE.name}")
    return Estimate(result.stack, items, sorted(set(unpriced)), usage_only, settings, table.read)


# ---------------------------------------------------------------- printing


def report(e: Estimate) -> str:
    lines = [f"Stack {e.stack}: ${e.monthly_usd:,.2f} a month (on-demand list prices read {e.read})"]
    budget = e.settings.budget
    if budget is not None:
        state = "OVER" if e.over_budget else "below"
        lines[0] += (
            f"; budget ${budget.monthly_usd:,.0f}, first alert at {min(budget.alert_percents)} % = ${budget.first_alert_usd:,.0f} ({state})"
        )
    width = max((len(i.resource) for i in e.items), default=10)
    for item in sorted(e.items, key=_item_order):
        if round(item.monthly_usd, 2) == 0:
            continue
        lines.append(
            f"  {item.monthly_usd:>10,.2f}  {item.resource:<{width}}  {item.price_entry} x {item.quantity:,.4g} {item.unit}"
            + (f"  ({item.note})" if item.note else "")
        )
    lines.append("  Usage assumptions (crm:costAssumptions" + "; defaults for the environment marked *):")
    for a in e.settings.assumptions.values():
        lines.append(f"    {a.key} = {a.value:g} {a.unit}{' *' if a.default else ''}  {a.description}")
    if e.usage_only:
        types = sorted({t for _, t, _ in e.usage_only})
        lines.append(f"  Not estimated (billed by usage only): {', '.join(types)}")
    for problem in e.unpriced:
        lines.append(f"  UNPRICED {problem}")
    return "\n".join(lines)


def pricing_rules(estimates: Iterable[Estimate]) -> str:
    """RULES as a Markdown table: the types each rule prices, how (the first line of its docstring), and the
    price entries it drew in `estimates` (the shipped stacks' estimates, for docs/cost.md)."""
    drawn: dict[str, set[str]] = {}
    for e in estimates:
        for item in e.items:
            drawn.setdefault(item.type, set()).add(item.price_entry)
    types_of: dict[Rule, list[str]] = {}
    for type_, function in RULES.items():
        types_of.setdefault(function, []).append(type_)
    rows = ["| type | priced as | price entries the shipped stacks draw |", "| --- | --- | --- |"]
    for function, types in types_of.items():
        how = (function.__doc__ or "").strip().split("\n")[0]
        if not how:
            raise ValueError(f"the price rule {function.__name__} has no docstring saying how it prices")
        entries = sorted({entry for type_ in types for entry in drawn.get(type_, ())})
        listed = ", ".join(f"`{entry}`" for entry in entries) or "none"
        rows.append(f"| {', '.join(f'`{type_}`' for type_ in types)} | {how} | {listed} |")
    return "\n".join(rows)


def usage_only_table(table: PriceTable) -> str:
    """The types the estimate leaves out as billed by usage only, with the table's reason, as Markdown."""
    rows = ["| type | billed by (not estimated) |", "| --- | --- |"]
    rows += [f"| `{type_}` | {why.removesuffix('; not estimated')} |" for type_, why in sorted(table.usage_only.items())]
    return "\n".join(rows)


def price_table_summary(table: PriceTable) -> str:
    """One sentence of the price table's header: regions, currency basis, hours a month, the date read."""
    return (
        f"`{PRICE_TABLE.relative_to(PRICE_TABLE.parents[3]).as_posix()}` holds on-demand list prices for "
        f"{' and '.join(f'{cloud.upper()} {region}' for cloud, region in table.regions.items())} and Cloudflare's "
        f"load-balancing add-on, in {table.currency}, before tax, with {table.hours_per_month:g} hours a month "
        f"({len(table.prices)} entries, read {table.read})."
    )


def seeds_comparison(estimates: Iterable[Estimate]) -> str:
    """The DR estate against the source documents' $2,268/month, line by line, as a Markdown table."""
    totals: dict[tuple[str, str], float] = {}
    for e in estimates:
        for item in e.items:
            cloud = "transfer" if item.line == "transfer" else item.cloud
            totals[(cloud, item.line)] = totals.get((cloud, item.line), 0) + item.monthly_usd
    rows = ["| cloud | line | seeds (USD/month) | estimate (USD/month) | difference |", "| --- | --- | ---: | ---: | ---: |"]
    grand = 0.0
    for cloud, lines in SEED_LINES.items():
        for line, seed in lines.items():
            value = totals.pop((cloud, line), 0.0)
            grand += value
            rows.append(f"| {cloud} | {line} | {seed:,.0f} | {value:,.0f} | {value - seed:+,.0f} |")
        extra = sum(v for (c, _), v in totals.items() if c == cloud)
        if extra:
            grand += extra
            rows.append(f"| {cloud} | not in the seeds (keys, secrets, logs, messaging, ...) | 0 | {extra:,.0f} | {extra:+,.0f} |")
    rows.append(f"| **total** | | **{SEED_TOTAL:,.0f}** | **{grand:,.0f}** | **{grand - SEED_TOTAL:+,.0f}** |")
    return "\n".join(rows)
