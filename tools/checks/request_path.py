"""Walks a request from Cloudflare to a pod through a stack's resolved preview, hop by hop.

Each hop names the resource, the port and protocol a request uses there, and every link between
two hops is checked against the resources on both ends: a target group ARN, a selector, a port,
a health path, an IP range, an identity. A broken link is reported as a problem with the hop it
breaks, so `python -m tools path <stack>` and the request-path test fail on it.

The previews are the offline ones (`preview=False`, values resolved by the mocks in
`tools/engine/fakes.py`), so ARNs and addresses compared here are the ones Pulumi would wire.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER
from components.gcp.network import GOOGLE_HEALTH_CHECK_RANGES

from ..engine import fakes
from ..engine.engine import PreviewResult, RegisteredResource, reveal

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
GATEWAY_KINDS = ("Gateway", "HTTPRoute")


@dataclass
class Hop:
    what: str
    port: int | None
    protocol: str
    detail: str = ""

    def line(self) -> str:
        where = f":{self.port}" if self.port else ""
        return f"{self.what}{where} {self.protocol}" + (f"  ({self.detail})" if self.detail else "")


@dataclass
class RequestPath:
    stack: str
    hops: list[Hop] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def hop(self, what: str, port: int | None, protocol: str, detail: str = "") -> None:
        self.hops.append(Hop(what, port, protocol, detail))

    def broken(self, message: str) -> None:
        self.problems.append(message)

    def render(self) -> str:
        lines = [f"Request path of {self.stack}:"]
        for i, hop in enumerate(self.hops):
            lines.append(f"  {i + 1}. {hop.line()}")
        if self.problems:
            lines.append(f"{len(self.problems)} broken link(s):")
            lines.extend(f"  - {p}" for p in self.problems)
        else:
            lines.append("every link checked: OK")
        return "\n".join(lines)


def _state(r: RegisteredResource) -> dict:
    """What the resource holds after deploy under the offline mocks: its inputs and computed values."""
    return {**reveal(r.inputs), **fakes.computed(r.type, r.name, r.inputs)}


def _k8s(result: PreviewResult, type_: str) -> list[dict]:
    return [reveal(r.inputs) for r in result.of_type(type_)]


def _custom(result: PreviewResult, kind: str) -> list[dict]:
    return [reveal(r.inputs) for r in result.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _covered(cidr: str, blocks: list[str]) -> bool:
    net = ipaddress.IPv4Network(cidr)
    return any(net.subnet_of(ipaddress.IPv4Network(b)) for b in blocks)


def monitor_path(global_result: PreviewResult | None) -> str | None:
    if global_result is None:
        return None
    monitors = global_result.of_type("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    return reveal(monitors[0].inputs).get("path") if monitors else None


def cloudflare_hop(path: RequestPath, global_result: PreviewResult | None, cloud: str, origin: Any, outputs_name: str) -> None:
    """The Cloudflare pool whose origin must be this stack's public address."""
    if global_result is None:
        path.hop("(not an origin of the global load balancer)", None, "", "the global stack balances its awsStack/gcpStack only")
        return
    pools = [reveal(p.inputs) for p in global_result.of_type("cloudflare:index/loadBalancerPool:LoadBalancerPool")]
    addresses = {o.get("address"): p.get("name") for p in pools for o in p.get("origins") or []}
    hostname = global_result.outputs.get("hostname") or ""
    path.hop(f"Cloudflare load balancer {hostname}".strip(), 443, "HTTPS", "proxied; TLS terminates at Cloudflare")
    if origin not in addresses:
        path.broken(f"no Cloudflare pool has this stack's {outputs_name} ({origin}) as an origin (origins: {sorted(map(str, addresses))})")
        return
    path.hop(f"Cloudflare pool '{addresses[origin]}' -> origin {origin}", 443, "HTTPS", f"{cloud} origin")


