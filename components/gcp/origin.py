"""The address Cloudflare's GCP pool points at: a reserved global IP for the application's load balancer.

GKE's Gateway or Ingress claims it by name (`networking.gke.io/static-ip` / `kubernetes.io/ingress.global-static-ip-name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component


@dataclass
class GlobalOriginArgs:
    project: str
    address_name: str
    labels: Mapping[str, str]


class GlobalOrigin(Component):
    address_name: pulumi.Output[str]
    ip_address: pulumi.Output[str]

    def __init__(self, name: str, args: GlobalOriginArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:GlobalOrigin", name, None, opts)
        self.address = gcp.compute.GlobalAddress(
            f"{name}-ip",
            name=args.address_name,
            project=args.project,
            address_type="EXTERNAL",
            ip_version="IPV4",
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        self.ip_address = self.address.address
        self.address_name = self.address.name
        self.register_outputs({"ipAddress": self.ip_address, "addressName": self.address_name})
