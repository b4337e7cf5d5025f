"""The SLA of crm:monitoring as the objectives the SLO components watch, and as the stack output the game day reads."""

from __future__ import annotations

from components.slo import LATENCY_PERCENTILE, PERIOD_DAYS, Objectives

from .config.model import Monitoring


def objectives(monitoring: Monitoring) -> Objectives:
    return Objectives(availability_percent=monitoring.availability_percent, latency_ms=monitoring.latency_p95_ms)


def sla_output(monitoring: Monitoring) -> dict:
    """`sla`: what `python -m dr gameday` compares its figures with, and the global stack's Cloudflare alert reads."""
    return {
        "availabilityPercent": monitoring.availability_percent,
        "latencyP95Ms": monitoring.latency_p95_ms,
        "latencyPercentile": LATENCY_PERCENTILE,
        "rpoSeconds": monitoring.rpo_seconds,
        "rtoSeconds": monitoring.rto_seconds,
        "periodDays": PERIOD_DAYS,
        "downtimeBudgetSeconds": round(objectives(monitoring).downtime_budget_seconds, 1),
    }