def walk_aws(result: PreviewResult, global_result: PreviewResult | None = None) -> RequestPath:
    path = RequestPath(result.stack)
    albs = result.of_type("aws:lb/loadBalancer:LoadBalancer")
    if len(albs) != 1:
        path.broken(f"expected one ALB, found {len(albs)}")
        return path
    alb = _state(albs[0])
    cloudflare_hop(path, global_result, "aws", result.outputs.get("albDnsName"), "albDnsName")
    if result.outputs.get("albDnsName") != alb["dnsName"]:
        path.broken(f"output albDnsName ({result.outputs.get('albDnsName')}) is not the ALB's DNS name ({alb['dnsName']})")
    path.hop(f"ALB {albs[0].name} ({alb['dnsName']})", 443, "HTTPS", "security group admits Cloudflare only")

    groups = {(_state(t))["arn"]: (t, _state(t)) for t in result.of_type("aws:lb/targetGroup:TargetGroup")}
    https_listeners = [
        x for x in result.of_type("aws:lb/listener:Listener") if x.inputs.get("port") == 443 and x.inputs.get("protocol") == "HTTPS"
    ]
    https = [reveal(x.inputs) for x in https_listeners]
    if not https:
        path.broken("the ALB has no HTTPS listener on 443")
        return path
    _mutual_tls(path, result, https[0], global_result)
    forward = [a.get("targetGroupArn") for a in https[0].get("defaultActions") or [] if a.get("type") == "forward"]
    if not forward:
        forward = _origin_auth_rule(path, result, _state(https_listeners[0]).get("arn"), global_result)
    if not forward or forward[0] not in groups:
        path.broken(f"the HTTPS listener does not forward to a target group of this stack ({forward})")
        return path
    tg_resource, tg = groups[forward[0]]
    path.hop(
        f"listener :443 -> target group {tg_resource.name}",
        tg.get("port"),
        tg.get("protocol", "HTTP"),
        f"target type {tg.get('targetType')}, health check {tg.get('healthCheck', {}).get('path')}",
    )
    if tg.get("targetType") != "ip":
        path.broken(f"target group {tg_resource.name} has target type {tg.get('targetType')!r}; pods are registered by IP ('ip')")

    bindings = [b for b in _k8s(result, TGB) if b["spec"].get("targetGroupARN") == forward[0]]
    if len(bindings) != 1:
        path.broken(f"expected one TargetGroupBinding for {tg_resource.name}, found {len(bindings)}")
        return path
    binding = bindings[0]
    ns = binding["metadata"]["namespace"]
    ref = binding["spec"]["serviceRef"]
    path.hop(
        f"TargetGroupBinding {ns}/{binding['metadata']['name']}", ref.get("port"), "TCP", f"targetType {binding['spec'].get('targetType')}"
    )
    if binding["spec"].get("targetType") != tg.get("targetType"):
        path.broken(
            f"TargetGroupBinding targetType {binding['spec'].get('targetType')!r} differs from the target group's {tg.get('targetType')!r}"
        )
    _service_to_pods(
        path,
        result,
        ns,
        ref.get("name"),
        ref.get("port"),
        lb_port=tg.get("port"),
        health=tg.get("healthCheck", {}).get("path"),
        monitor=monitor_path(global_result),
    )
    # In address order: subnets register in whatever order their inputs resolve, which differs between runs.
    public = sorted(
        (
            _state(s)["cidrBlock"]
            for s in result.of_type("aws:ec2/subnet:Subnet")
            if _state(s).get("tags", {}).get("tier") == "public" or "public" in s.name
        ),
        key=ipaddress.ip_network,
    )
    _network_policy_admits(path, result, ns, public, "the ALB's subnets")
    _irsa(path, result, ns)
    return path


AOP = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings"
MONITOR = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"


