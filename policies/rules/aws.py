"""Rules for AWS data stores, Kubernetes, registries, keys, queues, topics, secrets and networks."""

from __future__ import annotations

import json

from pulumi_policy import Severity

from .base import ADVISORY, MANDATORY, UNKNOWN, Resource, Rule, is_set, world

RDS = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS = "aws:eks/cluster:Cluster"
ECR = "aws:ecr/repository:Repository"
KMS = "aws:kms/key:Key"
SQS = "aws:sqs/queue:Queue"
SNS = "aws:sns/topic:Topic"
SECRET = "aws:secretsmanager/secret:Secret"
SSM = "aws:ssm/parameter:Parameter"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
CONTROL_PLANE_LOGS = {"api", "audit", "authenticator", "controllerManager", "scheduler"}
SENSITIVE_WORDS = ("password", "secret", "token", "key", "credential")
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
DATA_PORTS = {
    5432: "PostgreSQL",
    3306: "MySQL",
    1433: "SQL Server",
    6379: "Redis",
    11211: "Memcached",
    9092: "Kafka",
    9094: "Kafka TLS",
    9098: "Kafka IAM",
    27017: "MongoDB",
}


def _true(resource: Resource, prop: str, message: str):
    if resource.get(prop) is not True:
        yield message


def rds_backups(r: Resource):
    days = r.get("backupRetentionPeriod")
    if days is not UNKNOWN and not (isinstance(days, int) and 7 <= days <= 35):
        yield f"backupRetentionPeriod must be 7-35 days outside dev, got {days if days is not None else 'nothing (fails closed)'}"


def rds_final_snapshot(r: Resource):
    if r.get("skipFinalSnapshot") is True:
        yield "skipFinalSnapshot must not be true outside dev: a delete would lose the data"
    elif not is_set(r.get("finalSnapshotIdentifier")):
        yield "finalSnapshotIdentifier must be set so a delete leaves a snapshot"


def parameter_value(r: Resource, name: str):
    for parameter in r.get("parameters", []) or []:
        if isinstance(parameter, dict) and parameter.get("name") == name:
            return parameter
    return None


def force_ssl(r: Resource):
    if not str(r.get("family", "")).startswith("postgres"):
        return
    parameter = parameter_value(r, "rds.force_ssl")
    if parameter is None or str(parameter.get("value")) != "1":
        yield "parameter rds.force_ssl must be 1 so clients cannot connect without TLS"


def logical_replication(r: Resource):
    if r.environment != "dr" or not str(r.get("family", "")).startswith("postgres"):
        return
    parameter = parameter_value(r, "rds.logical_replication")
    if parameter is None or str(parameter.get("value")) != "1":
        yield "parameter rds.logical_replication must be 1 on the DR primary, or Cloud SQL receives nothing"
    elif parameter.get("applyMethod") != "pending-reboot":
        yield "parameter rds.logical_replication is static: its applyMethod must be pending-reboot"


def redis_auth(r: Resource):
    if not is_set(r.get("authToken")) and not is_set(r.get("userGroupIds")):
        yield "authToken (or RBAC userGroupIds) must be set: without it any client in the network can read the cache"


def redis_failover(r: Resource):
    nodes = r.get("numCacheClusters")
    if isinstance(nodes, int) and nodes < 2:
        yield f"numCacheClusters must be at least 2 outside dev for failover, got {nodes}"
    if r.get("automaticFailoverEnabled") is not True:
        yield "automaticFailoverEnabled must be true outside dev"
    if r.get("multiAzEnabled") is not True:
        yield "multiAzEnabled must be true outside dev"


def eks_endpoint(r: Resource):
    vpc = r.get("vpcConfig", {})
    public = vpc.get("endpointPublicAccess", True) if isinstance(vpc, dict) else True
    if public is True:
        cidrs = vpc.get("publicAccessCidrs") if isinstance(vpc, dict) else None
        if not cidrs or world(cidrs):
            yield "vpcConfig.endpointPublicAccess is on (the provider's default) with publicAccessCidrs open to 0.0.0.0/0; restrict the CIDRs or make the endpoint private"


