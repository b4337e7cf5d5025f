from __future__ import annotations

import pytest

from components.aws.certificate import ValidatedCertificate, ValidatedCertificateArgs

HOSTS = ["crm.example.com", "aws.crm.example.com"]


@pytest.fixture
def cert(run_component):
    return run_component(lambda: ValidatedCertificate("cert", ValidatedCertificateArgs(hostnames=HOSTS, zone_id="zone", tags={})))


def test_certificate_names_the_public_host_and_the_aws_origin(cert):
    acm = cert.one("aws:acm/certificate:Certificate")
    assert (acm["domainName"], acm["subjectAlternativeNames"], acm["validationMethod"]) == (HOSTS[0], HOSTS[1:], "DNS")


def test_a_cloudflare_record_for_every_domain_validation_option(cert):
    acm = cert.one("aws:acm/certificate:Certificate")
    from tools.engine.fakes import computed

    options = computed(acm.type, acm.name, acm.inputs)["domainValidationOptions"]
    records = {(r["name"], r["type"], r["content"]) for r in cert.of_type("cloudflare:index/dnsRecord:DnsRecord")}
    assert len(options) == 2
    assert records == {
        (o["resourceRecordName"].rstrip("."), o["resourceRecordType"], o["resourceRecordValue"].rstrip(".")) for o in options
    }


def test_validation_records_are_written_as_cloudflare_stores_them(cert):
    # ACM ends names and targets with the root's dot; Cloudflare returns them without it, so a dotted value drifts forever.
    records = cert.of_type("cloudflare:index/dnsRecord:DnsRecord")
    assert records and all(not r["name"].endswith(".") and not r["content"].endswith(".") for r in records)


def test_validation_records_are_not_proxied(cert):
    records = cert.of_type("cloudflare:index/dnsRecord:DnsRecord")
    assert records and all(r["proxied"] is False for r in records)


def test_validation_waits_for_every_record(cert):
    validation = cert.one("aws:acm/certificateValidation:CertificateValidation")
    assert sorted(validation["validationRecordFqdns"]) == sorted(r["name"] for r in cert.of_type("cloudflare:index/dnsRecord:DnsRecord"))


def test_alb_listener_uses_the_validated_certificate(shipped):
    result = shipped("aws-dr", preview=False)
    listener = next(r for r in result.of_type("aws:lb/listener:Listener") if r["protocol"] == "HTTPS")
    validation = result.one("aws:acm/certificateValidation:CertificateValidation")
    assert listener["certificateArn"] == validation["certificateArn"]


def test_certificate_arn_override_skips_acm(run_stack):
    arn = "arn:aws:acm:ap-northeast-2:123456789012:certificate/abcd"
    result = run_stack("aws-dev", {"crm:ingress": {"certificateArn": arn}}, preview=False)
    assert not result.of_type("aws:acm/certificate:Certificate")
    assert next(r for r in result.of_type("aws:lb/listener:Listener") if r["protocol"] == "HTTPS")["certificateArn"] == arn


def test_aws_origin_record_points_at_the_alb_proxied(shipped):
    result = shipped("aws-dr", preview=False)
    alb = result.outputs["albDnsName"]
    record = result.one("cloudflare:index/dnsRecord:DnsRecord", "crm-dr-origin-dns-record")
    assert record["name"] == result.outputs["originHost"]
    assert (record["type"], record["content"], record["proxied"]) == ("CNAME", alb, True)


def test_cloudflare_resources_use_the_stacks_explicit_provider(shipped):
    result = shipped("aws-dr")
    provider = result.one("pulumi:providers:cloudflare")
    records = result.of_type("cloudflare:index/dnsRecord:DnsRecord")
    assert records and all(r.provider.startswith(provider.urn) for r in records)


def test_cloudflare_api_token_from_stack_config_stays_secret(run_stack):
    from tests.helpers import is_secret

    result = run_stack("aws-dev", {"cloudflare:apiToken": {"secure": "v1:encrypted-token"}})
    provider = result.one("pulumi:providers:cloudflare")
    assert is_secret(provider["apiToken"])