def _origin_auth_rule(path: RequestPath, result: PreviewResult, listener_arn: str | None, global_result: PreviewResult | None) -> list:
    """A listener that answers 403 by default forwards through the rule that requires the zone's origin-auth header;
    the global stack must send that header, with a value the rule admits, on requests and health checks."""
    rules = [r for r in result.of_type("aws:lb/listenerRule:ListenerRule") if r.inputs.get("listenerArn") == listener_arn]
    for rule in rules:
        inputs = reveal(rule.inputs)
        headers = [c["httpHeader"] for c in inputs.get("conditions") or [] if c.get("httpHeader")]
        if [h.get("httpHeaderName") for h in headers] != [ORIGIN_AUTH_HEADER]:
            continue
        path.hop(
            f"listener rule {rule.name}: the zone's {ORIGIN_AUTH_HEADER} header",
            443,
            "HTTPS",
            f"one of {len(headers[0].get('values') or [])} secret values, or 403",
        )
        if global_result is not None:
            sent = _sent_origin_auth(global_result)
            if sent is None or sent not in (headers[0].get("values") or []):
                path.broken(
                    f"the ALB forwards only requests carrying the zone's {ORIGIN_AUTH_HEADER} header, but the global stack "
                    "sends none of the values it admits (on requests and health checks): every request would get 403"
                )
        return [a.get("targetGroupArn") for a in inputs.get("actions") or [] if a.get("type") == "forward"]
    return []


def _sent_origin_auth(global_result: PreviewResult) -> str | None:
    """The origin-auth value the zone's transform rule sets, when the monitor's health checks send the same."""
    sent = [
        (rule.get("actionParameters") or {}).get("headers", {}).get(ORIGIN_AUTH_HEADER, {}).get("value")
        for ruleset in global_result.of_type("cloudflare:index/ruleset:Ruleset")
        for rule in reveal(ruleset.inputs).get("rules") or []
    ]
    sent = [value for value in sent if value]
    monitors = [reveal(m.inputs).get("header", {}).get(ORIGIN_AUTH_HEADER) for m in global_result.of_type(MONITOR)]
    if len(sent) != 1 or any(m != sent for m in monitors):
        return None
    return sent[0]


def _mutual_tls(path: RequestPath, result: PreviewResult, listener: dict, global_result: PreviewResult | None) -> None:
    """A listener that verifies client certificates needs Cloudflare to present one, on requests and health checks."""
    mtls = listener.get("mutualAuthentication") or {}
    if mtls.get("mode") != "verify":
        return
    stores = {_state(t).get("arn"): t.name for t in result.of_type("aws:lb/trustStore:TrustStore")}
    if mtls.get("trustStoreArn") not in stores:
        path.broken(
            f"the HTTPS listener verifies client certificates against a trust store this stack does not create ({mtls.get('trustStoreArn')})"
        )
        return
    path.hop(
        f"mutual TLS: Cloudflare's origin-pull certificate checked by trust store {stores[mtls['trustStoreArn']]}",
        443,
        "TLS",
        "no certificate or another CA: handshake refused",
    )
    if global_result is None:
        return
    if not any(reveal(a.inputs).get("enabled") is True for a in global_result.of_type(AOP)):
        path.broken(
            "the HTTPS listener requires a client certificate, but the global stack does not turn on authenticated origin pulls: "
            "Cloudflare would present none and every request would fail the handshake"
        )
    monitors = [reveal(m.inputs) for m in global_result.of_type(MONITOR)]
    if any(not m.get("probeZone") for m in monitors):
        path.broken(
            "the Cloudflare monitor has no probeZone: its health checks carry no origin-pull certificate, so the origin would look down"
        )


