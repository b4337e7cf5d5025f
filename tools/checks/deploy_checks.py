"""Checks of a plan for what the mock engine cannot see but a real `pulumi up` runs into.

- `kubernetes-schema`: every built-in `kubernetes:*` resource validates against the Kubernetes
  OpenAPI schema (strict: no unknown fields) of every Kubernetes minor its cluster may run, from
  the schemas the pinned `kubernetes-validate` package ships.
- `custom-resource-schema`: custom resources validate against the CRD of the pinned operator
  release, from the CRD files shipped in `tools/checks/schemas/<operator>-<version>/`; fields a
  CRD does not declare are errors (the API server would drop or refuse them). CRDs a cluster installs
  itself (GKE's Gateway API, see GKE_GATEWAY_SCHEMAS) are judged the same way.
- `helm-values`: a Helm release's values validate against the chart's `values.schema.json`, or,
  when the chart ships none, every key must exist in the chart's `values.yaml` at that version.
- `deploy-permissions`: a permission the CI deploy identity lacks for a resource the stack creates
  (tools/checks/permission_checks.py).
- `identity-ordering`: an IAM member or binding naming an identity that a Google service creates
  (the Workload Identity pool `PROJECT.svc.id.goog`, `gcp-sa-*` service agents) depends, directly
  or through other resources, on the resource that creates it.

- `name-reusable-after-destroy`, `data-kept-on-config-edit`: names a destroy does not free, data a
  config edit would delete (tools/checks/lifecycle_checks.py).

Values known only after deploy are not judged. Each finding names the resource, the field and the
schema (with its version) it was judged against.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..engine.engine import UNKNOWN, Secret
from ..policy_check import PlanResource, Violation

SCHEMAS = Path(__file__).resolve().parent / "schemas"

# GKE stacks follow a release channel, which upgrades the control plane on its own, so their
# Kubernetes resources must be valid on every minor from the channel's default when this was
# written (1.33 on REGULAR, the release that stopped Strimzi 0.45 from starting) to the newest
# schema set the pinned kubernetes-validate ships. EKS stacks run the version they pin.
GKE_OLDEST_MINOR = "1.33"

# Which operator release's CRDs judge a custom resource: the Helm chart that installs the operator.
OPERATOR_CHARTS = {"oci://quay.io/strimzi-helm/strimzi-kafka-operator": "strimzi"}
# Charts from a Helm repository are named by the repository and chart: `repositoryOpts.repo` + `chart`.
OPERATOR_CHARTS.update(
    {
        "https://charts.external-secrets.io/external-secrets": "external-secrets",
        "https://aws.github.io/eks-charts/aws-load-balancer-controller": "aws-load-balancer-controller",
        "https://kubernetes.github.io/autoscaler/cluster-autoscaler": "cluster-autoscaler",
    }
)


def chart_of(r: PlanResource) -> str | None:
    """The chart a Helm release installs: its OCI reference, or its repository URL and chart name."""
    chart = r.inputs.get("chart")
    repo = (r.inputs.get("repositoryOpts") or {}).get("repo") if isinstance(r.inputs.get("repositoryOpts"), dict) else None
    if isinstance(repo, str) and isinstance(chart, str):
        return f"{repo.rstrip('/')}/{chart}"
    return chart if isinstance(chart, str) else None


# CRDs the cluster itself installs: GKE's Gateway API (gateway_api_config CHANNEL_STANDARD) brings the
# standard Gateway API CRDs and GKE's policy CRDs (HealthCheckPolicy, GCPBackendPolicy). The Gateway
# API release is the oldest GKE installs on the minors GKE_OLDEST_MINOR onwards, so fields judged
# valid here exist on every cluster the channel may run.
GKE_GATEWAY_SCHEMAS = ["gateway-api-v1.2.1", "gke-gateway-api-v1.4.0"]
# EKS's control plane runs the VPC resource controller, which serves the SecurityGroupPolicy CRD.
EKS_SCHEMAS = ["vpc-resource-controller-v1.7.19"]

# Service agents a Google service creates only when asked (gcp.projects.ServiceIdentity), by the
# domain of their address `service-PROJECT_NUMBER@<domain>`; the value is the API that creates it.
# Legacy agents (container-engine-robot, cloud-redis, compute-system) exist once the API is
# enabled, which is a manual prerequisite (docs/prerequisites.md), and are not judged here.
SERVICE_AGENT_APIS = {
    "gcp-sa-cloud-sql.iam.gserviceaccount.com": "sqladmin.googleapis.com",
    "gcp-sa-artifactregistry.iam.gserviceaccount.com": "artifactregistry.googleapis.com",
    "gcp-sa-secretmanager.iam.gserviceaccount.com": "secretmanager.googleapis.com",
    "gcp-sa-pubsub.iam.gserviceaccount.com": "pubsub.googleapis.com",
    "gcp-sa-servicenetworking.iam.gserviceaccount.com": "servicenetworking.googleapis.com",
}
_WI_MEMBER = re.compile(r"(?:serviceAccount:|/workloadIdentityPools/)([a-z][a-z0-9-]*\.svc\.id\.goog)")
_AGENT_MEMBER = re.compile(r"serviceAccount:service-\d+@(gcp-sa-[a-z0-9-]+\.iam\.gserviceaccount\.com)")
_IAM_TYPE = re.compile(r"^gcp:[^:]+:[A-Za-z]*IAM(Member|Binding)$")


class _Unknowable:
    """Stands in for a value known only after deploy; errors about it are dropped."""


UNKNOWABLE = _Unknowable()


@dataclass(frozen=True)
class Finding:
    policy: str
    resource: PlanResource
    message: str

    def violation(self) -> Violation:
        return Violation(self.policy, "high", "mandatory", f"{_label(self.resource)}: {self.message}", self.resource.urn)


def _label(r: PlanResource) -> str:
    return f"{r.type.rsplit(':', 1)[-1]} '{r.name}'"


# ---- the framework: a plan walked in creation order, and the registered checks ---------------------


class Plan:
    """A stack's resources as `pulumi up` would meet them.

    `creation_order()` lists them so that every resource comes after everything it waits for (its
    dependencies, its provider, and, through a component it depends on, that component's children);
    `ready_before(r)` is what is certain to exist when `r` is created: exactly what it waits for,
    since the engine creates everything else in parallel.
    """

    def __init__(self, resources: list[PlanResource]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self._closure = _dependency_closure(self.resources)[1]
        self._ready: dict[str, set[str]] = {}

    def __iter__(self) -> Iterator[PlanResource]:
        return iter(self.resources)

    def of_type(self, type_: str) -> list[PlanResource]:
        return [r for r in self.resources if r.type == type_]

    def ready_before(self, r: PlanResource) -> set[str]:
        if r.urn not in self._ready:
            self._ready[r.urn] = self._closure(r)
        return self._ready[r.urn]

    def creation_order(self) -> list[PlanResource]:
        order: list[PlanResource] = []
        placed: set[str] = set()
        for r in sorted(self.resources, key=lambda x: len(self.ready_before(x))):  # fewer prerequisites first
            if r.urn not in placed:
                placed.add(r.urn)
                order.append(r)
        return order


@dataclass(frozen=True)
class DeployCheck:
    """One check: its name (the policy a finding is reported under), where its rule comes from, and the rule."""

    name: str
    source: str
    run: Callable[[Plan], Iterable[Finding]]


REGISTERED: list[DeployCheck] = []


def deploy_check(name: str, source: str) -> Callable[[Callable[[Plan], Iterable[Finding]]], Callable[[Plan], Iterable[Finding]]]:
    """Registers `fn(plan) -> findings` as the check `name`; `source` is the document or code its rule follows."""

    def register(fn: Callable[[Plan], Iterable[Finding]]) -> Callable[[Plan], Iterable[Finding]]:
        REGISTERED.append(DeployCheck(name, source, fn))
        return fn

    return register


def _plain(value: Any) -> Any:
    """Opens secrets (their text is never printed: messages name paths, not values) and marks unknowns."""
    if isinstance(value, Secret):
        return _plain(value.value)
    if value is UNKNOWN or value == "[unknown]":
        return UNKNOWABLE
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "__defaults"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---- Kubernetes versions -------------------------------------------------------------------------


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def shipped_kubernetes_minors() -> list[str]:
    from kubernetes_validate import utils

    return sorted({".".join(v.split(".")[:2]) for v in utils.all_versions()}, key=_minor)


def cluster_minors(resources: Iterable[PlanResource]) -> list[str]:
    """The Kubernetes minors the plan's clusters may run (see GKE_OLDEST_MINOR)."""
    shipped = shipped_kubernetes_minors()
    wanted: set[str] = set()
    for r in resources:
        if r.type == "aws:eks/cluster:Cluster" and isinstance(r.inputs.get("version"), str):
            wanted.add(".".join(r.inputs["version"].split(".")[:2]))
        elif r.type == "gcp:container/cluster:Cluster":
            floor = r.inputs.get("minMasterVersion") if isinstance(r.inputs.get("minMasterVersion"), str) else GKE_OLDEST_MINOR
            wanted.update(m for m in shipped if _minor(m) >= _minor(floor))
    return sorted(wanted, key=_minor)


# ---- schemas -------------------------------------------------------------------------------------


@cache
def _kubernetes_schema(minor: str, api_version: str, kind: str):
    """The strict schema of a built-in kind at a Kubernetes minor, as kubernetes-validate resolves it."""
    import jsonschema.validators
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    version = f"{minor}.0"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"v{version}-local-strict"
    try:
        schema = utils.schema_contents(f"kubernetes-json-schema/{folder}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    definitions = utils.schema_contents(f"kubernetes-json-schema/{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


_VALUE_VALIDATIONS = ("oneOf", "anyOf", "allOf", "not")


def _closed(schema: Any) -> Any:
    """A CRD's structural schema as the API server applies it: objects accept only declared fields."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    # oneOf/anyOf/allOf/not only validate values; the API server prunes by the structural schema alone.
    out = {k: v if k in _VALUE_VALIDATIONS else _closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


# libyaml's safe loader when PyYAML has it (its wheels do): the operators' CRD files are megabytes of YAML.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _crds(folder: str) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the closed schema of that version, for every CRD in a schemas folder."""
    found = {}
    for path in sorted((SCHEMAS / folder).glob("*.yaml")):
        for document in yaml.load_all(path.read_text(), Loader=_YAML_LOADER):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    schema = _closed(version["schema"]["openAPIV3Schema"])
                    found[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = {
                        "schema": schema,
                        "crd": document["metadata"]["name"],
                        "file": path.name,
                    }
    return found


def operator_schema_folders(resources: Iterable[PlanResource]) -> list[str]:
    """The schemas folders of the operator releases the plan's Helm releases install."""
    folders = []
    for r in resources:
        if r.type == "kubernetes:helm.sh/v3:Release" and chart_of(r) in OPERATOR_CHARTS:
            folders.append(f"{OPERATOR_CHARTS[chart_of(r)]}-{r.inputs.get('version')}")
    return folders


def cluster_schema_folders(resources: Iterable[PlanResource]) -> list[str]:
    """The schemas folders of the CRDs the plan's clusters install themselves."""
    folders: list[str] = []
    for r in resources:
        gateway = r.inputs.get("gatewayApiConfig") if r.type == "gcp:container/cluster:Cluster" else None
        if isinstance(gateway, dict) and gateway.get("channel") == "CHANNEL_STANDARD":
            folders += [f for f in GKE_GATEWAY_SCHEMAS if f not in folders]
        if r.type == "aws:eks/cluster:Cluster":
            folders += [f for f in EKS_SCHEMAS if f not in folders]
    return folders


# ---- checks --------------------------------------------------------------------------------------


def _path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _errors(validator, document: dict) -> list[str]:
    messages = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        if error.instance is UNKNOWABLE:
            continue
        messages.append(f"{_path(error)}: {error.message}")
    return messages


def _manifest(r: PlanResource) -> dict:
    return {k: v for k, v in _plain(r.inputs).items()}


def _is_builtin(api_version: str) -> bool:
    group = api_version.split("/")[0] if "/" in api_version else ""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def check_kubernetes(resources: list[PlanResource]) -> Iterator[Finding]:
    minors = cluster_minors(resources)
    folders = operator_schema_folders(resources) + cluster_schema_folders(resources)
    for r in resources:
        if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm.sh/"):
            continue
        document = _manifest(r)
        api_version, kind = document.get("apiVersion"), document.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            yield Finding("kubernetes-schema", r, "has no apiVersion/kind to validate")
            continue
        group = api_version.split("/")[0]
        serving = [f for f in folders if (SCHEMAS / f).is_dir() and (api_version, kind) in _crds(f)]
        same_group = [f for f in folders if (SCHEMAS / f).is_dir() and any(v.split("/")[0] == group for v, _ in _crds(f))]
        if serving or same_group:
            yield from _check_custom(r, document, api_version, kind, serving or same_group)
        elif _is_builtin(api_version):
            yield from _check_builtin(r, document, api_version, kind, minors)
        else:
            yield from _check_custom(r, document, api_version, kind, folders)


def _check_builtin(r: PlanResource, document: dict, api_version: str, kind: str, minors: list[str]) -> Iterator[Finding]:
    if not minors:
        yield Finding("kubernetes-schema", r, "no cluster in the plan tells which Kubernetes version to validate against")
        return
    from kubernetes_validate.version import __version__

    judged: dict[str, list[str]] = {}
    for minor in minors:
        validator = _kubernetes_schema(minor, api_version, kind)
        if validator is None:
            yield Finding(
                "kubernetes-schema",
                r,
                f"{api_version} {kind} does not exist in Kubernetes {minor} (kubernetes-validate {__version__} schemas)",
            )
            continue
        for message in _errors(validator, document):
            judged.setdefault(message, []).append(minor)
    for message, where in judged.items():
        yield Finding(
            "kubernetes-schema",
            r,
            f"{message} (Kubernetes {', '.join(where)} OpenAPI schema, strict, from kubernetes-validate {__version__})",
        )


def _check_custom(r: PlanResource, document: dict, api_version: str, kind: str, folders: list[str]) -> Iterator[Finding]:
    import jsonschema.validators

    if not folders:
        yield Finding(
            "custom-resource-schema",
            r,
            f"{api_version} {kind}: no operator release in the plan whose CRDs are shipped in tools/checks/schemas/",
        )
        return
    group = api_version.split("/")[0]
    # Judge by the releases whose CRDs define this kind's API group; a release with none has no say.
    owners = [f for f in folders if (SCHEMAS / f).is_dir() and any(v.split("/")[0] == group for v, _ in _crds(f))]
    for folder in owners or folders:
        if not (SCHEMAS / folder).is_dir():
            yield Finding("custom-resource-schema", r, f"no CRD schemas shipped for {folder} (tools/checks/schemas/{folder}/)")
            continue
        crds = _crds(folder)
        entry = crds.get((api_version, kind))
        if entry is None:
            served = sorted(v for v, k in crds if k == kind)
            yield Finding(
                "custom-resource-schema",
                r,
                f"{api_version} {kind} is not served by the {folder} CRDs" + (f" (served: {', '.join(served)})" if served else ""),
            )
            continue
        body = {k: v for k, v in document.items() if k in ("apiVersion", "kind", "metadata", "spec")}
        for message in _errors(jsonschema.validators.Draft7Validator(entry["schema"]), body):
            yield Finding("custom-resource-schema", r, f"{message} (CRD {entry['crd']} {api_version}, {folder}/{entry['file']})")


def check_helm_values(resources: list[PlanResource]) -> Iterator[Finding]:
    import jsonschema.validators

    for r in resources:
        if r.type != "kubernetes:helm.sh/v3:Release":
            continue
        chart, version = chart_of(r), r.inputs.get("version")
        values = _plain(r.inputs.get("values") or {})
        operator = OPERATOR_CHARTS.get(chart)
        folder = SCHEMAS / f"{operator}-{version}" if operator else None
        if folder is None or not folder.is_dir():
            yield Finding("helm-values", r, f"no values schema shipped for chart {chart} {version} (tools/checks/schemas/)")
            continue
        schema_file = folder / "chart-values.schema.json"
        if schema_file.exists():
            validator = jsonschema.validators.Draft7Validator(json.loads(schema_file.read_text()))
            for message in _errors(validator, values):
                yield Finding("helm-values", r, f"values.{message} ({folder.name}/{schema_file.name})")
        else:
            defaults = yaml.safe_load((folder / "chart-values.yaml").read_text()) or {}
            for path in _unknown_keys(values, defaults):
                yield Finding(
                    "helm-values", r, f"values.{path} is not a value of chart {chart} {version} ({folder.name}/chart-values.yaml)"
                )
        yield from _chart_rules(r, operator, values)


def _unknown_keys(values: Any, defaults: Any, prefix: str = "") -> Iterator[str]:
    """Keys of `values` the chart's values.yaml does not have; an empty map there takes any keys."""
    if not isinstance(values, dict) or not isinstance(defaults, dict) or not defaults:
        return
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            yield path
        else:
            yield from _unknown_keys(value, defaults[key], path + ".")


def _chart_rules(r: PlanResource, operator: str | None, values: dict) -> Iterator[Finding]:
    if operator == "strimzi":
        watched = values.get("watchNamespaces") or []
        if isinstance(watched, list) and r.inputs.get("namespace") in watched:
            yield Finding(
                "helm-values",
                r,
                f"values.watchNamespaces lists the release namespace '{r.inputs.get('namespace')}', which the "
                "chart always watches: its RoleBindings render twice and the install fails",
            )


def _members(r: PlanResource) -> list[str]:
    found = []
    for key in ("member", "members"):
        value = _plain(r.inputs.get(key))
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                found.append(v)
    return found


def _dependency_closure(resources: list[PlanResource]):
    by_urn = {r.urn: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        if r.parent:
            children.setdefault(r.parent, []).append(r.urn)

    def expand(urn: str) -> Iterator[str]:
        yield urn
        for child in children.get(urn, []):  # depending on a component waits for all of its children
            yield from expand(child)

    def waits_for(r: PlanResource) -> list[str]:
        found = list(r.dependencies) + [u for urns in r.property_dependencies.values() for u in urns]
        if r.provider:
            found.append(r.provider.rsplit("::", 1)[0])  # `URN::ID`: the provider is created (and waits) first
        return found

    def closure(r: PlanResource) -> set[str]:
        seen: set[str] = set()
        stack = waits_for(r)
        while stack:
            urn = stack.pop()
            for u in expand(urn):
                if u in seen:
                    continue
                seen.add(u)
                target = by_urn.get(u)
                if target is not None:
                    stack.extend(waits_for(target))
        return seen

    return by_urn, closure


def check_identity_ordering(resources: list[PlanResource]) -> Iterator[Finding]:
    by_urn, closure = _dependency_closure(resources)
    pools = {}
    for r in resources:
        if r.type == "gcp:container/cluster:Cluster":
            pool = _plain((r.inputs.get("workloadIdentityConfig") or {}).get("workloadPool"))
            if isinstance(pool, str):
                pools.setdefault(pool, []).append(r.urn)
    for r in resources:
        if not _IAM_TYPE.match(r.type):
            continue
        members = _members(r)
        if not members:
            continue
        upstream = None
        for member in members:
            pool = _WI_MEMBER.search(member)
            agent = _AGENT_MEMBER.search(member)
            if pool:
                upstream = closure(r) if upstream is None else upstream
                creators = pools.get(pool.group(1), [])
                if not creators:
                    yield Finding(
                        "identity-ordering",
                        r,
                        f"names the Workload Identity pool {pool.group(1)}, which no cluster in this "
                        "stack creates (workloadIdentityConfig.workloadPool)",
                    )
                elif not upstream & set(creators):
                    yield Finding(
                        "identity-ordering",
                        r,
                        f"names the Workload Identity pool {pool.group(1)} but does not depend on the "
                        f"cluster that creates it ({', '.join(u.split('::')[-1] for u in creators)}): add it to depends_on",
                    )
            elif agent:
                upstream = closure(r) if upstream is None else upstream
                api = SERVICE_AGENT_APIS.get(agent.group(1))  # an agent not in the table: any ServiceIdentity will do
                identities = [
                    u
                    for u in upstream
                    if by_urn.get(u) is not None
                    and by_urn[u].type == "gcp:projects/serviceIdentity:ServiceIdentity"
                    and (api is None or by_urn[u].inputs.get("service") == api)
                ]
                if not identities:
                    yield Finding(
                        "identity-ordering",
                        r,
                        f"names the service agent @{agent.group(1)}, created on demand, but does not depend "
                        f"on a gcp.projects.ServiceIdentity for {api or 'its service'}",
                    )


deploy_check("kubernetes-schema", "Kubernetes OpenAPI schemas (kubernetes-validate) and shipped CRDs (tools/checks/schemas/)")(
    lambda plan: check_kubernetes(plan.resources)
)
deploy_check("helm-values", "each chart's values.schema.json or values.yaml (tools/checks/schemas/)")(
    lambda plan: check_helm_values(plan.resources)
)
deploy_check("identity-ordering", "https://cloud.google.com/iam/docs/service-agents")(lambda plan: check_identity_ordering(plan.resources))

# Modules whose import registers more checks (one `@deploy_check` function each): the first-deploy rehearsal,
# what follows it (names a destroy keeps, data a config edit deletes) and the deploy identity's grants.
CHECK_MODULES = ("tools.checks.first_deploy_checks", "tools.checks.lifecycle_checks", "tools.checks.permission_checks")


def checks() -> list[DeployCheck]:
    import importlib

    for module in CHECK_MODULES:
        importlib.import_module(module)
    return list(REGISTERED)


def check(resources: list[PlanResource], only: Iterable[str] | None = None) -> list[Violation]:
    """Every finding of the registered checks (or of those named in `only`), as mandatory violations."""
    plan = Plan(resources)
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for each in checks():
        if wanted is None or each.name in wanted:
            findings.extend(each.run(plan))
    return [f.violation() for f in findings]


def __getattr__(name: str) -> Any:
    if name == "CHECK_COUNT":  # how many checks `python -m tools check` runs (counted once the modules registered theirs)
        return len(checks())
    raise AttributeError(name)


__all__ = [
    "DeployCheck",
    "Finding",
    "Plan",
    "check",
    "check_helm_values",
    "check_identity_ordering",
    "check_kubernetes",
    "checks",
    "cluster_minors",
    "deploy_check",
]
