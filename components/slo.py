"""The service level objectives both clouds watch, and the burn-rate maths their alerts share.

The SLA of the source documents is availability 99.99 % and p95 latency < 200 ms. As objectives
over a rolling 30 days:

- availability: at most `1 - availability` of requests answered with a 5xx (the error budget);
- latency: at least 95 % of requests answered within `latency_ms`, so at most 5 % slower (its
  budget). "p95 < 200 ms" holds exactly when that share holds.

The alerts follow the multiwindow, multi-burn-rate recipe of Google's SRE workbook ("Alerting on
SLOs", https://sre.google/workbook/alerting-on-slos/): an alert fires when the budget burns at
`burn_rate` times the sustainable rate over a long window *and* over a short one (the short one
makes the alert reset soon after the burning stops). A burn rate of 1 spends the whole budget in
exactly the objective's period. Cloudflare's own origin error-rate alert uses the same recipe.

No cloud SDK is imported here: the stacks, both clouds' SLO components and the docs read these
figures from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

PERIOD_DAYS = 30  # the objectives' rolling period (Cloud Monitoring allows 1-30 days)
LATENCY_PERCENTILE = 95.0  # the "p95" of crm:monitoring.latencyP95Ms


@dataclass(frozen=True)
class BurnWindow:
    """One burn-rate alert: fires when both windows burn faster than `burn_rate`."""

    name: str
    long_seconds: int
    short_seconds: int
    burn_rate: float

    @property
    def budget_share(self) -> float:
        """The share of the period's budget spent when the long window burns at exactly `burn_rate`."""
        return self.burn_rate * self.long_seconds / (PERIOD_DAYS * 86400)


# 2 % of the month's budget in one hour, 5 % in six hours (the workbook's two paging alerts).
FAST_BURN = BurnWindow("fast-burn", long_seconds=3600, short_seconds=300, burn_rate=14.4)
SLOW_BURN = BurnWindow("slow-burn", long_seconds=6 * 3600, short_seconds=1800, burn_rate=6.0)
BURN_WINDOWS = (FAST_BURN, SLOW_BURN)


@dataclass(frozen=True)
class Objectives:
    """The SLA as objectives, from crm:monitoring (availabilityPercent, latencyP95Ms)."""

    availability_percent: float
    latency_ms: int

    def __post_init__(self) -> None:
        if not 0 < self.availability_percent < 100:
            raise ValueError(f"availability_percent must be between 0 and 100 (exclusive), got {self.availability_percent}")
        if self.latency_ms <= 0:
            raise ValueError(f"latency_ms must be positive, got {self.latency_ms}")

    @property
    def availability(self) -> float:
        """The availability goal as a fraction (0.9999)."""
        return self.availability_percent / 100

    @property
    def availability_budget(self) -> float:
        """The share of requests that may fail (0.0001)."""
        return 1 - self.availability

    @property
    def latency_goal(self) -> float:
        """The share of requests that must be answered within latency_ms (0.95)."""
        return LATENCY_PERCENTILE / 100

    @property
    def latency_budget(self) -> float:
        """The share of requests that may be slower than latency_ms (0.05)."""
        return 1 - self.latency_goal

    @property
    def downtime_budget_seconds(self) -> float:
        """Seconds of total outage the availability objective allows in its period (259.2 s at 99.99 %)."""
        return PERIOD_DAYS * 86400 * self.availability_budget
