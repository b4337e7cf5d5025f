"""The ALB's certificate: ACM, validated through DNS records in Cloudflare.

ACM validates by the CNAME records it names for each domain, never by reaching the host, so the
certificate issues and renews while Cloudflare proxies the names. `certificate_arn` is the
validated certificate (a CertificateValidation waits for ACM to issue it), so the HTTPS listener
is created only once the certificate is usable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components.base import Component
from components.cloudflare.records import stored_form

VALIDATION_TTL = 300


@dataclass
class ValidatedCertificateArgs:
    hostnames: Sequence[str]  # the first is the certificate's subject, the rest its alternative names
    zone_id: pulumi.Input[str]
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.hostnames:
            raise ValueError("the certificate needs at least one host name")
        if len(set(self.hostnames)) != len(self.hostnames):
            raise ValueError("the certificate lists a host name twice")


def _field(option, snake: str, camel: str):
    value = getattr(option, snake, None)  # the SDK's output type
    if value is None and isinstance(option, dict) and not hasattr(type(option), snake):
        value = option.get(camel, option.get(snake))  # a plain dict
    return value


def _option(options, host: str, snake: str, camel: str):
    """The validation record ACM names for `host` (None until ACM has answered)."""
    for option in options or []:
        if _field(option, "domain_name", "domainName") == host:
            return _field(option, snake, camel)
    return None


class ValidatedCertificate(Component):
    """Pass the Cloudflare provider in `opts.providers`; every child inherits it."""

    certificate_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ValidatedCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:ValidatedCertificate", name, None, opts)
        hosts = list(args.hostnames)
        self.certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=hosts[0],
            subject_alternative_names=hosts[1:],
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        options = self.certificate.domain_validation_options
        # One record per domain: ACM returns one validation option for each name on the certificate.
        self.validation_records = [
            cloudflare.DnsRecord(
                f"{name}-validation-{i}",
                zone_id=args.zone_id,
                # As Cloudflare stores them (no trailing dot), so an unchanged program shows no drift.
                name=options.apply(lambda o, h=host: stored_form(_option(o, h, "resource_record_name", "resourceRecordName"))),
                type=options.apply(lambda o, h=host: _option(o, h, "resource_record_type", "resourceRecordType") or "CNAME"),
                content=options.apply(lambda o, h=host: stored_form(_option(o, h, "resource_record_value", "resourceRecordValue"))),
                ttl=VALIDATION_TTL,
                proxied=False,
                comment=f"ACM DNS validation for {host}",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for i, host in enumerate(hosts)
        ]
        self.validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[r.name for r in self.validation_records],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.certificate_arn = self.validation.certificate_arn
        self.hostnames = hosts
        self.register_outputs({"certificateArn": self.certificate_arn})