def walk_gcp(result: PreviewResult, global_result: PreviewResult | None = None) -> RequestPath:
    path = RequestPath(result.stack)
    addresses = [
        a for a in result.of_type("gcp:compute/globalAddress:GlobalAddress") if _state(a).get("addressType", "EXTERNAL") == "EXTERNAL"
    ]
    if len(addresses) != 1:
        path.broken(f"expected one reserved external global address, found {len(addresses)}")
        return path
    address = _state(addresses[0])
    cloudflare_hop(path, global_result, "gcp", result.outputs.get("originIp"), "originIp")
    path.hop(f"global address {address.get('name')} ({address.get('address')})", 443, "HTTPS", "reserved, premium tier")
    ns, service_name, port = _gateway(path, result, address.get("name"))
    if service_name is None:
        services = [s for s in _k8s(result, SERVICE) if s["metadata"]["name"] == result.outputs.get("appServiceName")]
        if not services:
            return path
        ns, service_name, port = (
            services[0]["metadata"]["namespace"],
            services[0]["metadata"]["name"],
            services[0]["spec"]["ports"][0]["port"],
        )
    checks = [
        c
        for c in _custom(result, "HealthCheckPolicy")
        if c["metadata"].get("namespace") == ns
        and (c["spec"].get("targetRef") or {}).get("kind") == "Service"
        and c["spec"]["targetRef"].get("name") == service_name
    ]
    health = None
    if checks:
        health = ((checks[0]["spec"].get("default") or {}).get("config") or {}).get("httpHealthCheck", {}).get("requestPath")
    _service_to_pods(
        path,
        result,
        ns,
        service_name,
        port,
        lb_port=None,
        health=health,
        monitor=monitor_path(global_result),
        health_what="the load balancer's health check",
    )
    _network_policy_admits(path, result, ns, list(GOOGLE_HEALTH_CHECK_RANGES), "Google's load balancer and health-check ranges")
    _workload_identity(path, result, ns)
    return path


def _gateway(path: RequestPath, result: PreviewResult, address_name: str):
    """GKE Gateway on the named address -> HTTPRoute -> Service."""
    gateways = _custom(result, "Gateway")
    mine = [g for g in gateways if any(a.get("value") == address_name for a in g.get("spec", {}).get("addresses") or [])]
    if not mine:
        path.broken(f"no load balancer uses the reserved address {address_name}: no GKE Gateway names it in spec.addresses")
        return None, None, None
    gateway = mine[0]
    gw_name, gw_ns = gateway["metadata"]["name"], gateway["metadata"].get("namespace")
    listeners = gateway["spec"].get("listeners") or []
    path.hop(
        f"GKE Gateway {gw_ns}/{gw_name} (class {gateway['spec'].get('gatewayClassName')})",
        listeners[0].get("port") if listeners else None,
        listeners[0].get("protocol", "") if listeners else "",
    )
    routes = [
        r
        for r in _custom(result, "HTTPRoute")
        if any(
            p.get("name") == gw_name and p.get("namespace", r["metadata"].get("namespace")) == gw_ns
            for p in r["spec"].get("parentRefs") or []
        )
    ]
    if not routes:
        path.broken(f"no HTTPRoute attaches to Gateway {gw_ns}/{gw_name}")
        return None, None, None
    route = routes[0]
    backends = [b for rule in route["spec"].get("rules") or [] for b in rule.get("backendRefs") or []]
    if not backends:
        path.broken(f"HTTPRoute {route['metadata']['name']} has no backendRefs")
        return None, None, None
    backend = backends[0]
    ns = backend.get("namespace", route["metadata"].get("namespace"))
    path.hop(f"HTTPRoute {route['metadata'].get('namespace')}/{route['metadata']['name']}", backend.get("port"), "HTTP")
    return ns, backend.get("name"), backend.get("port")


