"""The architecture drawn from the previews: Graphviz DOT source, rendered by `dot`.

Clouds are regions (outer clusters), stacks sit inside their cloud, each top-level component is a
cluster of its main resources, StackReferences are dashed edges between stacks, and two paths are
highlighted: the request path (Cloudflare -> each cloud's origin -> its cluster -> its data) and the
replication path (RDS -> the VPN -> Cloud SQL). The DOT source is deterministic (sorted), so a test
can tell when the committed drawing no longer matches the code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable
from pathlib import Path

from ..engine.engine import PreviewResult, RegisteredResource

# The resources worth a box, with the label they get. Everything else is counted in its cluster.
SHOWN = {
    "aws:ec2/vpc:Vpc": "VPC",
    "aws:ec2/natGateway:NatGateway": "NAT gateway",
    "aws:eks/cluster:Cluster": "EKS control plane",
    "aws:eks/nodeGroup:NodeGroup": "EKS nodes",
    "aws:rds/instance:Instance": "RDS PostgreSQL",
    "aws:elasticache/replicationGroup:ReplicationGroup": "ElastiCache Redis",
    "aws:lb/loadBalancer:LoadBalancer": "ALB",
    "aws:msk/cluster:Cluster": "MSK",
    "aws:ecr/repository:Repository": "ECR",
    "aws:secretsmanager/secret:Secret": "Secrets Manager",
    "aws:ec2/vpnGateway:VpnGateway": "VPN gateway",
    "aws:ec2/vpnConnection:VpnConnection": "VPN connection",
    "aws:ec2/customerGateway:CustomerGateway": "customer gateway",
    "aws:sqs/queue:Queue": "SQS",
    "aws:sns/topic:Topic": "SNS",
    "aws:ses/domainIdentity:DomainIdentity": "SES",
    "gcp:compute/network:Network": "VPC network",
    "gcp:compute/routerNat:RouterNat": "Cloud NAT",
    "gcp:container/cluster:Cluster": "GKE control plane",
    "gcp:container/nodePool:NodePool": "GKE nodes",
    "gcp:sql/databaseInstance:DatabaseInstance": "Cloud SQL PostgreSQL",
    "gcp:redis/instance:Instance": "Memorystore Redis",
    "gcp:compute/globalAddress:GlobalAddress": "origin IP",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "HTTPS load balancer",
    "gcp:secretmanager/secret:Secret": "Secret Manager",
    "gcp:artifactregistry/repository:Repository": "Artifact Registry",
    "gcp:compute/haVpnGateway:HaVpnGateway": "HA VPN gateway",
    "gcp:compute/vPNTunnel:VPNTunnel": "VPN tunnel",
    "gcp:compute/router:Router": "Cloud Router",
    "kubernetes:kafka.strimzi.io/v1:Kafka": "Kafka (Strimzi)",
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": "Gateway (HTTPS load balancer)",
    "cloudflare:index/loadBalancer:LoadBalancer": "Cloudflare load balancer",
    "cloudflare:index/loadBalancerPool:LoadBalancerPool": "pool",
    "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor": "health monitor",
}
_REGION_KEYS = {"aws": "aws:region", "gcp": "gcp:region"}
_CLOUD_TITLES = {"aws": "AWS", "gcp": "Google Cloud", "cloudflare": "Cloudflare"}
REQUEST = 'color="#1f6feb", penwidth=2.5, fontcolor="#1f6feb"'
REPLICATION = 'color="#d1242f", penwidth=2.5, fontcolor="#d1242f"'


def _id(*parts: str) -> str:
    return '"' + "/".join(parts).replace('"', "'") + '"'


def _cloud(result: PreviewResult) -> str:
    prefixes = [r.type.split(":")[0] for r in result.resources if r.custom]
    return max(("aws", "gcp", "cloudflare"), key=prefixes.count)


def _top_component(r: RegisteredResource, by_urn: dict) -> RegisteredResource | None:
    top = None
    parent = by_urn.get(r.parent)
    while parent is not None:
        if not parent.custom:
            top = parent
        parent = by_urn.get(parent.parent)
    return top


def _referenced_stack(r: RegisteredResource) -> str:
    return str(r.get("name") or r.name).split("/")[-1]


def _folded_label(folded: list[tuple[str, int]], width: int = 64) -> str:
    """One note for a stack's components that have no resource worth a box, instead of a box each."""
    kinds = sorted(kind for kind, _ in folded)
    text = f"{len(folded)} more components, {sum(n for _, n in folded)} resources:"
    rows = textwrap.wrap(", ".join(kinds), width=width, break_on_hyphens=False)
    return 'shape=note, style="filled", fillcolor="#ffffff", color="#afb8c1", fontsize=9, label="' + "\\l".join([text, *rows]) + '\\l"'


