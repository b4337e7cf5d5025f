from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from components.aws.alb import PublicLoadBalancerArgs
from components.cloudflare.origin_pull import CA_FILE, CA_NOT_AFTER, CA_SHA256

AOP = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings"


@pytest.fixture(scope="module")
def ca() -> x509.Certificate:
    return x509.load_pem_x509_certificate(CA_FILE.read_bytes())


def test_origin_pull_ca_is_a_ca_certificate(ca):
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is True


def test_origin_pull_ca_is_cloudflares_self_signed_origin_pull_root(ca):
    assert ca.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "origin-pull.cloudflare.net"
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)


def test_origin_pull_ca_matches_its_published_fingerprint_and_expiry(ca):
    assert ca.fingerprint(hashes.SHA256()).hex().upper() == CA_SHA256
    assert ca.not_valid_after_utc.date().isoformat() == CA_NOT_AFTER


def test_zone_turns_on_authenticated_origin_pulls(shipped):
    result = shipped("global")
    settings = result.one(AOP)
    assert settings["enabled"] is True
    assert settings["zoneId"] == result.one("cloudflare:index/loadBalancer:LoadBalancer")["zoneId"]


def test_monitor_probes_as_the_zone_so_health_checks_carry_the_certificate(run_stack, monkeypatch):
    from tools.engine import fakes

    answer = fakes.invoke
    monkeypatch.setattr(
        fakes,
        "invoke",
        lambda token, args: (
            {**answer(token, args), "name": "crm-zone.example"} if token == "cloudflare:index/getZone:getZone" else answer(token, args)
        ),
    )
    monitor = run_stack("global", preview=False, fresh=True).one("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    assert monitor["probeZone"] == "crm-zone.example"


def test_alb_https_listener_requires_a_certificate_from_its_trust_store(shipped):
    result = shipped("aws-dr")
    https = result.one("aws:lb/listener:Listener", "crm-dr-ingress-https")
    store = result.one("aws:lb/trustStore:TrustStore")
    assert https["mutualAuthentication"]["mode"] == "verify"
    assert https.property_dependencies["mutualAuthentication"] == [store.urn]


def test_trust_store_reads_cloudflares_ca_from_its_own_private_bucket(shipped):
    result = shipped("aws-dr")
    bundle = result.one("aws:s3/bucketObjectv2:BucketObjectv2")
    store = result.one("aws:lb/trustStore:TrustStore")
    bucket = next(b for b in result.of_type("aws:s3/bucket:Bucket") if b.urn in store.property_dependencies["caCertificatesBundleS3Bucket"])
    assert bundle["content"] == CA_FILE.read_text()
    assert bucket.urn in bundle.property_dependencies["bucket"]
    blocks = [
        b
        for b in result.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if bucket.urn in b.property_dependencies["bucket"]
    ]
    assert len(blocks) == 1 and blocks[0]["blockPublicPolicy"] is True


def test_a_bundle_that_is_not_pem_is_refused():
    with pytest.raises(ValueError, match="PEM"):
        PublicLoadBalancerArgs(
            vpc_id="v",
            vpc_cidr="10.0.0.0/16",
            subnet_ids=["a"],
            certificate_arn="c",
            allowed_cidrs=["192.0.2.0/24"],
            target_security_group_id="sg",
            tags={},
            client_ca_bundle="not a certificate",
        )
