"""Cloudflare's origin error-rate alert at the estate's availability objective."""

from __future__ import annotations

import pytest

from components.cloudflare.slo import origin_error_slo

POLICY = "cloudflare:index/notificationPolicy:NotificationPolicy"


def test_global_alerts_on_origin_errors_at_the_aws_stacks_objective(shipped):
    result = shipped("global")
    alert = next(p for p in result.of_type(POLICY) if p["alertType"] == "http_alert_origin_error")
    zone = result.one("cloudflare:index/loadBalancer:LoadBalancer")["zoneId"]
    availability = shipped("aws-dr").outputs["sla"]["availabilityPercent"]
    assert alert["filters"] == {"zones": [zone], "slos": [origin_error_slo(availability)]}
    assert alert["enabled"] is True and alert["mechanisms"]["emails"]


@pytest.mark.parametrize("objective,slo", [(99.99, "99.9"), (99.9, "99.9"), (99.85, "99.8"), (99.7, "99.7")])
def test_the_most_demanding_choice_not_above_the_objective(objective, slo):
    assert origin_error_slo(objective) == slo


def test_an_objective_below_the_choices_is_refused():
    with pytest.raises(ValueError, match=r"99.5"):
        origin_error_slo(99.5)
