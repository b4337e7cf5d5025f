"""`python -m tools verify <stack>|--all`: checks a deployed estate through the clouds' APIs.

What is checked depends on what the stack exports (`pulumi stack output --json`):

| the stack exports | checks |
| --- | --- |
| `vpnGatewayId` (aws-dr) | every tunnel of every VPN connection on the gateway is UP and has BGP routes (VgwTelemetry) |
| `vpnTunnels`, `vpnRouter` (gcp-dr) | every HA VPN tunnel is ESTABLISHED; every BGP peer of the Cloud Router is UP |
| `databasePrivateIp` with `vpnTunnels` (gcp-dr) | the subscription is running and its lag is under the RPO |
| `pools`, `accountId`, `hostname` (global) | both Cloudflare pools healthy from every check region; `https://<host>/health` answers 200 through Cloudflare; each cloud's own host answers with its X-Cloud-Provider |
| `clusterName` (AWS / GCP) | the EKS cluster is ACTIVE / the GKE cluster is RUNNING |
| `sesEventsTopicArn` (aws-dr) | every HTTPS subscription of the SES event topic is confirmed (tools/live/webhooks.py) |

Every client is injected through `Sources`, so tests run the same code against fakes. The cloud
SDKs (boto3, google-api-python-client) are imported only when a real client is built: the
deployable program never needs them. Secrets read from the outputs (the database password) are
used, never printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RPO_SECONDS = 5.0  # the documents' RPO
CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
CLOUDS = ("aws", "gcp")
AWS_TUNNELS = 4  # two VPN connections of two tunnels each (components/interconnect)


@dataclass(frozen=True)
class Check:
    stack: str
    name: str
    target: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""


def pulumi_outputs(stack: str) -> dict:
    """The stack's outputs as the Pulumi CLI reports them (secrets revealed in memory only)."""
    from stacks.config import PROJECT_DIR

    try:
        done = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except FileNotFoundError as error:
        raise VerifyError("the Pulumi CLI is not installed (it reads the stack outputs)") from error
    if done.returncode != 0:
        raise VerifyError(f"`pulumi stack output --stack {stack}` failed: {done.stderr.strip().splitlines()[-1:] or ['no message']}")
    return json.loads(done.stdout or "{}")