def _service_to_pods(
    path: RequestPath,
    result: PreviewResult,
    ns: str,
    name: str,
    port: Any,
    *,
    lb_port,
    health,
    monitor,
    health_what: str = "the target group's health check",
) -> None:
    services = [s for s in _k8s(result, SERVICE) if s["metadata"]["name"] == name and s["metadata"].get("namespace") == ns]
    if not services:
        path.broken(f"no Service {ns}/{name}")
        return
    service = services[0]["spec"]
    # A reference names the Service's port by number or by name (a TargetGroupBinding's serviceRef.port may be either).
    ports = [p for p in service.get("ports") or [] if port in (p.get("port"), p.get("name"))]
    if not ports:
        path.broken(f"Service {ns}/{name} has no port {port} (has {[p.get('port') for p in service.get('ports') or []]})")
        return
    target = ports[0].get("targetPort", ports[0].get("port"))
    path.hop(f"Service {ns}/{name}", ports[0].get("port"), ports[0].get("protocol", "TCP"), f"targetPort {target}")
    deployments = [
        d
        for d in _k8s(result, DEPLOYMENT)
        if d["metadata"].get("namespace") == ns
        and _selects(service.get("selector") or {}, d["spec"]["template"]["metadata"].get("labels") or {})
    ]
    if not deployments:
        path.broken(f"Service {ns}/{name}'s selector {service.get('selector')} matches no Deployment's pod labels")
        return
    deployment = deployments[0]
    pod = deployment["spec"]["template"]["spec"]
    container_ports = {(p.get("name"), p.get("containerPort")): c for c in pod["containers"] for p in c.get("ports") or []}
    matching = [c for (pname, number), c in container_ports.items() if target in (pname, number)]
    if not matching:
        path.broken(f"Service targetPort {target} is no container port of Deployment {ns}/{deployment['metadata']['name']}")
        return
    container = matching[0]
    number = next(n for (pname, n), c in container_ports.items() if c is container and target in (pname, n))
    probe = (container.get("readinessProbe") or {}).get("httpGet") or {}
    path.hop(
        f"Deployment {ns}/{deployment['metadata']['name']} container {container['name']}",
        number,
        probe.get("scheme", "HTTP"),
        f"readiness {probe.get('path')}, serviceAccount {pod.get('serviceAccountName')}",
    )
    if lb_port is not None and lb_port != number:
        path.broken(f"the target group sends to port {lb_port} but the container listens on {number}")
    if probe.get("port") not in (number, container.get("name")) and probe.get("port") != target:
        path.broken(f"the readiness probe checks port {probe.get('port')}, not the serving port {number}")
    for what, expected in ((health_what, health), ("the Cloudflare monitor", monitor)):
        if expected is not None and probe.get("path") != expected:
            path.broken(f"the pods' readiness path {probe.get('path')!r} differs from {what} path {expected!r}")


def _network_policy_admits(path: RequestPath, result: PreviewResult, ns: str, sources: list[str], what: str) -> None:
    policies = [p for p in _k8s(result, NETWORK_POLICY) if p["metadata"].get("namespace") == ns]
    deny = [p for p in policies if p["spec"].get("podSelector") == {} and not p["spec"].get("ingress")]
    if not deny:
        path.broken(f"namespace {ns} has no default-deny NetworkPolicy")
    labels = next(
        (d["spec"]["template"]["metadata"].get("labels") or {} for d in _k8s(result, DEPLOYMENT) if d["metadata"].get("namespace") == ns),
        {},
    )
    container_port = next(
        (
            p["containerPort"]
            for d in _k8s(result, DEPLOYMENT)
            if d["metadata"].get("namespace") == ns
            for c in d["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports") or []
        ),
        None,
    )
    blocks = [
        peer["ipBlock"]["cidr"]
        for p in policies
        if _selects(p["spec"].get("podSelector", {}).get("matchLabels") or {}, labels)
        for rule in p["spec"].get("ingress") or []
        if any(port.get("port") == container_port for port in rule.get("ports") or [])
        for peer in rule.get("from") or []
        if "ipBlock" in peer
    ]
    missing = [s for s in sources if not _covered(s, blocks)]
    if not sources:
        path.broken(f"no source ranges known for {what}")
    elif missing:
        path.broken(f"no NetworkPolicy in {ns} admits {what} {missing} on port {container_port}")
    else:
        path.hop(f"NetworkPolicy in {ns} admits {what}", container_port, "TCP", ", ".join(sources))


