from __future__ import annotations

import pytest

from components.gcp.certificates import ManagedCertificate, ManagedCertificateArgs

HOSTS = ["crm.example.com", "gcp.crm.example.com"]


@pytest.fixture
def cert(run_component):
    return run_component(
        lambda: ManagedCertificate(
            "cert", ManagedCertificateArgs(project="p", map_name="crm-edge", hostnames=HOSTS, zone_id="zone", labels={})
        )
    )


def test_certificate_covers_every_host_through_dns_authorization(cert):
    managed = cert.one("gcp:certificatemanager/certificate:Certificate")["managed"]
    assert managed["domains"] == HOSTS
    assert len(managed["dnsAuthorizations"]) == len(cert.of_type("gcp:certificatemanager/dnsAuthorization:DnsAuthorization")) == 2


def test_map_has_one_entry_per_host(cert):
    entries = cert.of_type("gcp:certificatemanager/certificateMapEntry:CertificateMapEntry")
    certificate_map = cert.one("gcp:certificatemanager/certificateMap:CertificateMap")
    assert sorted(e["hostname"] for e in entries) == sorted(HOSTS)
    assert {e["map"] for e in entries} == {certificate_map["name"]}


def test_each_authorization_record_is_in_cloudflare_unproxied(cert):
    records = {r["name"]: r for r in cert.of_type("cloudflare:index/dnsRecord:DnsRecord")}
    for authorization in cert.of_type("gcp:certificatemanager/dnsAuthorization:DnsAuthorization"):
        given = authorization.output("dnsResourceRecords")[0]
        record = records[given["name"].rstrip(".")]
        assert (record["type"], record["proxied"], record["zoneId"]) == ("CNAME", False, "zone")
        assert record["content"] == given["data"].rstrip(".")


def test_authorization_records_are_written_as_cloudflare_stores_them(cert):
    # Certificate Manager ends names and targets with the root's dot; Cloudflare returns them without it.
    records = cert.of_type("cloudflare:index/dnsRecord:DnsRecord")
    assert records and all(not r["name"].endswith(".") and not r["content"].endswith(".") for r in records)


def test_certificate_waits_for_its_validation_records(cert):
    certificate = cert.one("gcp:certificatemanager/certificate:Certificate")
    records = {r.urn for r in cert.of_type("cloudflare:index/dnsRecord:DnsRecord")}
    assert records <= set(certificate.dependencies)


def test_rejects_a_repeated_host():
    with pytest.raises(ValueError, match="twice"):
        ManagedCertificateArgs(project="p", map_name="m", hostnames=["a.example.com", "a.example.com"], zone_id="z", labels={})
