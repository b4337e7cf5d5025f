"""Force-new data for the cluster side: the Pulumi Kubernetes provider's own replacement rules, and the
fields the pinned controllers refuse to change in place.

- pulumi-kubernetes decides replacements itself (provider/pkg/provider/diff.go `forceNew`, by API
  group, version and kind, plus `.metadata.name`/`.metadata.namespace` for every kind; Secret and
  ConfigMap data unless the provider enables mutation; a Helm release's `.name`/`.namespace`), and
  replaces every resource of a provider whose cluster changes (DiffConfig).
- Controllers' admission webhooks refuse some updates outright (the AWS Load Balancer Controller's
  TargetGroupBinding validator); operators without webhooks ignore or reject some changes
  (Strimzi's topic operator and its storage checks). Those fields are recorded as refused in place.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from .golang import Env, Module, Opaque
from .terraform import SourceTree


def _append(base: Any, *items: Any) -> list:
    result = list(base) if isinstance(base, list) else []
    for item in items:
        result.extend(item if isinstance(item, list) else [item])
    return result


def _describe(tree: SourceTree) -> dict[str, str]:
    if not tree.is_git:
        return {"revision": "(working tree)", "version": str(tree.root)}
    described = subprocess.run(
        ["git", "--git-dir", str(tree.root), "describe", "--tags", "--always", tree.commit], capture_output=True, text=True
    ).stdout.strip()
    return {"revision": tree.commit, "version": described}


def _paths(values: Any) -> list[str]:
    """`.spec.containers[*].image` -> `spec.containers.image` (list positions do not matter to a path)."""
    out = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, str):
            out.append(value.lstrip(".").replace("[*]", ""))
    return sorted(set(out))


def kubernetes_file(location: str, note: str | None) -> dict[str, Any]:
    import importlib.metadata

    tree = SourceTree(location)
    module = Module("github.com/pulumi/pulumi-kubernetes/provider/v4", tree.read_dir)
    module.special["append"] = _append
    directory = "provider/pkg/provider"
    package = module.package(directory)
    env = Env(module, package, "", [], {})
    table = env.lookup("forceNew")
    metadata = module.call(env.lookup("metadataForceNewProperties"), [".metadata"])
    kinds: dict[str, Any] = {}
    for group, versions in (table or {}).items():
        if group == "":  # the legacy name of core
            continue
        for version, by_kind in versions.items():
            for kind, paths in by_kind.items():
                api_version = version if group == "core" else f"{group}/{version}"
                kinds[f"{api_version}:{kind}"] = _paths(paths)
    helm_text = tree.read(f"{directory}/helm_release.go")
    helm = re.search(r"forceNewFields := \[\]string\{([^}]*)\}", helm_text)
    provider_text = tree.read(f"{directory}/provider.go")
    configmap_default = "false" if re.search(r"PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE.*?// Default to false", provider_text, re.S) else "?"
    secret_default = "false" if re.search(r"PULUMI_K8S_ENABLE_SECRET_MUTABLE.*?// Default to false", provider_text, re.S) else "?"
    if isinstance(table, Opaque) or not kinds:
        raise LookupError(f"forceNew table not found in {directory}/diff.go")
    upstream = {"repository": "https://github.com/pulumi/pulumi-kubernetes", **_describe(tree), "file": f"{directory}/diff.go"}
    if note:
        upstream["note"] = note
    return {
        "provider": "kubernetes",
        "pulumiPackage": "pulumi-kubernetes",
        "pulumiVersion": importlib.metadata.version("pulumi-kubernetes"),
        "upstream": upstream,
        "everyKind": _paths(metadata),
        "kinds": dict(sorted(kinds.items())),
        "secret": {
            "replaceOn": ["type", "stringData", "data"],
            "unless": "kubernetes:config:enableSecretMutable (or PULUMI_K8S_ENABLE_SECRET_MUTABLE) is true and the Secret is not immutable",
            "default": secret_default,
        },
        "configMap": {
            "replaceOn": ["binaryData", "data"],
            "unless": "kubernetes:config:enableConfigMapMutable (or PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE) is true and the ConfigMap is not immutable",
            "default": configmap_default,
        },
        "helmRelease": {
            "replaceOn": _paths(re.findall(r'"([^"]+)"', helm.group(1))) if helm else [],
            "file": f"{directory}/helm_release.go",
        },
        "deleteBeforeReplace": "a replaced object whose metadata.name is set (not generated) and unchanged, in the same namespace, is deleted first (Diff in provider.go)",
        "providerReplace": {
            "kubeconfig": "the active cluster of the kubeconfig (its server and certificate) changes, or the kubeconfig is unknown until deploy",
            "file": f"{directory}/provider.go (DiffConfig)",
        },
    }


# ---------------------------------------------------------------------------------------------------
# Controllers


def _load_balancer_controller(location: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tree = SourceTree(location)
    path = "webhooks/elbv2/targetgroupbinding_validator.go"
    text = tree.read(path)
    body = re.search(r"func \(v \*targetGroupBindingValidator\) checkImmutableFields\(.*?\n}\n", text, re.S)
    if body is None:
        raise LookupError(f"checkImmutableFields not found in {path}")
    fields = sorted(set(re.findall(r'changedImmutableFields = append\(changedImmutableFields, "([^"]+)"\)', body.group(0))))
    message = re.search(r'errors\.Errorf\("(%s update may not change these immutable fields: %s)"', body.group(0))
    source = {
        "repository": "https://github.com/kubernetes-sigs/aws-load-balancer-controller",
        **_describe(tree),
        "file": path,
        "enforcedBy": "validating admission webhook (ValidateUpdate -> checkImmutableFields)",
    }
    kind = {
        "controller": "load-balancer-controller",
        "refusedInPlace": {field: "change" for field in fields},
        "message": (message.group(1) % ("TargetGroupBinding", ", ".join(fields))) if message else "",
    }
    return source, {"elbv2.k8s.aws:TargetGroupBinding": kind}


def _strimzi(location: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tree = SourceTree(location)
    topic_path = "topic-operator/src/main/java/io/strimzi/operator/topic/BatchingTopicController.java"
    topic = tree.read(topic_path)
    storage_path = "cluster-operator/src/main/java/io/strimzi/operator/cluster/model/StorageDiff.java"
    storage = tree.read(storage_path)
    refused_topic: dict[str, str] = {}
    if "Decreasing partitions not supported" in topic:
        refused_topic["spec.partitions"] = "decrease"
    if "Changing spec.topicName is not supported" in topic:
        refused_topic["spec.topicName"] = "change"
    if "Replication factor change not supported" in topic:
        refused_topic["spec.replicas"] = "change"
    refused_storage: dict[str, str] = {}
    if "shrinkSize = true" in storage:
        refused_storage.update({"spec.storage.size": "decrease", "spec.storage.volumes.size": "decrease"})
    if 'endsWith("/type")' in storage:
        refused_storage.update({"spec.storage.type": "change", "spec.storage.volumes.type": "change"})
    if not refused_topic or not refused_storage:
        raise LookupError("Strimzi's topic or storage checks were not found where expected")
    source = {
        "repository": "https://github.com/strimzi/strimzi-kafka-operator",
        **_describe(tree),
        "file": f"{topic_path}, {storage_path}",
        "enforcedBy": "the operators (no admission webhook): the topic operator marks the KafkaTopic NotReady "
        "with NotSupported; the cluster operator keeps the current storage and logs the refused change",
    }
    kinds = {
        "kafka.strimzi.io:KafkaTopic": {
            "controller": "strimzi",
            "refusedInPlace": refused_topic,
            "message": "Strimzi's topic operator does not apply it (NotSupported): the topic stays as it is",
        },
        "kafka.strimzi.io:KafkaNodePool": {
            "controller": "strimzi",
            "refusedInPlace": refused_storage,
            "message": "Strimzi keeps the current storage: volumes can grow but never shrink or change type",
        },
    }
    return source, kinds


def _external_secrets(location: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tree = SourceTree(location)
    path = "apis/externalsecrets/v1/externalsecret_validator.go"
    text = tree.read(path)
    update = re.search(r"func \(in \*ExternalSecretValidator\) ValidateUpdate\(([^)]*)\)", text)
    if update is None:
        raise LookupError(f"ValidateUpdate not found in {path}")
    # ValidateUpdate(_ context.Context, _, newObj *ExternalSecret): the old object is discarded, so no field is immutable.
    params = [p.strip() for p in update.group(1).split(",")]
    if len(params) < 3 or not params[1].startswith("_"):
        raise LookupError(f"{path}: ValidateUpdate reads the old object; check it for immutable fields")
    source = {
        "repository": "https://github.com/external-secrets/external-secrets",
        **_describe(tree),
        "file": path,
        "enforcedBy": "validating admission webhook; ValidateUpdate ignores the old object, so nothing is immutable",
    }
    return source, {}


def controllers_file(locations: dict[str, str | None], current: dict[str, Any]) -> dict[str, Any]:
    readers = {"load-balancer-controller": _load_balancer_controller, "strimzi": _strimzi, "external-secrets": _external_secrets}
    controllers = dict(current.get("controllers", {}))
    kinds = {k: v for k, v in current.get("kinds", {}).items()}
    for name, location in locations.items():
        if not location:
            continue
        source, found = readers[name](location)
        controllers[name] = source
        kinds = {k: v for k, v in kinds.items() if v.get("controller") != name}
        kinds.update(found)
    return {
        "controllers": dict(sorted(controllers.items())),
        "semantics": {
            "change": "any change of this field in place is refused",
            "decrease": "a smaller value is refused",
        },
        "kinds": dict(sorted(kinds.items())),
    }
