"""The ALB admits only the zone's requests: Cloudflare's shared origin-pull certificate proves Cloudflare, the
zone's secret origin-auth header proves this zone (a listener rule forwards; everything else gets 403)."""

from __future__ import annotations

import pulumi
import pytest

from components.aws.alb import PublicLoadBalancer, origin_auth_condition_values
from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER
from tests.components.aws.test_alb import alb_args
from tools.engine.engine import Secret, reveal

LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
VALUES = ["FirstSlotValue0123456789abcdefghijklmnopqrstuvwx", "SecondSlotValue0123456789abcdefghijklmnopqrstuvw"]


def _alb(run_component, values, secret=True):
    def build():
        given = pulumi.Output.secret(values) if secret else values
        return PublicLoadBalancer("web", alb_args(origin_auth_values=given)).forward()

    return run_component(build)


def test_without_the_zones_header_the_listener_answers_403(run_component):
    result = _alb(run_component, VALUES)
    (action,) = result.one(LISTENER, "web-https")["defaultActions"]
    assert action["type"] == "fixed-response" and action["fixedResponse"]["statusCode"] == "403"


def test_a_rule_forwards_requests_carrying_either_value_to_the_application(run_component):
    result = _alb(run_component, VALUES)
    rule = result.one(RULE)
    https = result.one(LISTENER, "web-https")
    assert rule["listenerArn"] == https.output("arn") and rule["priority"] == 1
    (condition,) = rule["conditions"]
    assert condition["httpHeader"]["httpHeaderName"] == ORIGIN_AUTH_HEADER
    assert isinstance(condition["httpHeader"]["values"], Secret) and reveal(condition["httpHeader"]["values"]) == VALUES
    (action,) = rule["actions"]
    assert action == {"type": "forward", "targetGroupArn": result.one("aws:lb/targetGroup:TargetGroup").output("arn")}


def test_before_anything_sends_the_header_the_listener_still_forwards(run_component):
    result = _alb(run_component, [], secret=False)
    (action,) = result.one(LISTENER, "web-https")["defaultActions"]
    assert action["type"] == "forward"


def test_without_origin_auth_there_is_no_rule(run_component):
    result = run_component(lambda: PublicLoadBalancer("web", alb_args()).forward())
    assert result.of_type(RULE) == [] and result.one(LISTENER, "web-https")["defaultActions"][0]["type"] == "forward"


@pytest.mark.parametrize(
    ("values", "problem"),
    [(["v" * 48] * 1 + [f"value{i}" for i in range(5)], "at most 5"), (["has-hyphen"], "letters and digits"), (["x" * 129], "128")],
)
def test_values_elastic_load_balancing_would_refuse_are_refused_early(values, problem):
    with pytest.raises(ValueError, match=problem):
        origin_auth_condition_values(values)
