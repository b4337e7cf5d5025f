"""The GKE Gateway that puts the application behind a global external HTTPS load balancer.

GKE's Gateway controller builds the load balancer (forwarding rule on the reserved global
address, target HTTPS proxy with the certificate map, URL map, backend service on the Service's
container-native NEGs) from these objects:

- `Gateway` (class `gke-l7-global-external-managed`) on the reserved address, claimed by name
  (`NamedAddress`), one HTTPS listener; its certificate comes from the Certificate Manager map
  named in the `networking.gke.io/certmap` annotation;
- `HTTPRoute` from the Gateway's listener to the application's Service;
- `HealthCheckPolicy` so the backend service probes the application's health path;
- `GCPBackendPolicy` attaching the Cloud Armor policy (Cloudflare-only) to that backend.

Pass the cluster's Kubernetes provider in `opts.providers`; the cluster must run the Gateway API
(`gateway_api_config` channel `CHANNEL_STANDARD`, components/gcp/gke.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.base import Component

GATEWAY_CLASS = "gke-l7-global-external-managed"
GATEWAY_API = "gateway.networking.k8s.io/v1"
GKE_POLICY_API = "networking.gke.io/v1"
LISTENER = "https"
CERTMAP_ANNOTATION = "networking.gke.io/certmap"


@dataclass
class AppGatewayArgs:
    namespace: str
    gateway_name: str
    address_name: pulumi.Input[str]
    certificate_map: pulumi.Input[str]
    hostnames: Sequence[str]
    service_name: str
    service_port: int
    security_policy: pulumi.Input[str]
    health_check_path: str = "/health"

    def __post_init__(self) -> None:
        if not self.hostnames:
            raise ValueError("the Gateway needs the host names it serves")
        if not 1 <= self.service_port <= 65535:
            raise ValueError(f"service_port must be 1-65535, got {self.service_port}")
        if not self.health_check_path.startswith("/"):
            raise ValueError(f"health_check_path must start with '/', got '{self.health_check_path}'")


class AppGateway(Component):
    gateway: k8s.apiextensions.CustomResource
    gateway_name: str

    def __init__(self, name: str, args: AppGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:AppGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        service_ref = {"group": "", "kind": "Service", "name": args.service_name}

        self.gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            metadata={"name": args.gateway_name, "namespace": args.namespace, "annotations": {CERTMAP_ANNOTATION: args.certificate_map}},
            spec={
                "gatewayClassName": GATEWAY_CLASS,
                "addresses": [{"type": "NamedAddress", "value": args.address_name}],
                "listeners": [{"name": LISTENER, "protocol": "HTTPS", "port": 443, "allowedRoutes": {"namespaces": {"from": "Same"}}}],
            },
            opts=child,
        )
        self.route = k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version=GATEWAY_API,
            kind="HTTPRoute",
            metadata={"name": args.gateway_name, "namespace": args.namespace},
            spec={
                "parentRefs": [{"name": args.gateway_name, "sectionName": LISTENER}],
                "hostnames": list(args.hostnames),
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "backendRefs": [{"name": args.service_name, "port": args.service_port}],
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway]),
        )
        self.health_check = k8s.apiextensions.CustomResource(
            f"{name}-health",
            api_version=GKE_POLICY_API,
            kind="HealthCheckPolicy",
            metadata={"name": args.service_name, "namespace": args.namespace},
            spec={
                "default": {
                    "checkIntervalSec": 15,
                    "timeoutSec": 5,
                    "healthyThreshold": 2,
                    "unhealthyThreshold": 2,
                    "config": {
                        "type": "HTTP",
                        "httpHealthCheck": {"portSpecification": "USE_SERVING_PORT", "requestPath": args.health_check_path},
                    },
                },
                "targetRef": service_ref,
            },
            opts=child,
        )
        self.backend_policy = k8s.apiextensions.CustomResource(
            f"{name}-backend",
            api_version=GKE_POLICY_API,
            kind="GCPBackendPolicy",
            metadata={"name": args.service_name, "namespace": args.namespace},
            spec={
                "default": {"securityPolicy": args.security_policy, "logging": {"enabled": True, "sampleRate": 1000000}, "timeoutSec": 30},
                "targetRef": service_ref,
            },
            opts=child,
        )
        self.gateway_name = args.gateway_name
        self.register_outputs({"gatewayName": self.gateway_name})
