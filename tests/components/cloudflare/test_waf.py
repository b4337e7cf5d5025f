from __future__ import annotations

import pytest

from components.cloudflare.waf import ManagedWaf, ManagedWafArgs

CLOUDFLARE_MANAGED = "efb7b8c949ac4650a09736fc376e9aee"  # Cloudflare's WAF docs, "Managed rules"
OWASP_CORE = "4814384a9e5d4991b9815dcfc25d2f1f"


def test_zone_waf_executes_cloudflare_managed_and_owasp_rulesets(shipped):
    ruleset = _waf(shipped("global"))
    assert (ruleset["kind"], ruleset["phase"]) == ("zone", "http_request_firewall_managed")
    executed = {r["actionParameters"]["id"] for r in ruleset["rules"] if r["action"] == "execute" and r["enabled"] is True}
    assert executed == {CLOUDFLARE_MANAGED, OWASP_CORE}


def test_zone_waf_inspects_every_request(shipped):
    ruleset = _waf(shipped("global"))
    assert {r["expression"] for r in ruleset["rules"]} == {"true"}


def test_zone_waf_is_on_the_load_balancers_zone(shipped):
    result = shipped("global")
    assert _waf(result)["zoneId"] == result.one("cloudflare:index/loadBalancer:LoadBalancer")["zoneId"]


def test_rules_keep_stable_refs(run_component):
    rules = run_component(lambda: ManagedWaf("w", ManagedWafArgs(zone_id="z" * 32))).one("cloudflare:index/ruleset:Ruleset")["rules"]
    refs = [r["ref"] for r in rules]
    assert len(set(refs)) == len(refs) == 2


def test_waf_without_rulesets_is_refused():
    with pytest.raises(ValueError, match="managed ruleset"):
        ManagedWafArgs(zone_id="z" * 32, rulesets={})


def _waf(result):
    (ruleset,) = [r for r in result.of_type("cloudflare:index/ruleset:Ruleset") if r["phase"] == "http_request_firewall_managed"]
    return ruleset
