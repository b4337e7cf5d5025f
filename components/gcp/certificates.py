"""The GCP load balancer's certificate: Certificate Manager, authorized through DNS records in Cloudflare.

Google validates a DNS-authorized certificate by the CNAME `_acme-challenge.<host>` only, never by
reaching the host, so it issues and renews while Cloudflare proxies the name (an HTTP-validated
Google-managed certificate would never validate behind the proxy). The certificate map holds one
entry per host; the Gateway names the map in its `networking.gke.io/certmap` annotation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare
import pulumi_gcp as gcp

from components.base import Component
from components.cloudflare.records import stored_form

VALIDATION_TTL = 300
AUTHORIZATION_RECORD_TYPE = "CNAME"
# Hex digits of a host's digest in its resources' names: 2^32 values for the few hosts of one map.
HOST_KEY_LENGTH = 8


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


def host_key(host: str) -> str:
    """A short digest of `host`: what its certificate, DNS authorization and map entry are named by."""
    return hashlib.sha256(host.encode()).hexdigest()[:HOST_KEY_LENGTH]


class ManagedCertificate(Component):
    """Pass the Cloudflare provider in `opts.providers`; every child inherits it.

    Each host has its own DNS authorization, certificate and map entry, named (in Pulumi and in
    Google) by a digest of the host, never by its position in the list: a host added or renamed gets
    new resources under new names, created alongside the ones still serving (a host's domain, a
    certificate's domains and an entry's hostname all force a replacement, which under a fixed name
    would collide with the old copy), and the other hosts' resources are left as they are.
    """

    map_name: pulumi.Output[str]

    def __init__(self, name: str, args: ManagedCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:ManagedCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = dict(args.labels)
        self.certificate_map = gcp.certificatemanager.CertificateMap(
            f"{name}-map", project=args.project, name=args.map_name, labels=labels, opts=child
        )
        self.certificates: dict[str, gcp.certificatemanager.Certificate] = {}
        for position, host in enumerate(args.hostnames):
            key = host_key(host)
            google_name = f"{args.map_name}-{key}"
            authorization = gcp.certificatemanager.DnsAuthorization(
                f"{name}-auth-{key}",
                project=args.project,
                name=google_name,
                domain=host,
                labels=labels,
                opts=child,
            )
            record = authorization.dns_resource_records[0]
            validation = cloudflare.DnsRecord(
                f"{name}-validation-{key}",
                zone_id=args.zone_id,
                # As Cloudflare stores them (no trailing dot), so an unchanged program shows no drift.
                name=record.name.apply(stored_form),
                # Certificate Manager's DNS authorization record is always a CNAME (the API's dnsResourceRecord.type);
                # known here, an authorization made again leaves the record to be updated in place, never replaced.
                type=AUTHORIZATION_RECORD_TYPE,
                content=record.data.apply(stored_form),
                ttl=VALIDATION_TTL,
                proxied=False,
                comment=f"Certificate Manager DNS authorization for {host}",
                # Cloudflare holds one CNAME per name: the record a stack deployed under its position
                # in the host list is updated in place, never created a second time beside itself.
                opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-validation-{position}")]),
            )
            certificate = gcp.certificatemanager.Certificate(
                f"{name}-cert-{key}",
                project=args.project,
                name=google_name,
                scope="DEFAULT",
                labels=labels,
                managed={"domains": [host], "dns_authorizations": [authorization.id]},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[validation]),
            )
            gcp.certificatemanager.CertificateMapEntry(
                f"{name}-entry-{key}",
                project=args.project,
                name=google_name,
                map=self.certificate_map.name,
                hostname=host,
                certificates=[certificate.id],
                labels=labels,
                opts=child,
            )
            self.certificates[host] = certificate
        self.map_name = self.certificate_map.name
        self.hostnames = list(args.hostnames)
        self.register_outputs({"mapName": self.map_name})