def http_get(url: str, headers: Mapping[str, str] | None = None, timeout: float = 15.0) -> HttpResponse:
    request = urllib.request.Request(url, headers=dict(headers or {}), method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResponse(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return HttpResponse(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


class VerifyError(Exception):
    """A check could not be carried out (missing output, API error); reported as a failed check."""


class CloudflareApi:
    """The two read-only calls verify makes; the token comes from CLOUDFLARE_API_TOKEN."""

    def __init__(self, token: str | None = None, base_url: str = CLOUDFLARE_API, get: Callable[..., HttpResponse] = http_get):
        self.token, self.base_url, self.get = token, base_url.rstrip("/"), get

    def pool_health(self, account_id: str, pool_id: str) -> dict:
        token = self.token or os.environ.get("CLOUDFLARE_API_TOKEN")
        if not token:
            raise VerifyError("set CLOUDFLARE_API_TOKEN (Load Balancing: Monitors and Pools Read)")
        response = self.get(
            f"{self.base_url}/accounts/{account_id}/load_balancers/pools/{pool_id}/health", {"Authorization": f"Bearer {token}"}
        )
        try:
            document = json.loads(response.body or b"{}")
        except ValueError:
            document = {}
        if response.status != 200 or not document.get("success", False):
            messages = "; ".join(e.get("message", "") for e in document.get("errors", [])) or f"HTTP {response.status}"
            raise VerifyError(f"Cloudflare API: {messages}")
        return document.get("result") or {}


class GcpCompute:
    """Compute Engine and GKE reads through google-api-python-client (application default credentials)."""

    def __init__(self, compute=None, container=None):
        self._compute, self._container = compute, container

    @property
    def compute(self):
        if self._compute is None:
            from googleapiclient import discovery

            self._compute = discovery.build("compute", "v1", cache_discovery=False)
        return self._compute

    @property
    def container(self):
        if self._container is None:
            from googleapiclient import discovery

            self._container = discovery.build("container", "v1", cache_discovery=False)
        return self._container

    def tunnel(self, project: str, region: str, name: str) -> dict:
        return self.compute.vpnTunnels().get(project=project, region=region, vpnTunnel=name).execute()

    def router_status(self, project: str, region: str, router: str) -> dict:
        return self.compute.routers().getRouterStatus(project=project, region=region, router=router).execute()

    def cluster(self, project: str, location: str, name: str) -> dict:
        return (
            self.container.projects().locations().clusters().get(name=f"projects/{project}/locations/{location}/clusters/{name}").execute()
        )


def boto3_client(service: str, region: str):
    import boto3

    return boto3.client(service, region_name=region)


def dr_replication_lag(host: str, port: int, dbname: str, user: str, password: str, sslmode: str = "require") -> float | None:
    """Adapter to dr/: the copy's lag in seconds as dr measures it from the copy alone (the age of the
    newest primary heartbeat it has applied, an upper bound); None when replication is not set up or
    its subscription is not running."""
    from dr import replication

    endpoint = replication.Endpoint(host=host, port=port, dbname=dbname, user=user, password=password, sslmode=sslmode)
    with replication.connect(endpoint) as conn:
        try:
            lag = replication.measure_lag(conn, None)
        except replication.DrError:
            return None  # no heartbeat table: `dr setup` never ran here
    return lag.seconds if lag.subscription_running else None


@dataclass
class Sources:
    outputs: Callable[[str], dict] = pulumi_outputs
    aws: Callable[[str, str], Any] = boto3_client
    gcp: Callable[[], GcpCompute] = GcpCompute
    cloudflare: Callable[[], CloudflareApi] = CloudflareApi
    http: Callable[..., HttpResponse] = http_get
    replication_lag: Callable[..., float | None] = dr_replication_lag
    url: str = "https://{host}{path}"  # tests point this at a local server
    origin_hosts: Mapping[str, str] = field(default_factory=dict)  # cloud -> host that reaches only that cloud
    database_host: str | None = None  # e.g. 127.0.0.1:5432 through the Cloud SQL Auth Proxy
    rpo_seconds: float = RPO_SECONDS


def _require(outputs: Mapping[str, Any], *keys: str) -> list:
    missing = [key for key in keys if outputs.get(key) in (None, "", [])]
    if missing:
        raise VerifyError(f"stack output(s) {', '.join(missing)} missing")
    return [outputs[key] for key in keys]


def aws_vpn(stack: str, outputs: Mapping[str, Any], sources: Sources) -> list[Check]:
    gateway, region = _require(outputs, "vpnGatewayId", "region")
    ec2 = sources.aws("ec2", region)
    connections = ec2.describe_vpn_connections(Filters=[{"Name": "vpn-gateway-id", "Values": [gateway]}])["VpnConnections"]
    connections = [c for c in connections if c.get("State") not in ("deleted", "deleting")]
    if not connections:
        return [Check(stack, "aws vpn connections", gateway, False, "no VPN connection on the gateway")]
    checks = []
    for connection in connections:
        cid = connection["VpnConnectionId"]
        telemetry = connection.get("VgwTelemetry") or []
        if connection.get("State") != "available" or not telemetry:
            checks.append(
                Check(
                    stack,
                    "aws vpn connection available",
                    cid,
                    False,
                    f"state {connection.get('State')}, {len(telemetry)} tunnel(s) reported",
                )
            )
            continue
        for tunnel in telemetry:
            target = f"{cid} {tunnel.get('OutsideIpAddress', '?')}"
            up = tunnel.get("Status") == "UP"
            checks.append(
                Check(stack, "aws tunnel up", target, up, f"{tunnel.get('Status')}: {tunnel.get('StatusMessage', '')}".strip(": "))
            )
            routes = int(tunnel.get("AcceptedRouteCount") or 0)
            checks.append(Check(stack, "aws bgp established", target, up and routes > 0, f"{routes} route(s) accepted from GCP"))
    reported = sum(len(c.get("VgwTelemetry") or []) for c in connections)
    if reported < AWS_TUNNELS:
        checks.append(
            Check(stack, "aws vpn tunnels", gateway, False, f"{reported} tunnel(s) on the gateway, the HA VPN link has {AWS_TUNNELS}")
        )
    return checks


def gcp_vpn(stack: str, outputs: Mapping[str, Any], sources: Sources) -> list[Check]:
    project, region, tunnels, router = _require(outputs, "projectId", "region", "vpnTunnels", "vpnRouter")
    gcp = sources.gcp()
    checks = []
    for name in tunnels:
        tunnel = gcp.tunnel(project, region, name)
        status = tunnel.get("status", "UNKNOWN")
        checks.append(
            Check(
                stack, "gcp tunnel established", name, status == "ESTABLISHED", f"{status}: {tunnel.get('detailedStatus', '')}".strip(": ")
            )
        )
    peers = (gcp.router_status(project, region, router).get("result") or {}).get("bgpPeerStatus") or []
    for peer in peers:
        up = peer.get("status") == "UP"
        checks.append(
            Check(stack, "gcp bgp established", peer.get("name", "?"), up, f"{peer.get('status')} ({peer.get('state', 'no state')})")
        )
    if len(peers) < len(tunnels):
        checks.append(Check(stack, "gcp bgp peers", router, False, f"{len(peers)} BGP peer(s) reported for {len(tunnels)} tunnel(s)"))
    return checks


def replication(stack: str, outputs: Mapping[str, Any], sources: Sources) -> list[Check]:
    host, password = _require(outputs, "databasePrivateIp", "databasePassword")
    port = int(outputs.get("databasePort") or 5432)
    if sources.database_host:
        host, _, given = sources.database_host.partition(":")
        port = int(given or port)
    lag = sources.replication_lag(
        host=host,
        port=port,
        dbname=outputs.get("databaseName") or "crm",
        user=outputs.get("databaseUsername") or "crmadmin",
        password=password,
    )
    if lag is None:
        return [Check(stack, "replication running", host, False, "the subscription is not running (python -m dr setup)")]
    return [Check(stack, "replication lag under RPO", host, lag < sources.rpo_seconds, f"{lag:.1f} s (RPO {sources.rpo_seconds:g} s)")]


def cloudflare(stack: str, outputs: Mapping[str, Any], sources: Sources) -> list[Check]:
    account, pools, host = _require(outputs, "accountId", "pools", "hostname")
    api = sources.cloudflare()
    checks = []
    for cloud in CLOUDS:
        pool = pools.get(cloud)
        if not pool:
            checks.append(Check(stack, "cloudflare pool healthy", cloud, False, "no pool exported for this cloud"))
            continue
        try:
            regions = api.pool_health(account, pool).get("pop_health") or {}
        except VerifyError as error:
            checks.append(Check(stack, "cloudflare pool healthy", f"{cloud} {pool}", False, str(error)))
            continue
        sick = sorted(region for region, health in regions.items() if not health.get("healthy"))
        ok = bool(regions) and not sick
        detail = (
            f"healthy from {len(regions)} region(s)" if ok else (f"unhealthy from {', '.join(sick)}" if sick else "no health reported yet")
        )
        checks.append(Check(stack, "cloudflare pool healthy", f"{cloud} {pool}", ok, detail))
    checks.append(_endpoint(stack, sources, host, None))
    origins = {**(outputs.get("originHosts") or {}), **sources.origin_hosts}  # each cloud stack's originHost, or --origin
    for cloud in CLOUDS:
        if not origins.get(cloud):
            checks.append(
                Check(stack, f"health of {cloud} origin", cloud, False, "no origin host exported (originHosts) or given (--origin)")
            )
            continue
        checks.append(_endpoint(stack, sources, origins[cloud], cloud))
    return checks


def _endpoint(stack: str, sources: Sources, host: str, cloud: str | None) -> Check:
    name = "health through cloudflare" if cloud is None else f"health of {cloud} origin"
    try:
        response = sources.http(sources.url.format(host=host, path="/health"), {"Cache-Control": "no-cache"})
    except (OSError, urllib.error.URLError) as error:
        return Check(stack, name, host, False, f"no answer: {getattr(error, 'reason', error)}")
    served_by = (response.headers.get("x-cloud-provider") or "").lower()
    problems = []
    if response.status != 200:
        problems.append(f"HTTP {response.status}")
    if "cf-ray" not in response.headers:
        problems.append("not served through Cloudflare (no cf-ray header)")
    if cloud is None and served_by not in CLOUDS:
        problems.append(f"X-Cloud-Provider {served_by or 'missing'}")
    if cloud is not None and served_by != cloud:
        problems.append(f"X-Cloud-Provider {served_by or 'missing'}, expected {cloud}")
    return Check(stack, name, host, not problems, "; ".join(problems) or f"200, X-Cloud-Provider {served_by}")


def cluster(stack: str, outputs: Mapping[str, Any], sources: Sources) -> list[Check]:
    name, region = _require(outputs, "clusterName", "region")
    if stack.startswith("gcp"):
        (project,) = _require(outputs, "projectId")
        status = sources.gcp().cluster(project, region, name).get("status", "UNKNOWN")
        return [Check(stack, "gke cluster running", name, status == "RUNNING", status)]
    status = sources.aws("eks", region).describe_cluster(name=name)["cluster"].get("status", "UNKNOWN")
    return [Check(stack, "eks cluster active", name, status == "ACTIVE", status)]


def ses_webhooks(stack: str, outputs: Mapping[str, Any], sources: Sources) -> list[Check]:
    from .webhooks import checks

    return checks(stack, dict(outputs), sources)


# (marker output, check family): a family runs when the stack exports its marker.
FAMILIES: tuple[tuple[Callable[[Mapping[str, Any]], bool], str, Callable[[str, Mapping[str, Any], Sources], list[Check]]], ...] = (
    (lambda o: "clusterName" in o, "cluster", cluster),
    (lambda o: "vpnGatewayId" in o, "aws vpn", aws_vpn),
    (lambda o: "vpnTunnels" in o, "gcp vpn", gcp_vpn),
    (lambda o: "vpnTunnels" in o and "databasePrivateIp" in o, "replication", replication),
    (lambda o: "pools" in o or "poolIds" in o, "cloudflare", cloudflare),
    (lambda o: "sesEventsTopicArn" in o, "ses webhooks", ses_webhooks),
)


def verify_stack(stack: str, sources: Sources) -> list[Check]:
    try:
        outputs = sources.outputs(stack)
    except (VerifyError, ValueError, OSError, subprocess.SubprocessError) as error:
        return [Check(stack, "stack outputs", stack, False, str(error))]
    checks: list[Check] = []
    for applies, family, run in FAMILIES:
        if not applies(outputs):
            continue
        try:
            checks.extend(run(stack, outputs, sources))
        except Exception as error:  # an API or driver error fails this family, not the run
            checks.append(Check(stack, family, stack, False, _describe(error)))
    if not checks:
        checks.append(Check(stack, "outputs", stack, False, "exports nothing verify can check (is the stack deployed?)"))
    return checks


def _describe(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300]


def table(checks: Iterable[Check]) -> str:
    rows = [("stack", "check", "target", "result", "detail")] + [
        (c.stack, c.name, c.target, "ok" if c.ok else "FAIL", c.detail) for c in checks
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4] for row in rows)


def run(stacks: Iterable[str], sources: Sources) -> tuple[list[Check], int]:
    checks = [check for stack in stacks for check in verify_stack(stack, sources)]
    failed = sum(not c.ok for c in checks)
    return checks, 1 if failed else 0