def eks_secrets_encryption(r: Resource):
    encryption = r.get("encryptionConfig")
    configs = encryption if isinstance(encryption, list) else [encryption]
    if not any(
        isinstance(c, dict) and "secrets" in (c.get("resources") or []) and is_set((c.get("provider") or {}).get("keyArn")) for c in configs
    ):
        yield "encryptionConfig must encrypt 'secrets' with a KMS key"


def eks_logs(r: Resource):
    missing = CONTROL_PLANE_LOGS - set(r.get("enabledClusterLogTypes", []) or [])
    if missing:
        yield f"enabledClusterLogTypes is missing {', '.join(sorted(missing))}"


def encrypted_queue(r: Resource):
    if not is_set(r.get("kmsMasterKeyId")) and r.get("sqsManagedSseEnabled") is not True:
        yield "kmsMasterKeyId (or sqsManagedSseEnabled) must be set"


def sensitive_parameter(r: Resource):
    name = str(r.get("name", r.name)).lower()
    if any(word in name for word in SENSITIVE_WORDS) and r.get("type") != "SecureString":
        yield f"type must be SecureString for a parameter whose name suggests a secret, got {r.get('type')}"


def subnet_public_ip(r: Resource):
    tags = r.get("tags", {}) or {}
    if r.get("mapPublicIpOnLaunch") is True and tags.get("tier") != "public" and "public" not in r.name:
        yield "mapPublicIpOnLaunch must not be true outside a public subnet (tag tier=public)"


def _ports(r: Resource) -> tuple[str, int, int, list]:
    if r.type == INGRESS_RULE:
        return str(r.get("ipProtocol", "")), r.get("fromPort", 0), r.get("toPort", 65535), [r.get("cidrIpv4"), r.get("cidrIpv6")]
    return (
        str(r.get("protocol", "")),
        r.get("fromPort", 0),
        r.get("toPort", 65535),
        list(r.get("cidrBlocks", []) or []) + list(r.get("ipv6CidrBlocks", []) or []),
    )


def _world_ingress(r: Resource):
    """(protocol, from, to) of every ingress open to the world in a group, rule or legacy rule."""
    if r.type == SECURITY_GROUP:
        for rule in r.get("ingress", []) or []:
            if isinstance(rule, dict) and world(list(rule.get("cidrBlocks", []) or []) + list(rule.get("ipv6CidrBlocks", []) or [])):
                yield str(rule.get("protocol", "")), rule.get("fromPort", 0), rule.get("toPort", 65535)
        return
    if r.type == LEGACY_RULE and r.get("type") != "ingress":
        return
    protocol, low, high, cidrs = _ports(r)
    if world(cidrs):
        yield protocol, low, high


def _covers(low, high, port) -> bool:
    return isinstance(low, int) and isinstance(high, int) and low <= port <= high


def world_ports(ports: dict):
    def check(r: Resource):
        for protocol, low, high in _world_ingress(r):
            if protocol in ("-1", "all"):
                continue  # reported by sg-no-world-all-ports
            for port, label in ports.items():
                if _covers(low, high, port):
                    yield f"ingress from 0.0.0.0/0 opens {label} ({port})"

    return check


def world_all_ports(r: Resource):
    for protocol, low, high in _world_ingress(r):
        if protocol in ("-1", "all") or (low in (0, -1) and high in (65535, -1)):
            yield "ingress from 0.0.0.0/0 opens every port"


SG_TYPES = (SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE)


