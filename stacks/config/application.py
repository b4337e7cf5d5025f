"""Parses and validates `crm:application`: the CRM workload both clusters run.

The same keys on AWS and GCP. The health path is not a key here on AWS: the pods' probes use the
ALB target group's `crm:ingress.healthCheckPath`, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Optional

from . import rules
from .reader import Problems, Unavailable
from .schema import Context, Parsed, read, section, setting

# Replicas per environment: (minReplicas, maxReplicas). Two or more outside dev, so a drain or a
# zone loss leaves a pod serving (the PodDisruptionBudget keeps one up).
REPLICAS = {"dev": (1, 3), "staging": (2, 4), "production": (3, 12), "dr": (2, 8)}


@section
class ApplicationSettings:
    image_repository: str = setting(
        "imageRepository",
        "registry repository of the application image",
        derive=lambda c: c["repositories"][0] if c["repositories"] else "crm-api",
        derive_doc="the first of crm:registry.repositories",
    )
    image_tag: str = setting("imageTag", "the application image tag to run", check=rules.image_tag)
    port: int = setting("port", "container port", default=8080, ge=1024, le=65535)
    health_path: str = setting(
        "healthCheckPath",
        "readiness and health path (AWS: crm:ingress.healthCheckPath)",
        default="/health",
        check=rules.url_path,
        clouds=("gcp",),
    )
    min_replicas: int = setting("minReplicas", "autoscaler minimum", by_env={env: low for env, (low, _) in REPLICAS.items()}, ge=1, le=100)
    max_replicas: int = setting(
        "maxReplicas", "autoscaler maximum", by_env={env: high for env, (_, high) in REPLICAS.items()}, ge=1, le=100
    )
    cpu_request: str = setting("cpuRequest", "container CPU request", default="250m", check=rules.cpu_quantity)
    cpu_limit: str = setting("cpuLimit", "container CPU limit", default="1", check=rules.cpu_quantity)
    memory_request: str = setting("memoryRequest", "container memory request", default="512Mi", check=rules.memory_quantity)
    memory_limit: str = setting("memoryLimit", "container memory limit", default="1Gi", check=rules.memory_quantity)
    target_cpu_percent: int = setting("targetCpuPercent", "autoscaler CPU target", default=70, ge=10, le=95)


def parse(problems: Problems, raw: dict, context: Context, repositories: Optional[list[str]], health_path: Any = None) -> Parsed:
    """`health_path` given: the stack already names the path (AWS: the target group's; `Unavailable` when that
    is wrong); otherwise a key. `repositories` is None when crm:registry.repositories is wrong."""
    extra = {} if repositories is None else {"repositories": repositories}
    app = read(
        problems,
        "crm:application",
        raw.get("crm:application"),
        ApplicationSettings,
        Context(context.common, extra=extra, environment_valid=context.environment_valid),
        cloud=context.common.cloud,
    )
    if health_path is Unavailable:
        app.invalidate()
    elif health_path is not None:
        app.set("health_path", health_path)
    env = context.common.environment
    with problems.relation():
        if repositories and app.image_repository not in repositories:
            problems.add(
                "crm:application.imageRepository",
                f"'{app.image_repository}' is not one of crm:registry.repositories ({', '.join(repositories)})",
            )
    with problems.relation():
        if app.min_replicas > app.max_replicas:
            problems.add("crm:application.minReplicas", f"must not exceed maxReplicas ({app.max_replicas}), got {app.min_replicas}")
    with problems.relation():
        if env != "dev" and app.min_replicas < 2:
            problems.add(
                "crm:application.minReplicas",
                f"needs at least 2 outside dev, so a node drain or zone loss leaves a pod serving; got {app.min_replicas}",
            )
    with problems.relation():
        if rules.cpu(app.cpu_request) > rules.cpu(app.cpu_limit):
            problems.add("crm:application.cpuRequest", f"{app.cpu_request} exceeds cpuLimit {app.cpu_limit}")
    with problems.relation():
        if rules.memory(app.memory_request) > rules.memory(app.memory_limit):
            problems.add("crm:application.memoryRequest", f"{app.memory_request} exceeds memoryLimit {app.memory_limit}")
    return app
