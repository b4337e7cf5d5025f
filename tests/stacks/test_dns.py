"""Each cloud stack's proxied origin name: its own, and one that Cloudflare's free edge certificate covers."""

from __future__ import annotations

import pytest

from tools.engine import fakes

CLOUD_STACKS = [f"{cloud}-{env}" for cloud in ("aws", "gcp") for env in ("dev", "staging", "production", "dr")]


def origin_record(result):
    name = result.stack.replace("aws-", "crm-").replace("gcp-", "crm-")
    return result.one("cloudflare:index/dnsRecord:DnsRecord", f"{name}-origin-dns-record")


def zone_name(result) -> str:
    """The zone's name as Cloudflare answers for the stack's zone id (the provider's get_zone)."""
    zone_id = origin_record(result)["zoneId"]
    return fakes.invoke("cloudflare:index/getZone:getZone", {"zoneId": zone_id})["name"]


def test_no_two_shipped_stacks_write_the_same_origin_record(shipped):
    names = [origin_record(shipped(stack))["name"] for stack in CLOUD_STACKS]
    assert len(set(names)) == len(names) == 8


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_the_origin_host_is_one_level_under_the_zone(shipped, stack):
    result = shipped(stack)
    host, zone = origin_record(result)["name"], zone_name(result)
    assert host.endswith("." + zone) and "." not in host[: -len(zone) - 1]


@pytest.mark.parametrize("stack", ["aws-dr", "gcp-dr"])
def test_the_certificate_covers_the_origin_host(shipped, stack):
    result = shipped(stack)
    host = origin_record(result)["name"]
    if stack.startswith("aws"):
        certificate = result.one("aws:acm/certificate:Certificate")
        names = [certificate["domainName"], *certificate["subjectAlternativeNames"]]
    else:
        names = [d for c in result.of_type("gcp:certificatemanager/certificate:Certificate") for d in c["managed"]["domains"]]
    assert host in names


def test_an_origin_host_two_levels_down_is_warned_about(run_stack):
    result = run_stack("aws-dev", {"crm:dns": {"originHost": "aws.crm-dev.example.com"}})
    assert origin_record(result)["name"] == "aws.crm-dev.example.com"
    assert any("crm:dns.originHost 'aws.crm-dev.example.com'" in w and "Universal SSL" in w for w in result.warnings())


def test_the_default_origin_host_is_not_warned_about(shipped):
    assert not [w for w in shipped("aws-dev").warnings() if "Universal SSL" in w]


@pytest.mark.parametrize(
    "host,zone,covered",
    [
        ("example.com", "example.com", True),
        ("crm-dr-aws.example.com", "example.com", True),
        ("aws.crm.example.com", "example.com", False),
        ("aws.crm.example.com", "crm.example.com", True),
        ("notexample.com", "example.com", False),
    ],
)
def test_universal_ssl_covers_the_apex_and_one_level(host, zone, covered):
    from stacks.dns import covered_by_universal_ssl

    assert covered_by_universal_ssl(host, zone) is covered


def test_the_global_stack_names_each_cloud_s_origin_host(shipped):
    exported = shipped("global").outputs["originHosts"]
    assert exported == {"aws": origin_record(shipped("aws-dr"))["name"], "gcp": origin_record(shipped("gcp-dr"))["name"]}