def listener_rule_origin_auth(r: Resource):
    """A listener rule admitting by the zone's origin-auth header compares only generated values: a short value or a
    wildcard lets any Cloudflare customer's zone in. The lone `*` is the rule of a listener that forwards every request
    until a value exists (components/aws/alb.py), so it admits nothing the listener's default does not."""
    for condition in r.get("conditions") or []:
        header = (condition or {}).get("httpHeader") if isinstance(condition, dict) else None
        if not isinstance(header, dict) or str(header.get("httpHeaderName", "")).lower() != ORIGIN_AUTH_HEADER:
            continue
        values = header.get("values")
        if values is UNKNOWN or values == ["*"]:
            return
        if (
            header.get("regexValues")
            or not values
            or any(not isinstance(v, str) or len(v) < ORIGIN_AUTH_VALUE_MIN_LENGTH or not v.isalnum() for v in values)
        ):
            yield (
                f"the {ORIGIN_AUTH_HEADER} condition must compare generated values ({ORIGIN_AUTH_VALUE_MIN_LENGTH}+ letters "
                "and digits, no wildcards or regular expressions): any Cloudflare customer's zone could guess its way in"
            )


LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
# The zone's secret request header (components/cloudflare/rulesets.py ORIGIN_AUTH_HEADER; the pack stands alone)
# and what a generated value of it looks like (components/gcp/origin_auth.py: 48 letters and digits).
ORIGIN_AUTH_HEADER = "x-crm-origin-auth"
ORIGIN_AUTH_VALUE_MIN_LENGTH = 32


def listener_mutual_tls(r: Resource):
    """An HTTPS listener (the internet-facing origin) admits only clients with a certificate from its trust store."""
    if r.get("protocol") != "HTTPS":
        return
    mtls = r.get("mutualAuthentication") or {}
    if mtls.get("mode") != "verify":
        yield f"mutualAuthentication.mode must be verify (Cloudflare's origin-pull certificate), got {mtls.get('mode')}"
    elif not is_set(mtls.get("trustStoreArn")):
        yield "mutualAuthentication.trustStoreArn must name the trust store holding Cloudflare's origin-pull CA"


MSK_CLUSTER, MSK_TOPIC = "aws:msk/cluster:Cluster", "aws:msk/topic:Topic"


def msk_durability(r: Resource):
    """An acknowledged write must survive a broker: three copies, two in sync, brokers spread evenly over the zones."""
    if r.type == MSK_CLUSTER:
        brokers = r.get("numberOfBrokerNodes")
        subnets = r.get("brokerNodeGroupInfo.clientSubnets")
        if brokers is UNKNOWN or subnets is UNKNOWN:
            return
        if not isinstance(brokers, int) or brokers < 3:
            yield f"numberOfBrokerNodes is {brokers}: replication factor 3 needs at least 3 brokers"
        elif isinstance(subnets, list) and subnets and brokers % len(subnets):
            yield f"numberOfBrokerNodes {brokers} is not a multiple of its {len(subnets)} client subnets (MSK places brokers evenly)"
        return
    factor = r.get("replicationFactor")
    configs = r.get("configs")
    if factor is UNKNOWN or configs is UNKNOWN:
        return
    try:
        in_sync = int(json.loads(configs).get("min.insync.replicas", 1)) if isinstance(configs, str) else 1
    except (ValueError, AttributeError):
        in_sync = 1
    if not isinstance(factor, int) or factor < 3 or in_sync < 2:
        yield f"replicationFactor {factor} and min.insync.replicas {in_sync}: an acknowledged write needs 3 copies, 2 in sync"