def _service_account(result: PreviewResult, ns: str) -> tuple[dict | None, str | None]:
    pods = [d["spec"]["template"]["spec"] for d in _k8s(result, DEPLOYMENT) if d["metadata"].get("namespace") == ns]
    name = pods[0].get("serviceAccountName") if pods else None
    accounts = [a for a in _k8s(result, SERVICE_ACCOUNT) if a["metadata"].get("namespace") == ns and a["metadata"]["name"] == name]
    return (accounts[0] if accounts else None), name


def _irsa(path: RequestPath, result: PreviewResult, ns: str) -> None:
    account, name = _service_account(result, ns)
    if account is None:
        path.broken(f"the pods' service account {ns}/{name} does not exist")
        return
    role_arn = (account["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn")
    roles = {_state(r)["arn"]: reveal(r.inputs) for r in result.of_type("aws:iam/role:Role")}
    if role_arn not in roles:
        path.broken(f"service account {ns}/{name} names role {role_arn!r}, which no IAM role of this stack has")
        return
    trust = json.loads(roles[role_arn]["assumeRolePolicy"])
    subjects = [v for s in trust["Statement"] for k, v in s.get("Condition", {}).get("StringEquals", {}).items() if k.endswith(":sub")]
    expected = f"system:serviceaccount:{ns}:{name}"
    if subjects != [expected]:
        path.broken(f"role {role_arn} trusts {subjects}, not the pods' service account {expected}")
    else:
        path.hop(f"identity: {expected} -> IAM role {role_arn.rsplit(':', 1)[-1]}", None, "IRSA")


def _workload_identity(path: RequestPath, result: PreviewResult, ns: str) -> None:
    account, name = _service_account(result, ns)
    if account is None:
        path.broken(f"the pods' service account {ns}/{name} does not exist")
        return
    email = (account["metadata"].get("annotations") or {}).get("iam.gke.io/gcp-service-account")
    # The Google account is bootstrap's (the stacks create none): the binding on it is this stack's.
    named = re.fullmatch(r"[a-z][a-z0-9-]*@([a-z][a-z0-9-]*)\.iam\.gserviceaccount\.com", email or "")
    if named is None:
        path.broken(f"service account {ns}/{name} names {email!r}, which is no user-managed Google service account")
        return
    project = named.group(1)
    member = f"serviceAccount:{project}.svc.id.goog[{ns}/{name}]"
    bindings = [
        b
        for b in (reveal(r.inputs) for r in result.of_type("gcp:serviceaccount/iAMMember:IAMMember"))
        if b.get("role") == "roles/iam.workloadIdentityUser"
        and b.get("member") == member
        and b.get("serviceAccountId") == f"projects/{project}/serviceAccounts/{email}"
    ]
    if not bindings:
        path.broken(f"no roles/iam.workloadIdentityUser binding lets {member} act as {email}")
    else:
        path.hop(f"identity: {ns}/{name} -> {email}", None, "Workload Identity")


def walk(result: PreviewResult, global_result: PreviewResult | None = None) -> RequestPath:
    cloud = result.stack.split("-")[0]
    if cloud == "aws":
        return walk_aws(result, global_result)
    if cloud == "gcp":
        return walk_gcp(result, global_result)
    raise ValueError(f"{result.stack} serves no requests itself; walk an aws-* or gcp-* stack")


def walk_stack(stack: str) -> RequestPath:
    """Previews the stack (and the global stack, when it balances this one) and walks the path."""
    from stacks.config import load, read_stack_file

    from ..engine.workspace import preview_stack

    result = preview_stack(stack, preview=False)
    global_config = load("global", read_stack_file("global"))
    balanced = global_config.load_balancer.aws_stack, global_config.load_balancer.gcp_stack
    global_result = preview_stack("global", preview=False) if stack in balanced else None
    return walk(result, global_result)
