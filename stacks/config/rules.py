"""Rules on a single value that the schema (`model.py`) attaches to its settings.

Each returns the problem in words, or None when the value is fine. Rules that relate several
settings live in relations.py.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from components.interconnect import addressing

from .reader import HOST_NAME

Rule = Callable[[Any], str | None]

# RFC 6996 private ASNs, the only ones a VGW accepts as its Amazon-side ASN.
PRIVATE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
# The retentions CloudWatch Logs accepts (PutRetentionPolicy's retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
# Strimzi releases this program is written for, and the Kafka versions each supports (the release's
# kafka-versions.yaml, entries with `supported: true`). Strimzi 1.x serves only the kafka.strimzi.io/v1
# API and supports Kubernetes 1.30 and newer (CHANGELOG, 0.51.0); 0.45.0 does not start on 1.33+.
STRIMZI_KAFKA_VERSIONS = {"1.2.0": ("4.2.0", "4.2.1", "4.3.0", "4.3.1")}
STRIMZI_DEFAULT, KAFKA_DEFAULT = "1.2.0", "4.3.1"
CHECK_REGIONS = ("WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS", "ALL_REGIONS")
RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")
# The documented placeholder for the GCP billing account (stacks/config/placeholders.py refuses it at `pulumi up`).
PLACEHOLDER_BILLING_ACCOUNT = "000000-000000-000000"

_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
_EKS_VERSION = re.compile(r"^1\.\d{2}$")
_PG_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TIER = re.compile(r"^db-(custom-\d+-\d+|perf-optimized-N-\d+|f1-micro|g1-small)$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # a Docker tag: 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'
_QUANTITY_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
_QUANTITY_MEMORY = re.compile(r"^[0-9]+(Ki|Mi|Gi)$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
# GitHub owner and repository names: letters, digits, '-', and for repositories also '.' and '_'.
# Anything else (notably '*' or '?') would widen an OIDC trust beyond one repository.
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REF_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_GCP_MEMBER = re.compile(r"^(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def is_private_asn(asn: int) -> bool:
    return any(low <= asn <= high for low, high in PRIVATE_ASN_RANGES)


def matches(pattern: re.Pattern, what: str, *, allow_empty: bool = False) -> Rule:
    """`'<value>' <what>` unless the value matches (an empty value passes when allowed)."""

    def rule(value: Any) -> str | None:
        if allow_empty and value == "":
            return None
        return None if pattern.match(value) else f"'{value}' {what}"

    return rule


def cidr_admitting(why: str) -> Rule:
    """A CIDR string that is not 0.0.0.0/0 (`why` says what the range opens)."""

    def rule(value: Any) -> str | None:
        if isinstance(value, ipaddress.IPv4Network):
            network = value
        else:
            try:
                network = ipaddress.IPv4Network(value, strict=True)
            except ValueError as error:
                return f"'{value}' is not a valid IPv4 CIDR ({error})"
        return f"must not be 0.0.0.0/0: {why}" if network.prefixlen == 0 else None

    return rule


def eks_version(value: str) -> str | None:
    return None if _EKS_VERSION.match(value) else f"must be a Kubernetes minor such as 1.35, got '{value}'"


def rds_class(value: str) -> str | None:
    return None if value.startswith("db.") else f"must be an RDS class such as db.t3.large, got '{value}'"


def postgres_15(value: str) -> str | None:
    return None if value.split(".")[0] == "15" else f"must be PostgreSQL 15 (the Cloud SQL subscriber runs 15), got '{value}'"


def rds_admin(value: str) -> str | None:
    return f"'{value}' is reserved by RDS PostgreSQL" if value in ("admin", "postgres", "rdsadmin") else None


def log_retention(value: int) -> str | None:
    return (
        None
        if value in LOG_RETENTION_DAYS
        else f"must be a retention CloudWatch Logs offers ({', '.join(map(str, LOG_RETENTION_DAYS))}), got {value}"
    )


def aws_region_or_empty(value: str) -> str | None:
    if not value or re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value):
        return None
    return f"must be an AWS region such as ap-northeast-1 (or empty for no copy), got '{value}'"


def gcp_backup_location(value: str) -> str | None:
    if not value or re.fullmatch(r"(asia|eu|us)|[a-z]+-[a-z]+\d", value):
        return None
    return f"must be a GCP region such as asia-northeast1 or a multi-region (asia, eu, us), got '{value}'"


def postgres_role(value: str) -> str | None:
    return None if _PG_ROLE.match(value) else f"'{value}' must be a lower-case PostgreSQL identifier (letters, digits, _)"


def prefixed(prefix: str, what: str) -> Rule:
    return lambda value: None if value.startswith(prefix) else f"must be {what}, got '{value}'"


def certificate_arn(value: str) -> str | None:
    return None if not value or _CERT_ARN.match(value) else f"'{value}' is not an ACM certificate ARN"


def registry_repository(value: str) -> str | None:
    if re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", value):
        return None
    return f"'{value}' must be lower-case letters, digits and . _ - separators"


def private_asn(value: int) -> str | None:
    return None if is_private_asn(value) else f"{value} is not a private ASN (64512-65534 or 4200000000-4294967294)"


def cloud_router_asn(value: int) -> str | None:
    return "; ".join(addressing.asn_problems(value, role="Cloud Router")) or None


def inside_block(block: ipaddress.IPv4Network) -> str | None:
    if block.prefixlen > 28:
        return f"needs room for four /30s (a /28 or larger), got {block}"
    return "; ".join(addressing.inside_cidr_problems(addressing.plan_inside_cidrs(block))) or None


def gke_master(value: ipaddress.IPv4Network) -> str | None:
    return None if value.prefixlen == 28 else f"GKE needs a /28 for the control plane, got {value}"


def private_services(value: ipaddress.IPv4Network) -> str | None:
    return None if value.prefixlen <= 24 else f"private services access needs at least a /24, got {value}"


def cloud_sql_tier(value: str) -> str | None:
    return None if _TIER.match(value) else f"'{value}' is not a Cloud SQL PostgreSQL tier such as db-custom-4-15360"


def host_name(value: str) -> str | None:
    return None if HOST_NAME.match(value) else f"'{value}' is not a lower-case DNS host name"


def host_name_or_empty(value: str) -> str | None:
    return None if not value else host_name(value)


def cloudflare_id(value: str) -> str | None:
    return None if _HEX32.match(value) else f"must be a 32-character Cloudflare id, got '{value}'"


def email(value: str) -> str | None:
    return None if _EMAIL.match(value) else f"'{value}' is not an e-mail address"


def numeric_id(value: str) -> str | None:
    return None if value.isdigit() else f"'{value}' is not a numeric id such as 123456789012"


def billing_account(value: str) -> str | None:
    return None if _BILLING_ACCOUNT.match(value) else f"'{value}' is not a billing account id such as 01A2B3-C4D5E6-F7A8B9"


def percentages(values: list[int]) -> str | None:
    if not values:
        return "must list at least one percentage, such as [80, 100]"
    if len(set(values)) != len(values):
        return "lists a percentage twice"
    return None


def percentage(value: int) -> str | None:
    return None if 1 <= value <= 1000 else f"each percentage must be between 1 and 1000, got {value}"


def distinct(what: str) -> Rule:
    """Each item once: the stacks name a resource after each item, so a repeated one would be two resources of one name."""

    def rule(values: list) -> str | None:
        repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
        return f"lists {what} {', '.join(repeated)} more than once" if repeated else None

    return rule


def not_empty(what: str) -> Rule:
    return lambda values: None if values else what


def namespace(value: str) -> str | None:
    return None if _NAMESPACE.fullmatch(value) else f"'{value}' is not a Kubernetes namespace name"


def image_tag(value: str) -> str | None:
    if not _IMAGE_TAG.match(value):
        return f"'{value}' is not an image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)"
    if value == "latest":
        return "must name a release, not 'latest': a moving tag makes rollouts and rollbacks unrepeatable"
    return None


def cpu_quantity(value: str) -> str | None:
    return None if _QUANTITY_CPU.match(value) else f"'{value}' is not a CPU quantity such as 250m or 1"


def memory_quantity(value: str) -> str | None:
    return None if _QUANTITY_MEMORY.match(value) else f"'{value}' is not a memory quantity such as 512Mi or 1Gi"


def url_path(value: str) -> str | None:
    return None if _PATH.match(value) else f"'{value}' is not an absolute URL path such as /health"


def check_region(value: str) -> str | None:
    return None if value in CHECK_REGIONS else f"'{value}' is not a Cloudflare check region ({', '.join(CHECK_REGIONS)})"


def github_repository(value: str) -> str | None:
    return None if REPOSITORY.match(value) else f"'{value}' must be OWNER/REPO, without wildcards"


def ref_name(value: str) -> str | None:
    return None if _REF_NAME.match(value) else f"'{value}' is not a plain name (letters, digits, '.', '_', '-', '/'; no wildcards)"


def iam_principal(value: str) -> str | None:
    return None if _IAM_PRINCIPAL.match(value) else f"'{value}' is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)"


def admin_principals(values: list[str]) -> str | None:
    if not values:
        return (
            "must list the identities that deploy and operate the cluster (the bootstrap stack's awsDeployRoleArn, or "
            "awsProductionDeployRoleArn for a stack deployed in the production environment, and your "
            "operators' roles): EKS gives no one implicit access, not even the identity that creates the cluster"
        )
    if len(set(values)) != len(values):
        return "lists a principal twice: each principal has one access entry"
    return None


def gcp_member(value: str) -> str | None:
    return None if _GCP_MEMBER.match(value) else f"'{value}' is not an IAM member (user:, group: or serviceAccount: and an e-mail address)"


def gcp_project(value: str) -> str | None:
    return None if PROJECT_ID.match(value) else f"'{value}' is not a GCP project id"


def cpu(value: str) -> float:
    return int(value[:-1]) / 1000 if value.endswith("m") else float(value)


def memory(value: str) -> int:
    return int(value[:-2]) * {"Ki": 1, "Mi": 1024, "Gi": 1024 * 1024}[value[-2:]]


# Kafka's legal topic names (letters, digits, '.', '_', '-'; at most 249 characters).
_KAFKA_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
APP_TOPIC_PREFIX = "crm."


def kafka_topic(value: str) -> str | None:
    if not _KAFKA_TOPIC.match(value) or value in (".", ".."):
        return f"'{value}' is not a Kafka topic name (letters, digits, . _ -; at most 249)"
    if not value.startswith(APP_TOPIC_PREFIX):
        return f"'{value}' must start with '{APP_TOPIC_PREFIX}', the prefix the application's permissions cover"
    return None


def rotation_interval(value: int) -> str | None:
    return (
        None if value == 0 or value >= 7 else f"must be 0 (no schedule) or at least 7: each rotation restarts the application, got {value}"
    )


def iso_date(value: str) -> str | None:
    try:
        datetime.date.fromisoformat(str(value))
    except ValueError:
        return f"must be a date such as 2026-01-01, got '{value}'"
    return None
