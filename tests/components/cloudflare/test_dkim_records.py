"""aws-dr publishes SES's DKIM tokens in its Cloudflare zone itself: nobody copies sesDkimTokens into DNS."""

from __future__ import annotations

DKIM = "aws:ses/domainDkim:DomainDkim"
RECORD = "cloudflare:index/dnsRecord:DnsRecord"


def test_each_dkim_token_becomes_an_unproxied_cname_in_the_stacks_zone(shipped, plain):
    result = shipped("aws-dr", preview=False)
    tokens = result.one(DKIM).output("dkimTokens")
    records = [r for r in result.of_type(RECORD) if r.name.startswith("crm-dr-dkim-")]
    assert len(tokens) == 3 and len(records) == 3
    zone = result.one(RECORD, "crm-dr-origin-dns-record").inputs["zoneId"]
    domain = result.one(DKIM).inputs["domain"]
    assert sorted((r.inputs["name"], r.inputs["content"]) for r in records) == sorted(
        (f"{t}._domainkey.{domain}", f"{t}.dkim.amazonses.com") for t in tokens
    )
    assert all(r.inputs["type"] == "CNAME" and r.inputs["proxied"] is False and r.inputs["zoneId"] == zone for r in records)


def test_stacks_without_mail_publish_no_dkim_records(shipped):
    assert not [r for r in shipped("aws-dev").of_type(RECORD) if "-dkim-" in r.name]
