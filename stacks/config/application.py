"""Parses and validates `crm:application`: the CRM workload both clusters run.

The same keys on AWS and GCP. The health path is not a key here on AWS: the pods' probes use the
ALB target group's `crm:ingress.healthCheckPath`, so the two cannot drift apart.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .reader import Problems, Section

# A Docker tag: 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_QUANTITY_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
_QUANTITY_MEMORY = re.compile(r"^[0-9]+(Ki|Mi|Gi)$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")

# Replicas per environment: (minReplicas, maxReplicas). Two or more outside dev, so a drain or a
# zone loss leaves a pod serving (the PodDisruptionBudget keeps one up).
REPLICAS = {"dev": (1, 3), "staging": (2, 4), "production": (3, 12), "dr": (2, 8)}


@dataclass(frozen=True)
class Application:
    image_repository: str
    image_tag: str
    port: int
    health_path: str
    min_replicas: int
    max_replicas: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    target_cpu_percent: int


def parse(problems: Problems, raw: dict, environment: str, repositories: list[str], health_path: str | None = None) -> Application:
    """`health_path` given: the stack already names the path (AWS: the target group's); otherwise a key."""
    app = Section(problems, "crm:application", raw.get("crm:application"))
    low, high = REPLICAS.get(environment, REPLICAS["production"])
    parsed = Application(
        image_repository=app.string("imageRepository", repositories[0] if repositories else "crm-api"),
        image_tag=app.string("imageTag"),
        port=app.integer("port", 8080, minimum=1024, maximum=65535),
        health_path=health_path if health_path is not None else app.string("healthCheckPath", "/health"),
        min_replicas=app.integer("minReplicas", low, minimum=1, maximum=100),
        max_replicas=app.integer("maxReplicas", high, minimum=1, maximum=100),
        cpu_request=app.string("cpuRequest", "250m"),
        cpu_limit=app.string("cpuLimit", "1"),
        memory_request=app.string("memoryRequest", "512Mi"),
        memory_limit=app.string("memoryLimit", "1Gi"),
        target_cpu_percent=app.integer("targetCpuPercent", 70, minimum=10, maximum=95),
    )
    app.finish()
    if repositories and parsed.image_repository not in repositories:
        problems.add("crm:application.imageRepository", f"'{parsed.image_repository}' is not one of crm:registry.repositories ({', '.join(repositories)})")
    if parsed.image_tag and not _IMAGE_TAG.match(parsed.image_tag):
        problems.add("crm:application.imageTag", f"'{parsed.image_tag}' is not an image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)")
    elif parsed.image_tag == "latest":
        problems.add("crm:application.imageTag", "must name a release, not 'latest': a moving tag makes rollouts and rollbacks unrepeatable")
    if parsed.min_replicas > parsed.max_replicas:
        problems.add("crm:application.minReplicas", f"must not exceed maxReplicas ({parsed.max_replicas}), got {parsed.min_replicas}")
    if environment != "dev" and parsed.min_replicas < 2:
        problems.add("crm:application.minReplicas", f"needs at least 2 outside dev, so a node drain or zone loss leaves a pod serving; got {parsed.min_replicas}")
    if health_path is None and not _PATH.match(parsed.health_path):
        problems.add("crm:application.healthCheckPath", f"'{parsed.health_path}' is not an absolute URL path such as /health")
    for key, value in (("cpuRequest", parsed.cpu_request), ("cpuLimit", parsed.cpu_limit)):
        if not _QUANTITY_CPU.match(value):
            problems.add(f"crm:application.{key}", f"'{value}' is not a CPU quantity such as 250m or 1")
    for key, value in (("memoryRequest", parsed.memory_request), ("memoryLimit", parsed.memory_limit)):
        if not _QUANTITY_MEMORY.match(value):
            problems.add(f"crm:application.{key}", f"'{value}' is not a memory quantity such as 512Mi or 1Gi")
    if _QUANTITY_CPU.match(parsed.cpu_request) and _QUANTITY_CPU.match(parsed.cpu_limit) and _cpu(parsed.cpu_request) > _cpu(parsed.cpu_limit):
        problems.add("crm:application.cpuRequest", f"{parsed.cpu_request} exceeds cpuLimit {parsed.cpu_limit}")
    if _QUANTITY_MEMORY.match(parsed.memory_request) and _QUANTITY_MEMORY.match(parsed.memory_limit) and _memory(parsed.memory_request) > _memory(parsed.memory_limit):
        problems.add("crm:application.memoryRequest", f"{parsed.memory_request} exceeds memoryLimit {parsed.memory_limit}")
    return parsed


def _cpu(value: str) -> float:
    return int(value[:-1]) / 1000 if value.endswith("m") else float(value)


def _memory(value: str) -> int:
    return int(value[:-2]) * {"Ki": 1, "Mi": 1024, "Gi": 1024 * 1024}[value[-2:]]
