"""Rules for database audit logging, log retention and data stores reachable only by the application."""

from __future__ import annotations

from pulumi_policy import Severity

from .base import MANDATORY, UNKNOWN, Resource, Rule, is_set

PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
# The pgAudit classes that cover DDL and role changes; `all` covers both.
AUDITED = {"ddl", "role"}
SESSION_EVENTS = ("log_connections", "log_disconnections")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# Audit trails: the EKS control plane's (API server audit) and RDS PostgreSQL's (pgAudit, connections).
AUDIT_LOG_PREFIXES = ("/aws/eks/", "/aws/rds/")
AUDIT_LOG_DAYS = 365
SHORT_LIVED_ENVIRONMENTS = ("dev", "staging")
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
EKS = "aws:eks/cluster:Cluster"
# PostgreSQL, Redis, Kafka (plaintext, TLS, SASL/SCRAM, IAM).
DATA_STORE_PORTS = {5432: "PostgreSQL", 6379: "Redis", 9092: "Kafka", 9094: "Kafka TLS", 9096: "Kafka SCRAM", 9098: "Kafka IAM"}


def _classes(value) -> set[str]:
    return {c.strip().lower() for c in str(value or "").split(",") if c.strip()}


def _audit_problems(settings: dict, on: str, preloaded: bool) -> list[str]:
    """What a PostgreSQL's logging settings lack: pgAudit DDL/role classes, session events, no statement text."""
    problems = []
    if not preloaded:
        problems.append("pgAudit is not loaded")
    classes = _classes(settings.get("pgaudit.log"))
    if "all" not in classes and not classes >= AUDITED:
        problems.append(f"pgaudit.log must include ddl and role (got '{settings.get('pgaudit.log', '')}')")
    problems += [f"{name} must be {on}" for name in SESSION_EVENTS if str(settings.get(name)) != on]
    slow = settings.get("log_min_duration_statement")
    if slow is not None and str(slow) != "-1":
        problems.append(f"log_min_duration_statement must be -1: at {slow} ms statements are logged with their values")
    if str(settings.get("log_statement", "none")).lower() in ("mod", "all"):
        problems.append("log_statement must not log data-changing statements (their text holds customer data)")
    if str(settings.get("pgaudit.log_parameter", "off")) in ("on", "1"):
        problems.append("pgaudit.log_parameter must be off (parameters hold customer data)")
    return problems


def rds_audit_logging(r: Resource):
    if not str(r.get("family", "")).startswith("postgres"):
        return
    parameters = r.get("parameters")
    if parameters is UNKNOWN:
        return
    settings = {p.get("name"): p.get("value") for p in parameters or [] if isinstance(p, dict)}
    preloaded = "pgaudit" in _classes(settings.get("shared_preload_libraries"))
    problems = _audit_problems(settings, "1", preloaded)
    if problems:
        yield "audit logging incomplete: " + "; ".join(problems)


def cloudsql_audit_logging(r: Resource):
    if not str(r.get("databaseVersion", "POSTGRES")).startswith("POSTGRES"):
        return
    flags = (r.get("settings") or {}).get("databaseFlags")
    if flags is UNKNOWN:
        return
    settings = {f.get("name"): f.get("value") for f in flags or [] if isinstance(f, dict)}
    problems = _audit_problems(settings, "on", settings.get("cloudsql.enable_pgaudit") == "on")
    if problems:
        yield "audit logging incomplete: " + "; ".join(problems)


def audit_log_retention(r: Resource):
    name = r.get("name")
    if r.environment in SHORT_LIVED_ENVIRONMENTS or not isinstance(name, str) or not name.startswith(AUDIT_LOG_PREFIXES):
        return
    days = r.get("retentionInDays")
    if days is UNKNOWN or days in (None, 0):  # 0 / unset: never expires
        return
    if not isinstance(days, int) or days < AUDIT_LOG_DAYS:
        yield f"retentionInDays must be at least {AUDIT_LOG_DAYS} for an audit log outside dev and staging, got {days}"


