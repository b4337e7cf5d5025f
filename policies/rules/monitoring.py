"""Rules over monitoring: every alarm reaches someone, and every stack that runs an estate watches it."""

from __future__ import annotations

from typing import Sequence

from pulumi_policy import Severity

from .base import ADVISORY, MANDATORY, UNKNOWN, Resource, Rule

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
# An estate that serves users (the ALB, the GCP origin address) must have: (a subscriber, an alarm, a budget).
WATCHED = {
    "aws:lb/loadBalancer:LoadBalancer": ((SUBSCRIPTION, "protocol", "email"), ALARM, "aws:budgets/budget:Budget"),
    "gcp:compute/globalAddress:GlobalAddress": ((CHANNEL, "type", "email"), POLICY, "gcp:billing/budget:Budget"),
}


def notifies(resource: Resource):
    prop = "alarmActions" if resource.type == ALARM else "notificationChannels"
    targets = resource.get(prop)
    if targets is UNKNOWN:
        return
    if not isinstance(targets, list) or not targets:
        yield f"{prop} is empty: nobody hears this alarm"


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
        "Every CloudWatch alarm and Cloud Monitoring alert policy notifies someone",
        Severity.MEDIUM,
        MANDATORY,
        "fails closed (no actions, no notification)",
        (ALARM, POLICY),
        notifies,
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
