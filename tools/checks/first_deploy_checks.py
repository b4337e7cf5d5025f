"""The first deploy rehearsed offline: each stack's resources walked in creation order, failing where a real
provider would meet a precondition that is not there yet on empty accounts.

- `api-enabled`: a `gcp:` resource is created only after the Google APIs its type calls are enabled by
  a `gcp.projects.Service` it waits for (components/gcp/services.py `SERVICES`, each row with its source);
  a grant to a service agent Google creates when an API is enabled waits for that API.
- `image-pushed`: nothing the engine awaits (a workload's pods, a Service's endpoints) runs an image from a
  registry the same stack creates, which is empty on a first deploy (pulumi-kubernetes' await logic).
- `crd-before-custom-resource`: a custom resource waits for whatever installs its CRD: the operator's Helm
  release (its chart's CRDs, shipped in tools/checks/schemas/), or the cluster that serves it itself.
- `cloudflare-permission`: every Cloudflare resource has a row in components/cloudflare/permissions.py, so
  the API token documented (and generated) from that table holds the permission group its calls need.
- `webhook-before-object`: an object an operator's admission webhook validates or mutates waits for that
  operator's Helm release (which Helm reports ready only once the webhook serves); `WEBHOOKS` has the
  webhooks of the charts the stacks install, from their templates at the pinned version.

Each check is one function registered with `deploy_check`; the other deploy checks live in deploy_checks.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from components.cloudflare import permissions as cloudflare_permissions
from components.gcp import services as gcp_services

from ..policy_check import PlanResource
from .deploy_checks import (
    OPERATOR_CHARTS,
    SCHEMAS,
    UNKNOWABLE,
    Finding,
    Plan,
    _crds,
    _members,
    _plain,
    chart_of,
    cluster_schema_folders,
    deploy_check,
)

SERVICE = gcp_services.SERVICE_TYPE
RELEASE = "kubernetes:helm.sh/v3:Release"
_AGENT = re.compile(r"serviceAccount:service-\d+@([a-z0-9-]+\.iam\.gserviceaccount\.com)")


def _kind(r: PlanResource) -> tuple[str, str]:
    """(apiVersion, kind) of a Kubernetes resource, from its type token `kubernetes:<group>/<version>:<Kind>`."""
    module, kind = r.type.split(":")[1], r.type.split(":")[2]
    group, _, version = module.rpartition("/")
    return (f"{group}/{version}" if group and group != "core" else version), kind


# ---- api-enabled ---------------------------------------------------------------------------------


@deploy_check(
    "api-enabled", "components/gcp/services.py SERVICES (each row names its source); https://cloud.google.com/iam/docs/service-agents"
)
def check_apis_enabled(plan: Plan) -> Iterator[Finding]:
    enablers: dict[str, list[PlanResource]] = {}
    for s in plan.of_type(SERVICE):
        if isinstance(s.inputs.get("service"), str):
            enablers.setdefault(s.inputs["service"], []).append(s)
        if s.inputs.get("disableOnDestroy") is not False:
            yield Finding(
                "api-enabled",
                s,
                f"disables {s.inputs.get('service')} when it is destroyed (disableOnDestroy is not false): resources of other "
                "stacks and Google's own agents would break",
            )
    for r in plan.creation_order():
        if not r.custom or not r.type.startswith("gcp:") or r.type == SERVICE:
            continue
        try:
            needed = list(gcp_services.services_for(r.type, _plain(r.inputs)))
            source = gcp_services.row_for(r.type).source
        except gcp_services.UnknownServiceType as error:
            yield Finding("api-enabled", r, str(error))
            continue
        for member in _members(r):
            agent = _AGENT.search(member)
            if agent and agent.group(1) in gcp_services.AGENT_APIS:
                needed.append(gcp_services.AGENT_APIS[agent.group(1)])
                source = gcp_services.AGENT_SOURCE
        ready = plan.ready_before(r)
        for service in dict.fromkeys(needed):
            found = enablers.get(service, [])
            if not found:
                yield Finding(
                    "api-enabled",
                    r,
                    f"calls {service}, which no gcp.projects.Service in this stack enables: on a new project the create "
                    f"fails with 403 SERVICE_DISABLED ({source})",
                )
            elif not any(s.urn in ready for s in found):
                yield Finding(
                    "api-enabled",
                    r,
                    f"calls {service} but does not wait for the Service '{found[0].name}' that enables it: the engine may "
                    f"create it first and it fails with 403 SERVICE_DISABLED ({source})",
                )


# ---- image-pushed --------------------------------------------------------------------------------

REGISTRIES = ("aws:ecr/repository:Repository", "gcp:artifactregistry/repository:Repository")
# Kinds pulumi-kubernetes waits on until their pods are ready (or done), and whether `replicas` counts them.
AWAITED_WORKLOADS = {
    "Deployment": True,
    "StatefulSet": True,
    "ReplicaSet": True,
    "DaemonSet": False,
    "Job": False,
    "Pod": False,
}
AWAIT_SOURCE = "https://github.com/pulumi/pulumi-kubernetes/tree/v4.34.2/provider/pkg/await (deployment.go, service.go)"


def _skips_await(r: PlanResource) -> bool:
    metadata = _plain(r.inputs.get("metadata") or {})
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and str(annotations.get("pulumi.com/skipAwait", "")).lower() == "true"


def _started_pods(r: PlanResource) -> bool | None:
    """True when the workload starts pods on create, False when it starts none, None when decided at deploy time."""
    spec = _plain(r.inputs.get("spec") or {})
    if not AWAITED_WORKLOADS[_kind(r)[1]]:
        return True
    replicas = spec.get("replicas", 1) if isinstance(spec, dict) else UNKNOWABLE
    if replicas is None:
        return True  # unset: the API server's default of 1
    return replicas > 0 if isinstance(replicas, int) else None  # anything else is known only at deploy


def _pod_labels(r: PlanResource) -> dict:
    spec = _plain(r.inputs.get("spec") or {})
    template = spec.get("template") if isinstance(spec, dict) else None
    labels = ((template or {}).get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    return labels if isinstance(labels, dict) else {}


@deploy_check("image-pushed", AWAIT_SOURCE)
def check_images_pushed(plan: Plan) -> Iterator[Finding]:
    registries = {r.urn: r for r in plan if r.type in REGISTRIES}
    waiting: list[tuple[PlanResource, list[PlanResource]]] = []
    for r in plan.creation_order():
        if not r.type.startswith("kubernetes:") or _kind(r)[1] not in AWAITED_WORKLOADS or _skips_await(r):
            continue
        pulled_from = [registries[u] for u in r.property_dependencies.get("spec", []) if u in registries]
        if not pulled_from or not _started_pods(r):
            continue
        waiting.append((r, pulled_from))
        names = ", ".join(f"{x.type.split(':')[-1]} '{x.name}'" for x in pulled_from)
        yield Finding(
            "image-pushed",
            r,
            f"waits for pods whose image comes from {names}, which this stack creates: on a first deploy it holds no image, "
            f"the pods sit in ImagePullBackOff and the update fails after 10 minutes. Start it at 0 replicas until the "
            f"image is pushed, or skip the await ({AWAIT_SOURCE})",
        )
    for service in plan.of_type("kubernetes:core/v1:Service"):
        spec = _plain(service.inputs.get("spec") or {})
        selector = spec.get("selector") if isinstance(spec, dict) else None
        if not isinstance(selector, dict) or not selector or spec.get("clusterIP") == "None" or _skips_await(service):
            continue
        for workload, _ in waiting:
            if all(_pod_labels(workload).get(k) == v for k, v in selector.items()):
                yield Finding(
                    "image-pushed",
                    service,
                    f"selects the pods of {workload.type.split(':')[-1]} '{workload.name}', whose image is not pushed on a "
                    f"first deploy: its await waits for their endpoints to become ready and fails after 10 minutes ({AWAIT_SOURCE})",
                )


# ---- crd-before-custom-resource ------------------------------------------------------------------

CRD_SOURCE = "https://helm.sh/docs/chart_best_practices/custom_resource_definitions/ (a chart's crds/ install with its release)"


def _served_by(plan: Plan, api_version: str, kind: str) -> tuple[list[PlanResource], list[PlanResource]]:
    """The Helm releases and the clusters in the plan whose CRDs serve (apiVersion, kind)."""
    releases = []
    for r in plan.of_type(RELEASE):
        operator = OPERATOR_CHARTS.get(chart_of(r) or "")
        folder = f"{operator}-{r.inputs.get('version')}" if operator else None
        if folder and (SCHEMAS / folder).is_dir() and (api_version, kind) in _crds(folder):
            releases.append(r)
    clusters = []
    for r in plan:
        if r.type in ("gcp:container/cluster:Cluster", "aws:eks/cluster:Cluster") and any(
            (SCHEMAS / f).is_dir() and (api_version, kind) in _crds(f) for f in cluster_schema_folders([r])
        ):
            clusters.append(r)
    return releases, clusters


def _custom(r: PlanResource) -> bool:
    """A resource of an API group with a dot in its name: a candidate for a CRD (built-in groups without CRDs are skipped below)."""
    if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm.sh/"):
        return False
    api_version = _kind(r)[0]
    return "/" in api_version and "." in api_version.split("/")[0]


@deploy_check("crd-before-custom-resource", CRD_SOURCE)
def check_crds_first(plan: Plan) -> Iterator[Finding]:
    for r in plan.creation_order():
        if not _custom(r):
            continue
        api_version, kind = _kind(r)
        releases, clusters = _served_by(plan, api_version, kind)
        if not releases and not clusters:
            continue  # custom-resource-schema reports a kind nothing in the plan serves
        ready = plan.ready_before(r)
        if not any(x.urn in ready for x in releases + clusters):
            installer = ", ".join(f"{x.type.split(':')[-1]} '{x.name}'" for x in releases + clusters)
            yield Finding(
                "crd-before-custom-resource",
                r,
                f"{api_version} {kind} is defined by a CRD that {installer} installs, but it does not wait for it: created "
                f"first, the API server answers 'no matches for kind {kind}' ({CRD_SOURCE})",
            )


# ---- webhook-before-object -----------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    operator: str  # OPERATOR_CHARTS' name of the chart that installs the webhook
    group: str
    kinds: tuple[str, ...]
    webhooks: tuple[str, ...]
    source: str


# failurePolicy Fail (the charts' default): an object the webhook covers cannot be created until the webhook serves.
WEBHOOKS = (
    Webhook(
        "external-secrets",
        "external-secrets.io",
        ("ExternalSecret", "SecretStore", "ClusterSecretStore"),
        ("validate.externalsecret.external-secrets.io", "validate.secretstore.external-secrets.io"),
        "https://github.com/external-secrets/external-secrets/blob/helm-chart-2.9.0/deploy/charts/external-secrets/templates/validatingwebhook.yaml",
    ),
    Webhook(
        "aws-load-balancer-controller",
        "elbv2.k8s.aws",
        ("TargetGroupBinding",),
        ("mtargetgroupbinding.elbv2.k8s.aws", "vtargetgroupbinding.elbv2.k8s.aws"),
        "https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/helm/aws-load-balancer-controller/templates/webhook.yaml",
    ),
)
# Strimzi's operator has no admission webhook: its resources need only its CRDs (crd-before-custom-resource).


@deploy_check("webhook-before-object", "the operators' webhook templates at the pinned chart versions (WEBHOOKS)")
def check_webhooks_first(plan: Plan) -> Iterator[Finding]:
    for r in plan.creation_order():
        if not r.type.startswith("kubernetes:"):
            continue
        api_version, kind = _kind(r)
        for hook in WEBHOOKS:
            if api_version.split("/")[0] != hook.group or kind not in hook.kinds:
                continue
            releases = [x for x in plan.of_type(RELEASE) if OPERATOR_CHARTS.get(chart_of(x) or "") == hook.operator]
            ready = plan.ready_before(r)
            if not releases:
                yield Finding(
                    "webhook-before-object",
                    r,
                    f"is admitted by {hook.operator}'s webhooks ({', '.join(hook.webhooks)}), which no Helm release in this stack installs ({hook.source})",
                )
            elif not any(x.urn in ready for x in releases):
                yield Finding(
                    "webhook-before-object",
                    r,
                    f"is admitted by the webhooks {', '.join(hook.webhooks)} of release '{releases[0].name}' but does not wait for it: "
                    f"created first, the API server refuses it ('failed calling webhook ... no endpoints available') ({hook.source})",
                )


# ---- cloudflare-permission -----------------------------------------------------------------------


@deploy_check("cloudflare-permission", "components/cloudflare/permissions.py PERMISSIONS (each row names the API reference page)")
def check_cloudflare_permissions(plan: Plan) -> Iterator[Finding]:
    for r in plan:
        if r.custom and r.type.startswith("cloudflare:index/"):
            try:
                cloudflare_permissions.rows_for(r.type, _plain(r.inputs))
            except cloudflare_permissions.UnknownCloudflareType as error:
                yield Finding("cloudflare-permission", r, f"{error}: the token generated from that table would be refused with 403")
