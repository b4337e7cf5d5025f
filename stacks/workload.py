"""What both clusters' CRM workloads take from `crm:application`, in one place (the stacks differ only in
identity, registry, secret store and ingress)."""

from __future__ import annotations

from typing import Any

from .config.application import Application


def workload_sizing(app: Application) -> dict[str, Any]:
    """The Application component's port, probes, replicas, resources and autoscaling, from config."""
    return {
        "image_tag": app.image_tag,
        "port": app.port,
        "health_path": app.health_path,
        "min_replicas": app.min_replicas,
        "max_replicas": app.max_replicas,
        "cpu_request": app.cpu_request,
        "cpu_limit": app.cpu_limit,
        "memory_request": app.memory_request,
        "memory_limit": app.memory_limit,
        "target_cpu_percent": app.target_cpu_percent,
    }
