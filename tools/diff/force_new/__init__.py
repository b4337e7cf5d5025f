"""Which input changes replace a resource: the providers' own force-new data, shipped in data/force_new/.

The data is extracted from the sources of the Terraform providers the Pulumi providers bridge, of
the Pulumi Kubernetes provider and of the controllers whose webhooks guard the cluster's custom
resources (`python -m tools.diff.force_new.generate`); each file records its source and version.

`rules(type, inputs)` answers for one resource: the input paths whose change replaces it (with the
Terraform semantics kept: `attr`, `block`, `whole`), the paths a condition decides, and the paths a
controller refuses to change in place. Paths are Pulumi input names joined by dots, without list
positions (`settings.ipConfiguration.privateNetwork`, `spec.selector.matchLabels`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "force_new"
PULUMI_PACKAGES = {
    "aws": "pulumi-aws",
    "gcp": "pulumi-gcp",
    "cloudflare": "pulumi-cloudflare",
    "random": "pulumi-random",
    "kubernetes": "pulumi-kubernetes",
}
BRIDGED = ("aws", "gcp", "cloudflare", "random")
# A conditional reason read from the installed SDK's docstring rather than from the provider's code.
DOCSTRING = "docstring: "

# Provider configuration that replaces every resource of the provider when it changes. pulumi-aws marks
# `region` ForcesProviderReplace (pulumi/pulumi-aws#4000, provider/resources.go); the Kubernetes
# provider replaces when its kubeconfig points at another cluster (kubernetes.json, providerReplace).
PROVIDER_REPLACE = {
    "pulumi:providers:aws": {"region": "pulumi-aws marks region ForcesProviderReplace: every resource moves to the new region"},
}


@dataclass
class Rules:
    """What one resource's provider does with each changed input."""

    known: bool  # False: no data covers this type
    replace_on: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {"kind", "keptWhenRemoved"?}
    conditional: dict[str, str] = field(default_factory=dict)  # path -> what decides
    refused_in_place: dict[str, str] = field(default_factory=dict)  # path -> "change" | "decrease"
    refusal_message: str = ""
    transitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {"from", "to", "via", ...}: the cloud's API
    source: str = ""  # where the rules come from, for the plan's notes


@cache
def data(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / f"{name}.json").read_text())


def _kubernetes_kind(type_: str) -> tuple[str, str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps", "v1", "Deployment"); core is ("core", "v1", ...)."""
    _package, api, kind = type_.split(":")
    group, _, version = api.rpartition("/")
    return group or "core", version, kind


def rules(type_: str, inputs: dict[str, Any] | None = None, provider_inputs: dict[str, Any] | None = None) -> Rules:
    package = type_.split(":")[0]
    if package in BRIDGED:
        entry = data(package)["resources"].get(type_)
        if entry is None:
            return Rules(known=False)
        upstream = data(package)["upstream"]
        documented = data(package).get("sdkDocstrings") if entry.get("docstrings") else None
        return Rules(
            known=True,
            replace_on=dict(entry["replaceOn"]),
            conditional=dict(entry.get("conditional", {})),
            transitions=dict(data("cloud_api")["resources"].get(type_, {}).get("transitions", {})),
            source=f"{upstream['repository']} {entry.get('revision', upstream['version'])} {entry['source']}"
            + (f"; {documented['package']} {documented['version']} docstrings" if documented else ""),
        )
    if package == "kubernetes":
        return _kubernetes_rules(type_, inputs or {}, provider_inputs or {})
    if type_ in PROVIDER_REPLACE or type_.startswith("pulumi:providers:"):
        return Rules(known=True, source="provider configuration")
    if type_ == "pulumi:pulumi:StackReference":
        return Rules(known=True, replace_on={"name": {"kind": "attr"}}, source="the engine: a reference reads another stack")
    return Rules(known=False)


def _kubernetes_rules(type_: str, inputs: dict[str, Any], provider_inputs: dict[str, Any]) -> Rules:
    table = data("kubernetes")
    source = f"{table['upstream']['repository']} {table['upstream']['version']} {table['upstream']['file']}"
    if type_ == "kubernetes:helm.sh/v3:Release":
        paths = table["helmRelease"]["replaceOn"]
        return Rules(known=True, replace_on={p: {"kind": "whole"} for p in paths}, source=source)
    group, version, kind = _kubernetes_kind(type_)
    paths = list(table["everyKind"])
    api_version = version if group == "core" else f"{group}/{version}"
    if kind == "Secret" and group == "core":
        if not _enabled(provider_inputs, "enableSecretMutable") or inputs.get("immutable") is True:
            paths += table["secret"]["replaceOn"]
        else:
            paths += table["kinds"].get(f"{api_version}:{kind}", [])
    elif kind == "ConfigMap" and group == "core":
        if not _enabled(provider_inputs, "enableConfigMapMutable") or inputs.get("immutable") is True:
            paths += table["configMap"]["replaceOn"]
    else:
        paths += table["kinds"].get(f"{api_version}:{kind}", [])
    result = Rules(known=True, replace_on={p: {"kind": "whole"} for p in paths}, source=source)
    controller = data("controllers")["kinds"].get(f"{group}:{kind}")
    if controller is not None:
        result.refused_in_place = dict(controller["refusedInPlace"])
        result.refusal_message = controller["message"]
        origin = data("controllers")["controllers"][controller["controller"]]
        result.source += f"; {origin['repository']} {origin['version']} {origin['file']}"
    return result


def _enabled(provider_inputs: dict[str, Any], key: str) -> bool:
    value = provider_inputs.get(key)
    return value is True or str(value).lower() == "true"


def covered(type_: str) -> bool:
    """Whether the shipped data says anything about this resource type (custom resources only)."""
    return rules(type_).known
