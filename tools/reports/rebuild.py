"""How long a from-scratch `pulumi up` of a stack takes: the critical path of its dependency graph.

Each resource starts when everything it waits for has finished and takes the typical creation time
of its type (data/creation_times.yaml). A resource waits for its dependencies, and for its parent's
own dependencies; a component finishes when its last child does, so a resource that depends on a
component waits for all of it. The critical path assumes the engine creates everything that is
ready in parallel (Pulumi's default), so it is the least time a deploy can take, and the chain of
resources on it is what a faster rebuild has to shorten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.engine import PreviewResult, RegisteredResource

CREATION_TIMES = Path(__file__).parent / "data" / "creation_times.yaml"


@dataclass(frozen=True)
class Node:
    """One resource in the graph: how long it takes, what it waits for, and its parent."""

    name: str
    type: str
    minutes: float
    waits_for: tuple[str, ...] = ()
    parent: str = ""
    component: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    minutes: float
    finish: float

    def as_json(self) -> dict[str, Any]:
        return {"resource": self.name, "type": self.type, "minutes": round(self.minutes, 2), "finish": round(self.finish, 2)}


@dataclass(frozen=True)
class CriticalPath:
    minutes: float
    path: list[Step]


def load_times(path: Path = CREATION_TIMES) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text())


def creation_minutes(resource: RegisteredResource, table: Mapping[str, Any]) -> float:
    if not resource.custom:
        return 0.0
    entry = (table.get("types") or {}).get(resource.type)
    if entry is None:
        return float(table.get("defaultMinutes", 0.2))
    if resource.type == "aws:rds/instance:Instance" and resource.get("multiAz"):
        return float(entry.get("multiAzMinutes", entry["minutes"]))
    if (
        resource.type == "gcp:sql/databaseInstance:DatabaseInstance"
        and (resource.get("settings") or {}).get("availabilityType") == "REGIONAL"
    ):
        return float(entry.get("regionalMinutes", entry["minutes"]))
    if resource.type == "kubernetes:apps/v1:Deployment" and (resource.get("spec") or {}).get("replicas") == 0:
        return float(entry.get("zeroReplicasMinutes", entry["minutes"]))
    if resource.type == "gcp:redis/instance:Instance" and resource.get("tier") == "STANDARD_HA":
        return float(entry.get("standardMinutes", entry["minutes"]))
    return float(entry["minutes"])


def graph(result: PreviewResult, table: Mapping[str, Any] | None = None) -> dict[str, Node]:
    """The preview as nodes keyed by URN."""
    table = table or load_times()
    return {
        r.urn: Node(r.name, r.type, creation_minutes(r, table), tuple(r.dependencies), r.parent, not r.custom) for r in result.resources
    }


def critical_path(nodes: Mapping[str, Node]) -> CriticalPath:
    """Longest finish time over the graph and the chain of resources that sets it."""
    children: dict[str, list[str]] = {}
    for key, node in nodes.items():
        if node.parent in nodes:
            children.setdefault(node.parent, []).append(key)

    def ancestors(key: str) -> set[str]:
        found, parent = set(), nodes[key].parent
        while parent in nodes and parent not in found:
            found.add(parent)
            parent = nodes[parent].parent
        return found

    start: dict[str, tuple[float, str | None]] = {}
    finish: dict[str, tuple[float, str | None]] = {}  # (time, the key whose finish set it)
    visiting: set[str] = set()

    def start_of(key: str) -> tuple[float, str | None]:
        if key in start:
            return start[key]
        if key in visiting:
            raise ValueError(f"dependency cycle through {nodes[key].name}")
        visiting.add(key)
        best: tuple[float, str | None] = (0.0, None)
        mine = ancestors(key)
        for dependency in sorted(nodes[key].waits_for):  # sorted: ties resolve the same way every run
            if dependency in nodes and dependency not in mine and dependency != key:
                candidate = finish_of(dependency)
                if candidate[0] > best[0]:
                    best = (candidate[0], dependency)
        parent = nodes[key].parent
        if parent in nodes:
            inherited = start_of(parent)
            if inherited[0] > best[0]:
                best = inherited
        visiting.discard(key)
        start[key] = best
        return best

    def finish_of(key: str) -> tuple[float, str | None]:
        if key in finish:
            return finish[key]
        begun = start_of(key)
        result = (begun[0] + nodes[key].minutes, key)
        if nodes[key].component:
            for child in sorted(children.get(key, [])):
                candidate = finish_of(child)
                if candidate[0] > result[0]:
                    result = (candidate[0], candidate[1])
        finish[key] = result
        return result

    if not nodes:
        return CriticalPath(0.0, [])
    last = max(sorted(nodes), key=lambda key: finish_of(key)[0])
    end_time, end_key = finish_of(last)
    chain: list[Step] = []
    key = end_key
    while key is not None:
        node = nodes[key]
        if not node.component:
            chain.append(Step(node.name, node.type, node.minutes, finish_of(key)[0] if not node.component else 0))
        previous = start_of(key)[1]
        if previous is not None and nodes[previous].component:
            previous = finish_of(previous)[1]
        key = previous if previous != key else None
    chain.reverse()
    return CriticalPath(end_time, chain)


def rebuild_time(result: PreviewResult, table: Mapping[str, Any] | None = None) -> CriticalPath:
    return critical_path(graph(result, table))