def _source_group_dependencies(r: Resource) -> list[str]:
    prop = "referencedSecurityGroupId" if r.type == INGRESS_RULE else "sourceSecurityGroupId"
    return list(r.property_dependencies.get(prop) or [])


def _data_port(r: Resource):
    low, high = r.get("fromPort"), r.get("toPort")
    if r.get("ipProtocol", r.get("protocol")) in ("-1", "all"):
        return "every port"
    for port, service in DATA_STORE_PORTS.items():
        if isinstance(low, int) and isinstance(high, int) and low <= port <= high:
            return f"{service} ({port})"
    return None


def data_stores_admit_the_application(resources):
    """A data-store port opened to the EKS cluster security group admits every node and pod of the cluster."""
    clusters = {r.urn for r in resources if r.type == EKS}
    for r in resources:
        if r.type not in (INGRESS_RULE, LEGACY_RULE) or r.environment == "dev":
            continue
        if r.type == LEGACY_RULE and r.get("type") != "ingress":
            continue
        port = _data_port(r)
        if port and clusters & set(_source_group_dependencies(r)):
            yield (
                f"{r.describe()}: admits {port} from the EKS cluster security group, i.e. every node and pod; "
                "admit the application's pods' own group (security groups for pods) instead"
            )


KMS_KEY = "aws:kms/key:Key"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def kms_key_policy(r: Resource):
    if not is_set(r.get("policy")):
        yield "policy must be written out (without it AWS applies its default policy, which nobody reviewed with the key)"


def lifecycle_aborts_multipart(r: Resource):
    rules = r.get("rules")
    if rules is UNKNOWN:
        return
    enabled = [rule for rule in rules or [] if isinstance(rule, dict) and rule.get("status") == "Enabled"]
    if not any(is_set((rule.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation")) for rule in enabled):
        yield "no enabled rule aborts incomplete multipart uploads (abortIncompleteMultipartUpload): their parts are kept and billed forever"


RULES = [
    Rule(
        "kms-key-policy",
        "Every KMS key has an explicit key policy",
        Severity.MEDIUM,
        MANDATORY,
        "fails closed (the default policy is AWS's, not reviewed with the key)",
        (KMS_KEY,),
        kms_key_policy,
    ),
    Rule(
        "s3-lifecycle-aborts-multipart",
        "S3 lifecycle configurations abort incomplete multipart uploads",
        Severity.LOW,
        MANDATORY,
        "fails closed (S3 keeps the parts of an abandoned upload forever)",
        (LIFECYCLE,),
        lifecycle_aborts_multipart,
    ),
    Rule(
        "rds-audit-logging",
        "RDS PostgreSQL logs connections, DDL and role changes (pgAudit) and no statement values",
        Severity.HIGH,
        MANDATORY,
        "fails closed: the parameters must be listed",
        (PARAMETER_GROUP,),
        rds_audit_logging,
    ),
    Rule(
        "cloudsql-audit-logging",
        "Cloud SQL PostgreSQL logs connections, DDL and role changes (pgAudit) and no statement values",
        Severity.HIGH,
        MANDATORY,
        "fails closed: the flags must be listed",
        (SQL,),
        cloudsql_audit_logging,
    ),
    Rule(
        "audit-log-retention",
        "EKS control-plane and RDS log groups keep a year outside dev and staging",
        Severity.MEDIUM,
        MANDATORY,
        "provider default: never expire (passes)",
        (LOG_GROUP,),
        audit_log_retention,
    ),
    Rule(
        "data-stores-not-open-to-cluster",
        "Database, cache and Kafka ports are not open to the whole EKS cluster outside dev",
        Severity.HIGH,
        MANDATORY,
        "a rule whose source group is not known to come from the cluster passes",
        stack_check=data_stores_admit_the_application,
    ),
]
