"""Rules over monitoring: every alarm reaches someone, every stack that runs an estate watches it, and its SLOs alert."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pulumi_policy import Severity

from .base import ADVISORY, MANDATORY, UNKNOWN, Resource, Rule

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
SLO = "gcp:monitoring/slo:Slo"
ALB = "aws:lb/loadBalancer:LoadBalancer"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
# An estate that serves users (the ALB, the GCP origin address) must have: (a subscriber, an alarm, a budget).
WATCHED = {
    "aws:lb/loadBalancer:LoadBalancer": ((SUBSCRIPTION, "protocol", "email"), ALARM, "aws:budgets/budget:Budget"),
    "gcp:compute/globalAddress:GlobalAddress": ((CHANNEL, "type", "email"), POLICY, "gcp:billing/budget:Budget"),
}


def notifies(resource: Resource):
    prop = "notificationChannels" if resource.type == POLICY else "alarmActions"
    targets = resource.get(prop)
    if targets is UNKNOWN:
        return
    if not isinstance(targets, list) or not targets:
        yield f"{prop} is empty: nobody hears this alarm"


def _quoted_names(rule: object) -> set[str]:
    """The alarms an alarm rule reads: ALARM("name") / OK(name) / INSUFFICIENT_DATA(...)."""
    if not isinstance(rule, str):
        return set()
    return {m.group(2) for m in re.finditer(r"\b(ALARM|OK|INSUFFICIENT_DATA)\(\s*\"?([^\")]+?)\"?\s*\)", rule)}


def alarms_notify(resources: Sequence[Resource]):
    """Every alarm and alert policy notifies; a metric alarm with no actions only as an input of a composite alarm that does."""
    heard_through = set()
    for composite in (r for r in resources if r.type == COMPOSITE):
        if not list(notifies(composite)):
            heard_through |= _quoted_names(composite.get("alarmRule"))
    for resource in (r for r in resources if r.type in (ALARM, POLICY, COMPOSITE)):
        problems = list(notifies(resource))
        if problems and resource.type == ALARM and resource.get("name") in heard_through:
            continue
        for problem in problems:
            yield f"{resource.describe()}: {problem}"


def slo_alerted(resources: Sequence[Resource]):
    """Every Cloud Monitoring SLO has a burn-rate alert policy; a stack with an ALB has burn-rate composite alarms."""
    policies = [r for r in resources if r.type == POLICY]
    for slo in (r for r in resources if r.type == SLO):
        if not any(slo.urn in (p.property_dependencies.get("conditions") or p.dependencies) for p in policies):
            yield f"{slo.describe()}: no alert policy watches its burn rate (select_slo_burn_rate)"
    alb = next((r for r in resources if r.type == ALB), None)
    if alb is not None and not any(r.type == COMPOSITE for r in resources):
        yield f"{alb.describe()}: its stack has no burn-rate composite alarms for the availability and latency objectives"


def estate_watched(resources: Sequence[Resource]):
    for entry_type, ((subscriber_type, key, value), alarm_type, budget_type) in WATCHED.items():
        entry = next((r for r in resources if r.type == entry_type), None)
        if entry is None:
            continue
        if not any(r.type == subscriber_type and r.get(key) == value for r in resources):
            yield f"{entry.describe()}: its stack has no e-mail subscriber for alarms ({subscriber_type.split(':')[-1]} with {key} {value})"
        if not any(r.type == alarm_type for r in resources):
            yield f"{entry.describe()}: its stack has no {alarm_type.split(':')[-1]}"
        if not any(r.type == budget_type for r in resources):
            yield f"{entry.describe()}: its stack has no {budget_type.split(':')[-1]}"


RULES = [
    Rule(
        "alarms-notify",
        "Every CloudWatch alarm and Cloud Monitoring alert policy notifies someone (a metric alarm may instead feed a composite alarm that does)",
        Severity.MEDIUM,
        MANDATORY,
        "fails closed (no actions, no notification)",
        stack_check=alarms_notify,
    ),
    Rule(
        "slo-alerted",
        "Every SLO has a burn-rate alert: a Cloud Monitoring SLO its alert policy, a stack with an ALB its composite alarms",
        Severity.MEDIUM,
        MANDATORY,
        "fails closed",
        stack_check=slo_alerted,
    ),
    Rule(
        "estate-watched",
        "A stack that serves users (ALB, GCP origin) has an e-mail subscriber, alarms and a cost budget",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed",
        stack_check=estate_watched,
    ),
]
