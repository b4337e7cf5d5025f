"""Parses and validates `crm:monitoring` (AWS and GCP stacks) and `crm:replication` (GCP stacks).

Every threshold is declared once on `model.Monitoring`, with its per-environment default in
`sizes.MONITORING`; the components receive the typed values and the tests tie each alarm back to them.
"""

from __future__ import annotations

from . import model
from .reader import Problems
from .rules import PLACEHOLDER_BILLING_ACCOUNT  # noqa: F401  (its home before the schema)
from .schema import Context, Parsed, Unavailable, read


def parse(problems: Problems, common: model.Common, raw: dict, context: Context, *, cloud: str) -> Parsed:
    monitoring = read(problems, "crm:monitoring", raw.get("crm:monitoring"), model.Monitoring, context, cloud=cloud)
    with problems.relation():
        if monitoring.replication_lag_seconds >= monitoring.rpo_seconds:
            problems.add(
                "crm:monitoring.replicationLagSeconds",
                f"must be below rpoSeconds ({monitoring.rpo_seconds}) so the alarm fires "
                f"before the RPO is spent, got {monitoring.replication_lag_seconds}",
            )
    return monitoring


def parse_replication(
    problems: Problems, common: model.Common, raw: dict, context: Context, *, interconnect: bool, database: Parsed
) -> Parsed:
    extra = {}
    try:
        extra["replication_default"] = interconnect and database.logical_decoding
    except Unavailable:  # logicalDecoding is wrong, and reported
        pass
    replication = read(
        problems,
        "crm:replication",
        raw.get("crm:replication"),
        model.Replication,
        Context(common, extra=extra, environment_valid=context.environment_valid),
    )
    with problems.relation():
        if replication.enabled and not database.enabled:
            problems.add("crm:replication.enabled", "needs crm:database.enabled: the setup Job subscribes Cloud SQL to RDS")
    with problems.relation():
        if replication.enabled and not replication.tool_image:
            problems.add("crm:replication.toolImage", "is required when replication is enabled: the image built from dr/Dockerfile")
    return replication
