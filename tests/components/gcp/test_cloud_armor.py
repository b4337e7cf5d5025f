from __future__ import annotations

import pytest

from components.gcp.cloud_armor import DEFAULT_RULE_PRIORITY, RANGES_PER_RULE, CloudflareOnlyPolicy, CloudflareOnlyPolicyArgs
from tools.engine.fakes import cloudflare_ip_ranges

CLOUDFLARE_IPV4_RANGES = cloudflare_ip_ranges()["ipv4Cidrs"]  # the published list the offline engine answers with


@pytest.fixture
def policy(run_component):
    return run_component(
        lambda: CloudflareOnlyPolicy(
            "armor",
            CloudflareOnlyPolicyArgs(project="p", policy_name="crm-cloudflare-only", allowed_cidrs=list(CLOUDFLARE_IPV4_RANGES), labels={}),
        )
    )


def rules(result):
    return result.one("gcp:compute/securityPolicy:SecurityPolicy")["rules"]


def test_allowed_ranges_are_exactly_cloudflares(policy):
    allowed = [c for r in rules(policy) if r["action"] == "allow" for c in r["match"]["config"]["srcIpRanges"]]
    assert sorted(allowed) == sorted(CLOUDFLARE_IPV4_RANGES) and len(allowed) == 15


def test_no_rule_exceeds_the_ten_range_limit(policy):
    sizes = [len(r["match"]["config"]["srcIpRanges"]) for r in rules(policy)]
    assert sum(sizes) >= len(CLOUDFLARE_IPV4_RANGES) > RANGES_PER_RULE  # the ranges had to be split
    assert max(sizes) <= RANGES_PER_RULE
    assert len([r for r in rules(policy) if r["action"] == "allow"]) == 2


def test_default_rule_denies_everything_else_with_403(policy):
    default = [r for r in rules(policy) if r["priority"] == DEFAULT_RULE_PRIORITY]
    assert len(default) == 1
    assert default[0]["action"] == "deny(403)" and default[0]["match"]["config"]["srcIpRanges"] == ["*"]


def test_priorities_are_unique(policy):
    priorities = [r["priority"] for r in rules(policy)]
    assert len(set(priorities)) == len(priorities)


def test_refuses_the_whole_internet():
    with pytest.raises(ValueError, match="/0"):
        CloudflareOnlyPolicyArgs(project="p", policy_name="x", allowed_cidrs=["0.0.0.0/0"], labels={})


def test_gcp_stack_admits_the_same_ranges_as_the_alb(shipped):
    aws = shipped("aws-dr")
    alb_ranges = {
        r["cidrIpv4"] for r in aws.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-ingress-cf-443-" in r.name
    }
    armor = shipped("gcp-dr").one("gcp:compute/securityPolicy:SecurityPolicy")["rules"]
    allowed = {c for r in armor if isinstance(r, dict) and r["action"] == "allow" for c in r["match"]["config"]["srcIpRanges"]}
    assert alb_ranges and allowed == alb_ranges


def test_armor_follows_cloudflares_data_source(run_stack, monkeypatch):
    from tools.engine import fakes

    published = {**fakes.cloudflare_ip_ranges(), "ipv4Cidrs": ["198.51.100.0/24"]}
    monkeypatch.setattr(fakes, "cloudflare_ip_ranges", lambda: published)
    armor = run_stack("gcp-dev", fresh=True).one("gcp:compute/securityPolicy:SecurityPolicy")["rules"]
    assert [c for r in armor if isinstance(r, dict) and r["action"] == "allow" for c in r["match"]["config"]["srcIpRanges"]] == [
        "198.51.100.0/24"
    ]