RULES = [
    Rule(
        "rds-storage-encrypted",
        "RDS storage is encrypted at rest",
        Severity.HIGH,
        MANDATORY,
        "fails closed (the provider's default is unencrypted)",
        (RDS,),
        lambda r: _true(r, "storageEncrypted", "storageEncrypted must be true"),
    ),
    Rule(
        "rds-not-public",
        "RDS instances are not reachable from the internet",
        Severity.CRITICAL,
        MANDATORY,
        "provider default false (private)",
        (RDS,),
        lambda r: ["publiclyAccessible must not be true"] if r.get("publiclyAccessible") is True else [],
    ),
    Rule(
        "rds-multi-az",
        "RDS runs Multi-AZ outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default single-AZ)",
        (RDS,),
        lambda r: _true(r, "multiAz", "multiAz must be true outside dev"),
        skip_in_dev=True,
    ),
    Rule(
        "rds-backup-retention",
        "RDS keeps 7-35 days of automated backups outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        (RDS,),
        rds_backups,
        skip_in_dev=True,
    ),
    Rule(
        "rds-deletion-protection",
        "RDS has deletion protection outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default off)",
        (RDS,),
        lambda r: _true(r, "deletionProtection", "deletionProtection must be true outside dev"),
        skip_in_dev=True,
    ),
    Rule(
        "rds-final-snapshot",
        "Deleting an RDS instance leaves a final snapshot outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed: finalSnapshotIdentifier must be set",
        (RDS,),
        rds_final_snapshot,
        skip_in_dev=True,
    ),
    Rule(
        "rds-iam-authentication",
        "RDS accepts IAM database authentication",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default off)",
        (RDS,),
        lambda r: _true(r, "iamDatabaseAuthenticationEnabled", "iamDatabaseAuthenticationEnabled should be true"),
    ),
    Rule(
        "rds-log-exports",
        "RDS exports PostgreSQL logs to CloudWatch",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default none)",
        (RDS,),
        lambda r: (
            []
            if "postgresql" in (r.get("enabledCloudwatchLogsExports", []) or []) or r.get("engine") != "postgres"
            else ["enabledCloudwatchLogsExports should include postgresql"]
        ),
    ),
    Rule(
        "rds-performance-insights",
        "RDS has Performance Insights on",
        Severity.LOW,
        ADVISORY,
        "fails closed (provider default off)",
        (RDS,),
        lambda r: _true(r, "performanceInsightsEnabled", "performanceInsightsEnabled should be true"),
    ),
    Rule(
        "rds-force-ssl",
        "PostgreSQL parameter groups force TLS (rds.force_ssl = 1)",
        Severity.HIGH,
        MANDATORY,
        "fails closed: the parameter must be listed",
        (PARAMETER_GROUP,),
        force_ssl,
    ),
    Rule(
        "rds-logical-replication-dr",
        "The DR primary's parameter group enables logical replication (pending-reboot)",
        Severity.HIGH,
        MANDATORY,
        "fails closed in dr; not applied elsewhere",
        (PARAMETER_GROUP,),
        logical_replication,
    ),
    Rule(
        "elasticache-encryption-at-rest",
        "ElastiCache encrypts data at rest",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default off)",
        (REDIS,),
        lambda r: _true(r, "atRestEncryptionEnabled", "atRestEncryptionEnabled must be true"),
    ),
    Rule(
        "elasticache-encryption-in-transit",
        "ElastiCache encrypts traffic (TLS)",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default off)",
        (REDIS,),
        lambda r: _true(r, "transitEncryptionEnabled", "transitEncryptionEnabled must be true"),
    ),
    Rule("elasticache-auth", "ElastiCache requires AUTH (token or RBAC)", Severity.HIGH, MANDATORY, "fails closed", (REDIS,), redis_auth),
    Rule(
        "elasticache-failover",
        "ElastiCache fails over automatically across zones outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default off)",
        (REDIS,),
        redis_failover,
        skip_in_dev=True,
    ),
    Rule(
        "eks-endpoint-not-world",
        "The EKS API endpoint is not open to the whole internet",
        Severity.CRITICAL,
        MANDATORY,
        "fails closed: the provider's default is a public endpoint open to 0.0.0.0/0",
        (EKS,),
        eks_endpoint,
    ),
    Rule(
        "eks-secrets-encryption",
        "EKS encrypts Kubernetes secrets with KMS",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        (EKS,),
        eks_secrets_encryption,
    ),
    Rule(
        "eks-control-plane-logs",
        "EKS sends all control-plane logs to CloudWatch",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default none)",
        (EKS,),
        eks_logs,
    ),
    Rule(
        "ecr-immutable-tags",
        "ECR tags are immutable",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default MUTABLE)",
        (ECR,),
        lambda r: (
            []
            if r.get("imageTagMutability") == "IMMUTABLE"
            else [f"imageTagMutability should be IMMUTABLE, got {r.get('imageTagMutability', 'MUTABLE (default)')}"]
        ),
    ),
    Rule(
        "ecr-scan-on-push",
        "ECR scans images on push",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default off)",
        (ECR,),
        lambda r: (
            []
            if (r.get("imageScanningConfiguration") or {}).get("scanOnPush") is True
            else ["imageScanningConfiguration.scanOnPush should be true"]
        ),
    ),
    Rule(
        "kms-key-rotation",
        "KMS keys rotate automatically",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default off)",
        (KMS,),
        lambda r: _true(r, "enableKeyRotation", "enableKeyRotation should be true"),
    ),
    Rule("sqs-encrypted", "SQS queues are encrypted", Severity.HIGH, MANDATORY, "fails closed", (SQS,), encrypted_queue),
    Rule(
        "sns-encrypted",
        "SNS topics are encrypted with KMS",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default unencrypted)",
        (SNS,),
        lambda r: [] if is_set(r.get("kmsMasterKeyId")) else ["kmsMasterKeyId must be set"],
    ),
    Rule(
        "secretsmanager-cmk",
        "Secrets Manager secrets use a customer-managed KMS key",
        Severity.MEDIUM,
        ADVISORY,
        "provider default aws/secretsmanager key: flagged",
        (SECRET,),
        lambda r: [] if is_set(r.get("kmsKeyId")) else ["kmsKeyId should name a customer-managed key"],
    ),
    Rule(
        "ssm-sensitive-securestring",
        "SSM parameters that hold secrets are SecureString",
        Severity.HIGH,
        MANDATORY,
        "fails closed (type is required by the provider)",
        (SSM,),
        sensitive_parameter,
    ),
    Rule(
        "sg-no-world-admin-ports",
        "No SSH or RDP from 0.0.0.0/0",
        Severity.CRITICAL,
        MANDATORY,
        "a rule without CIDRs is not world-open",
        SG_TYPES,
        world_ports(ADMIN_PORTS),
    ),
    Rule(
        "sg-no-world-data-ports",
        "No database, cache or Kafka port from 0.0.0.0/0",
        Severity.CRITICAL,
        MANDATORY,
        "a rule without CIDRs is not world-open",
        SG_TYPES,
        world_ports(DATA_PORTS),
    ),
    Rule(
        "sg-no-world-all-ports",
        "No all-ports ingress from 0.0.0.0/0",
        Severity.CRITICAL,
        MANDATORY,
        "a rule without CIDRs is not world-open",
        SG_TYPES,
        world_all_ports,
    ),
    Rule(
        "subnet-no-public-ip-outside-public",
        "Only public subnets hand out public IPs",
        Severity.HIGH,
        MANDATORY,
        "provider default false (no public IPs)",
        (SUBNET,),
        subnet_public_ip,
    ),
    Rule(
        "msk-durability",
        "MSK brokers are a multiple of their client subnets, at least 3, and topics keep 3 copies with min.insync.replicas 2",
        Severity.HIGH,
        MANDATORY,
        "fails closed (a missing count, factor or min.insync.replicas is reported)",
        (MSK_CLUSTER, MSK_TOPIC),
        msk_durability,
    ),
    Rule(
        "alb-origin-auth-values",
        "An ALB listener rule on the zone's origin-auth header compares only generated values",
        Severity.HIGH,
        MANDATORY,
        "a value known only after deploy is not judged; the lone `*` of a listener still forwarding by default passes",
        (LISTENER_RULE,),
        listener_rule_origin_auth,
    ),
    Rule(
        "alb-mtls-verify",
        "The ALB's HTTPS listener verifies the client certificate (authenticated origin pulls)",
        Severity.HIGH,
        MANDATORY,
        "fails closed (a listener without mutualAuthentication accepts any client)",
        (LISTENER,),
        listener_mutual_tls,
    ),
]
