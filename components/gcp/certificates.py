"""The GCP load balancer's certificate: Certificate Manager, authorized through DNS records in Cloudflare.

Google validates a DNS-authorized certificate by the CNAME `_acme-challenge.<host>` only, never by
reaching the host, so it issues and renews while Cloudflare proxies the name (an HTTP-validated
Google-managed certificate would never validate behind the proxy). The certificate map holds one
entry per host; the Gateway names the map in its `networking.gke.io/certmap` annotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_cloudflare as cloudflare
import pulumi_gcp as gcp

from components.base import Component
from components.cloudflare.records import stored_form

VALIDATION_TTL = 300


@dataclass
class ManagedCertificateArgs:
    project: str
    map_name: str
    hostnames: Sequence[str]
    zone_id: pulumi.Input[str]
    labels: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.hostnames:
            raise ValueError("the certificate needs at least one host name")
        if len(set(self.hostnames)) != len(self.hostnames):
            raise ValueError("the certificate lists a host name twice")


class ManagedCertificate(Component):
    """Pass the Cloudflare provider in `opts.providers`; every child inherits it."""

    map_name: pulumi.Output[str]

    def __init__(self, name: str, args: ManagedCertificateArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:gcp:ManagedCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = dict(args.labels)
        authorizations, validations = [], []
        for i, host in enumerate(args.hostnames):
            authorization = gcp.certificatemanager.DnsAuthorization(
                f"{name}-auth-{i}",
                project=args.project,
                name=f"{args.map_name}-{i}",
                domain=host,
                labels=labels,
                opts=child,
            )
            record = authorization.dns_resource_records[0]
            validations.append(
                cloudflare.DnsRecord(
                    f"{name}-validation-{i}",
                    zone_id=args.zone_id,
                    # As Cloudflare stores them (no trailing dot), so an unchanged program shows no drift.
                    name=record.name.apply(stored_form),
                    type=record.type,
                    content=record.data.apply(stored_form),
                    ttl=VALIDATION_TTL,
                    proxied=False,
                    comment=f"Certificate Manager DNS authorization for {host}",
                    opts=child,
                )
            )
            authorizations.append(authorization)
        self.certificate = gcp.certificatemanager.Certificate(
            f"{name}-cert",
            project=args.project,
            name=args.map_name,
            scope="DEFAULT",
            labels=labels,
            managed={"domains": list(args.hostnames), "dns_authorizations": [a.id for a in authorizations]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=validations),
        )
        self.certificate_map = gcp.certificatemanager.CertificateMap(
            f"{name}-map", project=args.project, name=args.map_name, labels=labels, opts=child
        )
        for i, host in enumerate(args.hostnames):
            gcp.certificatemanager.CertificateMapEntry(
                f"{name}-entry-{i}",
                project=args.project,
                name=f"{args.map_name}-{i}",
                map=self.certificate_map.name,
                hostname=host,
                certificates=[self.certificate.id],
                labels=labels,
                opts=child,
            )
        self.map_name = self.certificate_map.name
        self.hostnames = list(args.hostnames)
        self.register_outputs({"mapName": self.map_name})