def dot(results: Iterable[PreviewResult], regions: dict[str, str] | None = None) -> str:
    """The DOT source for one or more previewed stacks."""
    results = sorted(results, key=lambda r: r.stack)
    regions = regions or {}
    lines = [
        "digraph estate {",
        '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.6, newrank=true];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [color="#8c959f", arrowsize=0.6];',
    ]
    shown: dict[str, dict[str, list[RegisteredResource]]] = {}
    by_cloud: dict[str, list[PreviewResult]] = {}
    for result in results:
        by_cloud.setdefault(_cloud(result), []).append(result)
    for cloud in sorted(by_cloud):
        region = regions.get(cloud, "global" if cloud == "cloudflare" else "")
        lines.append(f"  subgraph {_id('cluster', cloud)} {{")
        lines.append(
            f'    label="{_CLOUD_TITLES[cloud]}{" · " + region if region else ""}"; style="filled"; fillcolor="#f6f8fa"; color="#d0d7de";'
        )
        for result in by_cloud[cloud]:
            stack = result.stack
            by_urn = {r.urn: r for r in result.resources}
            lines.append(f"    subgraph {_id('cluster', stack)} {{")
            lines.append(f'      label="stack {stack}"; style="filled"; fillcolor="#eaeef2"; color="#afb8c1";')
            lines.append(f"      {_id(stack, 'anchor')} [shape=point, style=invis, width=0];")
            groups: dict[str, list[RegisteredResource]] = {}
            counts: dict[str, int] = {}
            for r in result.resources:
                if not r.custom:
                    continue
                top = _top_component(r, by_urn)
                key = top.urn if top is not None else ""
                counts[key] = counts.get(key, 0) + 1
                if r.type in SHOWN and r.get("addressType", "EXTERNAL") == "EXTERNAL":
                    groups.setdefault(key, []).append(r)
            shown[stack] = {}
            folded: list[tuple[str, int]] = []  # components with nothing drawn: (kind, resources)
            for key in sorted(
                set(groups) | {k for k in counts if k}, key=lambda k: (by_urn[k].name, by_urn[k].type) if k in by_urn else ("", "")
            ):
                members = sorted(groups.get(key, []), key=lambda r: (r.type, r.name))
                indent = "      "
                if key:
                    component = by_urn[key]
                    kind = component.type.split(":")[-1]
                    if not members:
                        folded.append((kind, counts.get(key, 0)))
                        continue
                    hidden = counts.get(key, 0) - len(members)
                    # Two components may share a name (types differ): the cluster id carries both.
                    lines.append(f"      subgraph {_id('cluster', stack, component.name, kind)} {{")
                    more = f"\\n+{hidden} more resources" if hidden else ""
                    lines.append(
                        f'        label="{component.name} ({kind}){more}"; style="rounded,filled"; fillcolor="#ffffff"; color="#8c959f"; fontsize=10;'
                    )
                    indent = "        "
                for r in members:
                    lines.append(f'{indent}{_id(stack, r.name)} [label="{SHOWN[r.type]}\\n{r.name}"];')
                    shown[stack].setdefault(r.type, []).append(r)
                if key:
                    lines.append("      }")
            if folded:
                lines.append(f"      {_id(stack, 'more')} [{_folded_label(folded)}];")
            lines.append("    }")
        lines.append("  }")

    def node(stack: str, r: RegisteredResource) -> str:
        return _id(stack, r.name)

    def first(stack: str, type_: str) -> list[RegisteredResource]:
        return shown.get(stack, {}).get(type_, [])

    edges: set[str] = set()
    for result in results:
        stack = result.stack
        for r in result.resources:
            if r.type == "pulumi:pulumi:StackReference":
                other = _referenced_stack(r)
                if other in shown:
                    edges.add(
                        f'  {_id(stack, "anchor")} -> {_id(other, "anchor")} [ltail={_id("cluster", stack)}, lhead={_id("cluster", other)}, style=dashed, label="reads outputs of", fontsize=9];'
                    )
        # Dependencies among the drawn resources of one stack, through undrawn ones.
        by_urn = {r.urn: r for r in result.resources}
        drawn = {r.urn for rs in shown.get(stack, {}).values() for r in rs}
        for urn in sorted(drawn):
            seen, frontier, reached = set(), list(by_urn[urn].dependencies), set()
            while frontier:
                dep = frontier.pop()
                if dep in seen or dep not in by_urn:
                    continue
                seen.add(dep)
                if dep in drawn:
                    reached.add(dep)
                else:
                    frontier.extend(by_urn[dep].dependencies)
            for dep in sorted(reached):
                edges.add(f"  {node(stack, by_urn[dep])} -> {node(stack, by_urn[urn])};")
    # The request path: Cloudflare -> each pool -> the origin of the stack it reads -> nodes -> data.
    for result in results:
        lbs = first(result.stack, "cloudflare:index/loadBalancer:LoadBalancer")
        references = [_referenced_stack(r) for r in result.resources if r.type == "pulumi:pulumi:StackReference"]
        for lb in lbs:
            for pool in first(result.stack, "cloudflare:index/loadBalancerPool:LoadBalancerPool"):
                edges.add(f'  {node(result.stack, lb)} -> {node(result.stack, pool)} [{REQUEST}, label="request"];')
                origin_cloud = (pool.get("origins") or [{}])[0].get("name", "")
                for other in references:
                    other_result = next((x for x in results if x.stack == other), None)
                    if other_result is None or _cloud(other_result) != origin_cloud:
                        continue
                    for origin in (
                        first(other, "aws:lb/loadBalancer:LoadBalancer")
                        + first(other, "gcp:compute/globalForwardingRule:GlobalForwardingRule")
                        + [
                            a
                            for a in first(other, "gcp:compute/globalAddress:GlobalAddress")
                            if a.get("addressType", "EXTERNAL") == "EXTERNAL"
                        ]
                    ):
                        edges.add(f"  {node(result.stack, pool)} -> {node(other, origin)} [{REQUEST}];")
    for result in results:
        stack = result.stack
        origins = first(stack, "aws:lb/loadBalancer:LoadBalancer") + [
            a for a in first(stack, "gcp:compute/globalAddress:GlobalAddress") if a.get("addressType", "EXTERNAL") == "EXTERNAL"
        ]
        gateways = first(stack, "kubernetes:gateway.networking.k8s.io/v1:Gateway")  # GKE's load balancer on the origin address
        compute = first(stack, "aws:eks/nodeGroup:NodeGroup") + first(stack, "gcp:container/nodePool:NodePool")
        data = (
            first(stack, "aws:rds/instance:Instance")
            + first(stack, "aws:elasticache/replicationGroup:ReplicationGroup")
            + first(stack, "gcp:sql/databaseInstance:DatabaseInstance")
            + first(stack, "gcp:redis/instance:Instance")
        )
        for origin in origins:
            for target in gateways or compute:
                edges.add(f"  {node(stack, origin)} -> {node(stack, target)} [{REQUEST}];")
        for gateway in gateways:
            for pool in compute:
                edges.add(f"  {node(stack, gateway)} -> {node(stack, pool)} [{REQUEST}];")
        for pool in compute:
            for store in data:
                edges.add(f"  {node(stack, pool)} -> {node(stack, store)} [{REQUEST}];")
    # The replication path: the primary database -> its VPN gateway -> the connections and tunnels -> the copy.
    for result in results:
        stack = result.stack
        connections = first(stack, "aws:ec2/vpnConnection:VpnConnection")
        tunnels = first(stack, "gcp:compute/vPNTunnel:VPNTunnel")
        copies = first(stack, "gcp:sql/databaseInstance:DatabaseInstance")
        if not connections:
            continue
        for other in [_referenced_stack(r) for r in result.resources if r.type == "pulumi:pulumi:StackReference"]:
            for primary in first(other, "aws:rds/instance:Instance"):
                for gateway in first(other, "aws:ec2/vpnGateway:VpnGateway"):
                    edges.add(f'  {node(other, primary)} -> {node(other, gateway)} [{REPLICATION}, label="logical replication"];')
                    for connection in connections:
                        edges.add(f"  {node(other, gateway)} -> {node(stack, connection)} [{REPLICATION}];")
        for connection in connections:
            for tunnel in tunnels:
                edges.add(f"  {node(stack, connection)} -> {node(stack, tunnel)} [{REPLICATION}];")
        for tunnel in tunnels:
            for copy in copies:
                edges.add(f"  {node(stack, tunnel)} -> {node(stack, copy)} [{REPLICATION}];")
    lines.extend(sorted(edges))
    lines.append(
        '  legend [shape=plaintext, style="", label=<<font color="#1f6feb">blue: request path</font>  <font color="#d1242f">red: replication path</font>  dashed: StackReference>];'
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizMissing(Exception):
    pass


def render(source: str, output: Path) -> None:
    """Writes DOT source (.dot/.gv) or renders it with Graphviz's `dot` (.svg/.png)."""
    suffix = output.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        output.write_text(source)
        return
    if suffix not in ("svg", "png"):
        raise ValueError(f"cannot draw '{output.name}': use .svg, .png or .dot")
    binary = shutil.which("dot")
    if binary is None:
        raise GraphvizMissing("Graphviz's `dot` is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)")
    completed = subprocess.run([binary, f"-T{suffix}", "-o", str(output)], input=source.encode(), capture_output=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"dot failed: {completed.stderr.decode(errors='replace').strip()}")
    if suffix == "svg":  # the renderer stamps its version; keep the committed file stable across versions
        text = output.read_text()
        output.write_text(re.sub(r"<!-- Generated by graphviz version [^>]*-->\n", "", text))
