"""The GCP origin admits only requests through this Cloudflare zone: a generated header value the global stack
sends and Cloud Armor requires, rotated without an outage, never in plaintext outside secrets."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pulumi
import pytest

from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER
from components.gcp.cloud_armor import CloudflareOnlyPolicy, CloudflareOnlyPolicyArgs
from components.gcp.origin_auth import OriginAuthSecret, OriginAuthSecretArgs
from stacks.config import load
from tests.conftest import stack_config
from tools.engine.engine import Secret, reveal

# Its stack tests share gcp-dr runs (each rotation step once): on one worker, no two compute the same run at once.
pytestmark = pytest.mark.xdist_group("gcp-origin-auth")

ARMOR = "gcp:compute/securityPolicy:SecurityPolicy"
PASSWORD = "random:index/randomPassword:RandomPassword"
TODAY = datetime.datetime.now(datetime.UTC).date()


def _slots(result) -> dict[str, str]:
    return {p.name[-1]: p.output("result") for p in result.of_type(PASSWORD) if "-origin-auth-" in p.name}


def test_cloud_armor_refuses_requests_without_either_slots_value_before_admitting_cloudflare(shipped):
    result = shipped("gcp-dr", preview=False)
    rules = result.one(ARMOR)["rules"]
    assert isinstance(rules[0], Secret)
    header_rule = reveal(rules[0])
    slots = _slots(result)
    assert header_rule["action"] == "deny(403)" and header_rule["priority"] < min(r["priority"] for r in rules[1:])
    expression = header_rule["match"]["expr"]["expression"]
    assert (
        expression
        == f"!(request.headers['{ORIGIN_AUTH_HEADER}'] == '{slots['a']}' || request.headers['{ORIGIN_AUTH_HEADER}'] == '{slots['b']}')"
    )


def test_the_value_reaches_the_global_stack_as_a_secret_output(shipped):
    outputs = shipped("gcp-dr", preview=False).outputs
    assert isinstance(outputs["originAuthHeader"], Secret)


def test_cloudflare_sets_the_header_on_every_request_and_on_health_checks(shipped):
    current = reveal(shipped("gcp-dr", preview=False).outputs["originAuthHeader"])
    result = shipped("global", preview=False)
    (transform,) = [r for r in result.of_type("cloudflare:index/ruleset:Ruleset") if r["phase"] == "http_request_late_transform"]
    (rule,) = transform["rules"]
    header = rule["actionParameters"]["headers"][ORIGIN_AUTH_HEADER]
    assert (rule["action"], rule["expression"], header["operation"]) == ("rewrite", "true", "set")
    assert isinstance(header["value"], Secret) and reveal(header["value"]) == current
    monitor = result.one("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    assert isinstance(monitor["header"][ORIGIN_AUTH_HEADER][0], Secret) and reveal(monitor["header"][ORIGIN_AUTH_HEADER]) == [current]


def _plain_occurrences(value: Any, secret: str, inside: bool = False) -> int:
    if isinstance(value, Secret):
        return _plain_occurrences(value.value, secret, True)
    if isinstance(value, dict):
        return sum(_plain_occurrences(v, secret, inside) for v in value.values())
    if isinstance(value, list):
        return sum(_plain_occurrences(v, secret, inside) for v in value)
    return int(isinstance(value, str) and secret in value and not inside)


def test_the_value_is_never_plaintext_in_an_input_or_output(shipped):
    gcp = shipped("gcp-dr", preview=False)
    global_ = shipped("global", preview=False)
    for value in _slots(gcp).values():
        for result in (gcp, global_):
            leaks = [r.name for r in result.resources if _plain_occurrences(r.inputs, value)]
            assert leaks == [] and _plain_occurrences(result.outputs, value) == 0


def test_a_rotation_replaces_one_slot_and_the_other_keeps_what_cloudflare_still_sends(run_stack):
    first = run_stack("gcp-dr", {"crm:rotation": {"generation": 1}}, preview=False)
    second = run_stack("gcp-dr", {"crm:rotation": {"generation": 2}}, preview=False)

    def keepers(result):
        return {p.name[-1]: p["keepers"] for p in result.of_type(PASSWORD) if "-origin-auth-" in p.name}

    assert keepers(first)["a"] == keepers(second)["a"]  # step 1 made A current; step 2 leaves it accepted
    assert keepers(first)["b"] != keepers(second)["b"]  # and replaces B, which becomes current


def test_the_current_slot_follows_the_rotation_step(run_stack):
    for generation, slot in ((1, "a"), (2, "b"), (3, "a")):
        result = run_stack("gcp-dr", {"crm:rotation": {"generation": generation}}, preview=False)
        assert reveal(result.outputs["originAuthHeader"]) == _slots(result)[slot], generation


# Rotation whose step moves by more than one between deploys of the GCP stack replaces both slots at once:
# Cloud Armor must still accept the value the global stack sends until `global` is deployed again.


def _gcp_after_global(changes: dict, sent: str | None):
    """gcp-dr deployed with `changes` while the global stack, deployed earlier, sends `sent` (None: never deployed)."""
    from tests.stacks.test_origin_auth_stacks import deployed_after

    return deployed_after("gcp-dr", {} if sent is None else {"global": ({"originAuthHeader": sent}, ["originAuthHeader"])}, changes)


def _origin_after_global(run_component, rotation: dict, sent: str | None):
    """What the GCP stack builds of the origin auth (stacks/gcp_stack.py), on its own: the slots at crm:rotation's step
    today, and Cloud Armor admitting them and `sent`, what the global stack sends (None: never deployed)."""
    step = load("gcp-dr", stack_config("gcp-dr", {"crm:rotation": rotation} if rotation else {})).rotation.step(TODAY)

    def build():
        still_sent = pulumi.Output.secret(sent) if sent is not None else None
        auth = OriginAuthSecret("crm-dr-origin-auth", OriginAuthSecretArgs(rotation_step=step, still_sent=still_sent))
        return CloudflareOnlyPolicy(
            "crm-dr-armor",
            CloudflareOnlyPolicyArgs(
                project="p",
                policy_name="crm-dr-cloudflare-only",
                allowed_cidrs=["173.245.48.0/20"],
                labels={},
                origin_auth_values=auth.accepted,
            ),
        )

    return run_component(build)


def _accepted(result) -> list[str]:
    expression = reveal(result.one(ARMOR)["rules"][0])["match"]["expr"]["expression"]
    return re.findall(rf"request\.headers\['{ORIGIN_AUTH_HEADER}'\] == '([A-Za-z0-9]+)'", expression)


# What `global` sends, deployed after the earlier step: the value of a slot the jump replaces (the offline
# engine's stand-in passwords do not change with their keepers, so it is a value of their shape).
SENT_BEFORE = "PreviousSlotValue0123456789abcdefghijklmnopqrstu"


def _keepers(result) -> dict[str, Any]:
    return {p.name[-1]: p.get("keepers") for p in result.of_type(PASSWORD) if "-origin-auth-" in p.name}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param({"generation": 1}, {"generation": 3}, id="generation-1-to-3"),
        pytest.param({}, {"generation": 1}, id="rotation-first-switched-on"),
        pytest.param(
            {"intervalDays": 7, "since": (TODAY - datetime.timedelta(days=1)).isoformat()},
            {"intervalDays": 7, "since": (TODAY - datetime.timedelta(days=15)).isoformat()},
            id="two-intervals-elapsed",
        ),
    ],
)
def test_a_jump_of_the_rotation_step_keeps_accepting_what_cloudflare_still_sends(run_component, before, after):
    earlier = _origin_after_global(run_component, before, None)
    result = _origin_after_global(run_component, after, SENT_BEFORE)
    old, new = _keepers(earlier), _keepers(result)
    assert old["a"] != new["a"] and old["b"] != new["b"]  # both slots are replaced: the jump this guards against
    assert SENT_BEFORE in _accepted(result)
    assert set(_slots(result).values()) <= set(_accepted(result))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param({"generation": 1}, {"generation": 3}, id="generation-1-to-3"),
        # The stack takes its step from the calendar too (stacks/gcp_stack.py rotation.step(today)).
        pytest.param(
            {"intervalDays": 7, "since": (TODAY - datetime.timedelta(days=1)).isoformat()},
            {"intervalDays": 7, "since": (TODAY - datetime.timedelta(days=15)).isoformat()},
            id="two-intervals-elapsed",
        ),
    ],
)
def test_the_gcp_stack_keeps_accepting_what_the_global_stack_sent_across_a_jump(before, after):
    earlier = _gcp_after_global({"crm:rotation": before}, None)
    result = _gcp_after_global({"crm:rotation": after}, SENT_BEFORE)
    old, new = _keepers(earlier), _keepers(result)
    assert old["a"] != new["a"] and old["b"] != new["b"]
    assert SENT_BEFORE in _accepted(result)
    assert set(_slots(result).values()) <= set(_accepted(result))
    assert reveal(result.outputs["originAuthAccepted"]) == _accepted(result)  # what the AWS stack of the pair admits too


def test_before_the_global_stack_is_deployed_only_the_two_slots_are_accepted():
    result = _gcp_after_global({"crm:rotation": {"generation": 1}}, None)
    assert sorted(_accepted(result)) == sorted(_slots(result).values())


def test_the_value_cloudflare_sends_is_accepted_once_when_it_is_a_slot(run_component):
    sent = reveal(_origin_after_global(run_component, {"generation": 1}, None).one("crm:gcp:OriginAuthSecret").output("current"))
    result = _origin_after_global(run_component, {"generation": 2}, sent)
    assert _accepted(result).count(sent) == 1 and len(_accepted(result)) == 2


def test_the_global_stack_exports_what_it_sends_as_a_secret_for_the_gcp_stacks(shipped):
    current = reveal(shipped("gcp-dr", preview=False).outputs["originAuthHeader"])
    sent = shipped("global", preview=False).outputs["originAuthHeader"]
    assert isinstance(sent, Secret) and reveal(sent) == current
