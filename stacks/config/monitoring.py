"""Parses and validates `crm:monitoring` (AWS and GCP stacks) and `crm:replication` (GCP stacks).

Every threshold is declared here once, with its per-environment default in `sizes.MONITORING`; the
components receive the typed values and the tests tie each alarm back to them.
"""
from __future__ import annotations

import re

from . import model, sizes
from .reader import Problems, Section

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
# The documented placeholder for the GCP billing account (stacks/config/placeholders.py refuses it at `pulumi up`).
PLACEHOLDER_BILLING_ACCOUNT = "000000-000000-000000"


def parse(problems: Problems, common: model.Common, raw: dict, *, cloud: str) -> model.Monitoring:
    row = {**sizes.MONITORING["common"], **sizes.MONITORING.get(common.environment, sizes.MONITORING["production"])}
    m = Section(problems, "crm:monitoring", raw.get("crm:monitoring"))
    pct = dict(minimum=1, maximum=100)
    monitoring = model.Monitoring(
        emails=m.strings("emails", [f"oncall@{common.public_host}"]),
        rpo_seconds=m.integer("rpoSeconds", row["rpoSeconds"], minimum=1, maximum=86400),
        replication_lag_seconds=m.integer("replicationLagSeconds", row["replicationLagSeconds"], minimum=1, maximum=86400),
        latency_p95_ms=m.integer("latencyP95Ms", row["latencyP95Ms"], minimum=1, maximum=60000),
        cpu_percent=m.integer("cpuPercent", row["cpuPercent"], **pct),
        free_storage_percent=m.integer("freeStoragePercent", row["freeStoragePercent"], minimum=1, maximum=99),
        disk_percent=m.integer("diskPercent", row["diskPercent"], **pct),
        database_connections=m.integer("databaseConnections", row["databaseConnections"], minimum=1, maximum=100000),
        slot_wal_alarm_percent=m.integer("slotWalAlarmPercent", row["slotWalAlarmPercent"], minimum=1, maximum=90),
        wal_bytes_per_second=m.integer("walBytesPerSecond", row["walBytesPerSecond"], minimum=1, maximum=10**10),
        cache_cpu_percent=m.integer("cacheCpuPercent", row["cacheCpuPercent"], **pct),
        cache_memory_percent=m.integer("cacheMemoryPercent", row["cacheMemoryPercent"], **pct),
        cache_replication_lag_seconds=m.integer("cacheReplicationLagSeconds", row["cacheReplicationLagSeconds"], minimum=1, maximum=3600),
        http_5xx_per_minute=m.integer("http5xxPerMinute", row["http5xxPerMinute"], minimum=0, maximum=10**6),
        dead_letter_messages=m.integer("deadLetterMessages", row["deadLetterMessages"], minimum=0, maximum=10**6),
        kafka_disk_percent=m.integer("kafkaDiskPercent", row["kafkaDiskPercent"], **pct),
        container_restarts=m.integer("containerRestarts", row["containerRestarts"], minimum=1, maximum=10**4),
        monthly_budget_usd=m.integer("monthlyBudgetUsd", row["monthlyBudgetUsd"], minimum=1, maximum=10**8),
        budget_alert_percents=_percents(m, row["budgetAlertPercents"]),
        billing_account=m.string("billingAccount", PLACEHOLDER_BILLING_ACCOUNT) if cloud == "gcp" else "",
    )
    m.finish()
    if not monitoring.emails:
        problems.add("crm:monitoring.emails", "must list at least one address: an alarm nobody receives is not an alarm")
    for i, email in enumerate(monitoring.emails):
        if not _EMAIL.match(email):
            problems.add(f"crm:monitoring.emails[{i}]", f"'{email}' is not an e-mail address")
    if monitoring.replication_lag_seconds >= monitoring.rpo_seconds:
        problems.add("crm:monitoring.replicationLagSeconds", f"must be below rpoSeconds ({monitoring.rpo_seconds}) so the alarm fires "
                     f"before the RPO is spent, got {monitoring.replication_lag_seconds}")
    if cloud == "gcp" and not _BILLING_ACCOUNT.match(monitoring.billing_account):
        problems.add("crm:monitoring.billingAccount", f"'{monitoring.billing_account}' is not a billing account id such as 01A2B3-C4D5E6-F7A8B9")
    return monitoring


def _percents(m: Section, default: list[int]) -> list[int]:
    values = m.integers("budgetAlertPercents", default)
    key = "crm:monitoring.budgetAlertPercents"
    if not values:
        m.problems.add(key, "must list at least one percentage, such as [80, 100]")
        return list(default)
    for value in values:
        if not 1 <= value <= 1000:
            m.problems.add(key, f"each percentage must be between 1 and 1000, got {value}")
    if len(set(values)) != len(values):
        m.problems.add(key, "lists a percentage twice")
    return sorted(values)


def parse_replication(problems: Problems, common: model.Common, raw: dict, *, default_enabled: bool, database_enabled: bool) -> model.Replication:
    r = Section(problems, "crm:replication", raw.get("crm:replication"))
    replication = model.Replication(
        enabled=r.boolean("enabled", default_enabled),
        tool_image=r.string("toolImage", ""),
        namespace=r.string("namespace", "crm-replication"),
    )
    r.finish()
    if replication.enabled:
        if not database_enabled:
            problems.add("crm:replication.enabled", "needs crm:database.enabled: the setup Job subscribes Cloud SQL to RDS")
        if not replication.tool_image:
            problems.add("crm:replication.toolImage", "is required when replication is enabled: the image built from dr/Dockerfile")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", replication.namespace):
        problems.add("crm:replication.namespace", f"'{replication.namespace}' is not a Kubernetes namespace name")
    return replication
