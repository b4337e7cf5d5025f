"""The availability objective from Cloudflare's side: its Origin Error Rate notification.

Cloudflare watches the 5xx its origins return for the zone (521, 522 and 523 included: Cloudflare
could not reach the origin) and alerts with the multiwindow burn-rate method (one hour and five
minutes) against a service-level objective chosen from a fixed list
(https://developers.cloudflare.com/notifications/reference/traffic-alerts/; the values an account
accepts are listed by `GET /accounts/{id}/alerting/v3/available_alerts`, alert type
`http_alert_origin_error`, filter `slo`). The list stops short of four nines, so the alert takes
the most demanding value that does not exceed the objective; the clouds' own SLOs
(components/aws/slo.py, components/gcp/slo.py) hold the exact one. The pool-health notification
lives with the load balancer (components/cloudflare/load_balancer.py).

Cloudflare has no latency notification for proxied zones (its latency alerts are Zero Trust DEX
tests), so the latency objective is watched only at the origins. The alert type is offered on
Business and Enterprise zones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component

ALERT_TYPE = "http_alert_origin_error"
# Most demanding first; the objectives Cloudflare's origin error-rate alert accepts at that end of its list.
ORIGIN_ERROR_SLOS = ("99.9", "99.8", "99.7")


def origin_error_slo(availability_percent: float) -> str:
    """The most demanding SLO the alert offers that does not exceed the objective (99.99 -> 99.9)."""
    for value in ORIGIN_ERROR_SLOS:
        if float(value) <= availability_percent:
            return value
    raise ValueError(
        f"an availability objective of {availability_percent:g} % is below what the origin error-rate alert is set up for "
        f"({ORIGIN_ERROR_SLOS[-1]} % and above)"
    )


@dataclass
class OriginErrorAlertArgs:
    account_id: str
    zone_id: str
    hostname: str
    availability_percent: pulumi.Input[float]  # the estate's objective (crm:monitoring.availabilityPercent of the AWS stack)
    notification_email: str


class OriginErrorAlert(Component):
    def __init__(self, name: str, args: OriginErrorAlertArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:OriginErrorAlert", name, None, opts)
        self.slo = pulumi.Output.from_input(args.availability_percent).apply(lambda p: origin_error_slo(float(p)))
        self.policy = cloudflare.NotificationPolicy(
            f"{name}-origin-errors",
            account_id=args.account_id,
            name=f"{args.hostname} origin error rate",
            description="5xx from the origins of the zone burn the availability objective's budget (docs/operations.md)",
            alert_type=ALERT_TYPE,
            enabled=True,
            filters={"zones": [args.zone_id], "slos": self.slo.apply(lambda s: [s])},
            mechanisms={"emails": [{"id": args.notification_email}]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"slo": self.slo})
