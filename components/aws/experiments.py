"""The game day's fault-injection scenarios as data: what each AWS FIS experiment does, and its bounds.

Kept apart from the component that creates the templates (components/aws/fault_injection.py) so
the config, the policy pack and the cost estimate read the same facts without the AWS SDK.

Action ids, their parameters, target keys and resource types are those of the AWS FIS actions
reference, https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html :

- `aws:network:disrupt-connectivity` (resource type `aws:ec2:subnet`, target key `Subnets`):
  `duration` (ISO 8601, PT1M-PT12H) and `scope` (`all` denies all traffic in and out of the subnets
  through a network ACL FIS creates, tagged `managedByFIS=true`, and removes at the end);
- `aws:rds:reboot-db-instances` (`aws:rds:db`, `DBInstances`): `forceFailover` (`true` fails a
  Multi-AZ instance over to its standby); it completes at once;
- `aws:eks:terminate-nodegroup-instances` (`aws:eks:nodegroup`, `Nodegroups`):
  `instanceTerminationPercentage` (1-100); it completes at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The longest any action may run. The pack refuses a template past it, and crm:faultInjection
# cannot ask for more: an experiment whose supervisor has died still ends by then.
MAX_ACTION_MINUTES = 30

# Actions that act once and complete (no duration parameter). FIS bills the minutes an action runs,
# rounded to the nearest minute (https://aws.amazon.com/fis/pricing/); the estimate counts these as one.
INSTANT_ACTIONS = frozenset(
    {
        "aws:rds:reboot-db-instances",
        "aws:rds:failover-db-cluster",
        "aws:eks:terminate-nodegroup-instances",
        "aws:ec2:reboot-instances",
        "aws:ec2:terminate-instances",
    }
)
# Actions that hold a fault for their `duration` parameter.
DURATION_ACTIONS = frozenset(
    {
        "aws:network:disrupt-connectivity",
        "aws:network:route-table-disrupt-cross-region-connectivity",
        "aws:fis:wait",
        "aws:ec2:stop-instances",
    }
)


@dataclass(frozen=True)
class Scenario:
    name: str
    action_id: str
    target_key: str  # the key of the action's target map
    resource_type: str  # the target's FIS resource type
    summary: str
    expects_failover: bool  # Cloudflare should mark the AWS pool down and send everything to GCP


SCENARIOS: Mapping[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "aws-outage",
            "aws:network:disrupt-connectivity",
            "Subnets",
            "aws:ec2:subnet",
            "the application tier's subnets cut off from all traffic: the ALB's targets stop answering and "
            "AWS fails Cloudflare's health check (the documents' test 2)",
            True,
        ),
        Scenario(
            "rds-failover",
            "aws:rds:reboot-db-instances",
            "DBInstances",
            "aws:rds:db",
            "the RDS writer rebooted with a forced Multi-AZ failover to its standby",
            False,
        ),
        Scenario(
            "eks-nodes",
            "aws:eks:terminate-nodegroup-instances",
            "Nodegroups",
            "aws:eks:nodegroup",
            "a share of the EKS nodes terminated; the node group replaces them",
            False,
        ),
    )
}

_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def iso_minutes(minutes: int) -> str:
    return f"PT{minutes}M"


def duration_seconds(value: object) -> int | None:
    """Seconds of an ISO 8601 duration as FIS takes it (PT10M, PT1H30M); None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _ISO_DURATION.match(value)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def action_minutes(action_id: str, parameters: Mapping[str, object]) -> float | None:
    """Minutes one run of the action is billed for; None when its duration cannot be told."""
    if action_id in INSTANT_ACTIONS:
        return 1.0
    seconds = duration_seconds(parameters.get("duration"))
    if seconds is None:
        return None
    return max(1.0, seconds / 60)
