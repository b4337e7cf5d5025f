"""Usage assumptions of a stack (`crm:costAssumptions`), and what the cost estimate reads with them.

The assumptions change nothing a stack deploys: they are the usage a price list cannot know
(gigabytes through NAT, logs ingested, data sent to the internet and to the other cloud), which the
cost estimate (`python -m tools cost`) prices. Each is a setting of the section `crm:costAssumptions`
(SECTIONS), read with the rest of the config, so a misspelt key or a negative figure is an error
naming the key like any other setting. The
budget the estimate is held to is `crm:budget` (model.Budget), the same figure the cloud's budget
resource carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic

from .schema import Parsed, Section, setting, valid_or_none
from .sizes import ENVIRONMENTS

if TYPE_CHECKING:
    from . import model

# Usage per month, by cloud and environment. Each key: (description, unit, defaults per environment).
# The figures are planning assumptions, not measurements; override them in the stack file.
ASSUMPTIONS: dict[str, dict[str, tuple[str, str, dict[str, float]]]] = {
    "aws": {
        "natDataGb": ("data processed by the NAT gateways", "GB", {"dev": 20, "staging": 50, "production": 200, "dr": 200}),
        "logIngestionGb": (
            "CloudWatch Logs ingested (flow logs, EKS control plane, RDS, Redis, MSK)",
            "GB",
            {"dev": 5, "staging": 20, "production": 60, "dr": 60},
        ),
        "internetEgressGb": (
            "data sent to the internet (responses through Cloudflare)",
            "GB",
            {"dev": 10, "staging": 50, "production": 500, "dr": 500},
        ),
        "interCloudEgressGb": (
            "data sent to GCP over the VPN (replication, the GCP side's writes answered)",
            "GB",
            {"dev": 0, "staging": 0, "production": 0, "dr": 800},
        ),
        "albLcu": ("average load balancer capacity units in use", "LCU", {"dev": 0.5, "staging": 1, "production": 2, "dr": 2}),
        "faultInjectionRunsPerMonth": (
            "runs of each game-day experiment template (the documents' monthly DR test)",
            "runs",
            {"dev": 0, "staging": 0, "production": 0, "dr": 1},
        ),
    },
    "gcp": {
        "natDataGb": ("data processed by Cloud NAT", "GB", {"dev": 20, "staging": 50, "production": 200, "dr": 200}),
        "logIngestionGb": (
            "Cloud Logging ingestion (GKE, Cloud SQL, flow logs); the first 50 GiB a month per project are free",
            "GB",
            {"dev": 20, "staging": 60, "production": 150, "dr": 150},
        ),
        "internetEgressGb": (
            "data sent to the internet (responses through Cloudflare)",
            "GB",
            {"dev": 10, "staging": 50, "production": 500, "dr": 500},
        ),
        "interCloudEgressGb": (
            "data sent to AWS over the HA VPN (writes to the primary database)",
            "GB",
            {"dev": 0, "staging": 0, "production": 0, "dr": 400},
        ),
    },
    "cloudflare": {
        "dnsQueriesMillions": (
            "authoritative DNS queries for load-balanced host names (the add-on includes 0.5 million a month)",
            "million queries",
            {"dev": 0.5, "staging": 0.5, "production": 1, "dr": 1},
        ),
    },
}


@dataclass(frozen=True)
class Assumption:
    key: str
    value: float
    unit: str
    description: str
    default: bool  # True when the stack file does not set it


@dataclass(frozen=True)
class CostSettings:
    budget: model.Budget | None  # crm:budget; None only while it is itself invalid (and reported)
    assumptions: dict[str, Assumption]

    def value(self, key: str) -> float:
        return self.assumptions[key].value


def _defaults(defaults: dict[str, float]) -> dict[str, float]:
    return {env: float(defaults.get(env, defaults["production"])) for env in ENVIRONMENTS}


def _section(cloud: str) -> type:
    """`crm:costAssumptions` of one kind of stack as a schema section: one setting per assumption, each >= 0."""
    fields: dict[str, Any] = {
        key: (float, setting(key, f"cost estimate: {description} ({unit} a month)", by_env=_defaults(defaults), ge=0))
        for key, (description, unit, defaults) in ASSUMPTIONS.get(cloud, {}).items()
    }
    return pydantic.create_model(f"{cloud.capitalize()}CostAssumptions", __base__=Section, __module__=__name__, **fields)


SECTIONS = {cloud: _section(cloud) for cloud in ("aws", "gcp", "cloudflare", "bootstrap")}
AwsCostAssumptions, GcpCostAssumptions, CloudflareCostAssumptions, BootstrapCostAssumptions = SECTIONS.values()


def assumptions(common: model.Common, parsed: Parsed) -> dict[str, Assumption]:
    """The assumptions of the stack's kind from `crm:costAssumptions` as the schema read it (wrong values are reported there)."""
    found = {}
    for key, (description, unit, defaults) in ASSUMPTIONS.get(common.cloud, {}).items():
        value = valid_or_none(parsed, key)
        if value is None:  # wrong (and reported), or no environment to pick a default from
            value = _defaults(defaults).get(common.environment, float(defaults["production"]))
        found[key] = Assumption(key, value, unit, description, not parsed.given(key))
    return found


def cost_settings(stack: str, raw: Mapping[str, Any]) -> CostSettings:
    """The budget and usage assumptions of one stack, validated; raises ConfigValidationError like `load`."""
    from . import load

    common = load(stack, raw, check_peer=False).common  # every problem of the stack, these keys' included
    return CostSettings(common.budget, dict(common.cost_assumptions))
