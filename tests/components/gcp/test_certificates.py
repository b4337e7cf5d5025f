from __future__ import annotations

import re

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


def test_each_host_has_its_own_certificate_through_its_own_dns_authorization(cert):
    certificates = cert.of_type("gcp:certificatemanager/certificate:Certificate")
    authorizations = {a.output("id"): a["domain"] for a in cert.of_type("gcp:certificatemanager/dnsAuthorization:DnsAuthorization")}
    assert sorted(d for c in certificates for d in c["managed"]["domains"]) == sorted(HOSTS)
    for certificate in certificates:
        [host] = certificate["managed"]["domains"]
        [authorization] = certificate["managed"]["dnsAuthorizations"]
        assert authorizations[authorization] == host


def test_names_follow_the_host_not_its_position(run_component):
    """A host added in front renames nothing of the others: their resources keep their names in Pulumi and Google."""

    def names(hosts):
        built = run_component(
            lambda: ManagedCertificate(
                "cert", ManagedCertificateArgs(project="p", map_name="crm-edge", hostnames=hosts, zone_id="zone", labels={})
            )
        )
        kinds = ("certificate:Certificate", "dnsAuthorization:DnsAuthorization", "certificateMapEntry:CertificateMapEntry")
        return {
            (r.name, r["name"], r.get("hostname") or r.get("domain") or r["managed"]["domains"][0])
            for kind in kinds
            for r in built.of_type(f"gcp:certificatemanager/{kind.split(':')[0]}:{kind.split(':')[1]}")
        } | {(r.name, None, r["comment"]) for r in built.of_type("cloudflare:index/dnsRecord:DnsRecord")}

    before, after = names(HOSTS), names(["crm-production-gcp.example.com", *HOSTS])
    assert len(before) == 8 and before < after
    assert len(after - before) == 4 and all("crm-production-gcp.example.com" in host for *_, host in after - before)


def test_every_google_name_is_unique_and_valid(cert):
    names = [
        r["name"]
        for kind in ("certificate:Certificate", "dnsAuthorization:DnsAuthorization", "certificateMapEntry:CertificateMapEntry")
        for r in cert.of_type(f"gcp:certificatemanager/{kind.split(':')[0]}:{kind.split(':')[1]}")
    ]
    assert len(names) == 6
    # One name per kind and host; Google's rule for these names: a letter, then up to 62 of [a-z0-9-].
    assert len(set(names)) == 2
    assert all(re.fullmatch(r"[a-z][a-z0-9-]{0,62}", n) for n in names)


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


def test_each_certificate_waits_for_its_validation_record(cert):
    records = {r["comment"].rsplit(" ", 1)[1]: r.urn for r in cert.of_type("cloudflare:index/dnsRecord:DnsRecord")}
    certificates = cert.of_type("gcp:certificatemanager/certificate:Certificate")
    assert len(certificates) == len(HOSTS)
    for certificate in certificates:
        assert records[certificate["managed"]["domains"][0]] in certificate.dependencies


def test_a_validation_record_deployed_under_its_position_is_kept_not_created_again(cert):
    """Cloudflare holds one CNAME per name: the record of the position-named release is adopted by alias."""
    records = {r["comment"].rsplit(" ", 1)[1]: r for r in cert.of_type("cloudflare:index/dnsRecord:DnsRecord")}
    for position, host in enumerate(HOSTS):
        assert f"cert-validation-{position}" in [a.get("spec", {}).get("name") for a in records[host].aliases], host


def test_rejects_a_repeated_host():
    with pytest.raises(ValueError, match="twice"):
        ManagedCertificateArgs(project="p", map_name="m", hostnames=["a.example.com", "a.example.com"], zone_id="z", labels={})


def test_a_validation_records_type_is_known_before_its_authorization_exists(run_component):
    # Unknown, a force-new field would plan the record's replacement (a second CNAME beside the first) on every new
    # authorization; known, the record of a re-made authorization is updated in place.
    preview = run_component(
        lambda: ManagedCertificate(
            "cert", ManagedCertificateArgs(project="p", map_name="crm-edge", hostnames=HOSTS, zone_id="zone", labels={})
        ),
        preview=True,
    )
    records = preview.of_type("cloudflare:index/dnsRecord:DnsRecord")
    assert len(records) == 2 and all(r["type"] == "CNAME" for r in records)
