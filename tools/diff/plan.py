"""What a change would do to deployed stacks, offline: create, update in place, replace or delete.

The base (a git revision, or in tests the shipped files) is run as `pulumi up` against the offline
engine's fake providers: that is the deployed state (tools/diff/snapshot.py). The working
tree's program then runs as `pulumi preview` against that state, the way the Pulumi engine steps
through a preview: each resource, when registered, is matched with its old self by URN or by one
of its aliases (its parent's aliases included), its inputs are compared after `ignore_changes`, and
its provider's force-new data (tools/diff/force_new) decides update or replace. A resource kept
or updated answers with its deployed outputs; one created or replaced answers with outputs known
only after deploy, so every input that reads them becomes unknown and the replacement cascades as
it would in `pulumi preview`. Old resources no new one claimed are deleted.

The plan is refused (exit status 1) when a change would replace or delete a protected resource or
one that holds data, replace a resource whose fixed name the new copy would collide with, or
change in place a field a controller refuses to change. Each refusal says what to do instead
(docs/runbooks/changes.md).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import rpc

from ..engine import engine, sdk_internals
from ..engine.engine import Secret, struct_to_python
from . import force_new
from .snapshot import SECRET, UNKNOWN

# Resources that hold data a replacement or deletion loses (or, for keys, makes unreadable).
STATEFUL: dict[str, str] = {
    "aws:rds/instance:Instance": "the PostgreSQL writer: every row",
    "aws:elasticache/replicationGroup:ReplicationGroup": "the Redis cache and its sessions",
    "aws:msk/cluster:Cluster": "the Kafka brokers and every topic's messages",
    "aws:msk/topic:Topic": "the topic's messages",
    "aws:s3/bucket:Bucket": "the bucket's objects",
    "aws:kms/key:Key": "the key: whatever it encrypted becomes unreadable once it is deleted",
    "aws:secretsmanager/secret:Secret": "the secret's versions",
    "aws:ecr/repository:Repository": "the images",
    "aws:cloudwatch/logGroup:LogGroup": "the logs (audit trail)",
    "aws:sqs/queue:Queue": "queued messages",
    "aws:backup/vault:Vault": "the recovery points",
    "gcp:sql/databaseInstance:DatabaseInstance": "the Cloud SQL copy: every replicated row",
    "gcp:sql/database:Database": "the database's tables",
    "gcp:redis/instance:Instance": "the Redis cache and its sessions",
    "gcp:kms/cryptoKey:CryptoKey": "the key: whatever it encrypted becomes unreadable",
    "gcp:kms/keyRing:KeyRing": "the key ring (its name can never be used again)",
    "gcp:secretmanager/secret:Secret": "the secret's versions",
    "gcp:artifactregistry/repository:Repository": "the images",
    "gcp:storage/bucket:Bucket": "the bucket's objects",
    "kubernetes:kafka.strimzi.io/v1:Kafka": "the Kafka cluster and every topic's messages",
    "kubernetes:kafka.strimzi.io/v1:KafkaNodePool": "the brokers' volumes: every topic's messages",
    "kubernetes:kafka.strimzi.io/v1:KafkaTopic": "the topic's messages",
    "kubernetes:core/v1:PersistentVolumeClaim": "the volume's data",
}

# Inputs that are a resource's name in its cloud. A replacement made create-before-delete with the
# same name collides with the old copy; random suffixes (Pulumi's autonames) never do. A value read
# from another resource (a secret version's secretId, a node group's clusterName) names that other
# resource, so only values the program sets itself (or builds from a per-incarnation suffix) count.
PHYSICAL_NAMES = {
    "name",
    "identifier",
    "bucket",
    "accountId",
    "secretId",
    "repositoryId",
    "replicationGroupId",
    "nodeGroupName",
    "dashboardName",
    "configurationSetName",
    "workloadIdentityPoolId",
    "workloadIdentityPoolProviderId",
    "clusterName",
}

# The clouds' own guards against deletion, as inputs: a replacement's delete of the old copy, or a
# delete, fails while one is on.
DELETION_GUARDS = ("deletionProtection", "enableDeletionProtection")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

OPS = ("replace", "delete", "create", "update", "read", "same")


@dataclass
class Change:
    path: str  # display path, list positions included: spec.ports[0].port
    old: Any
    new: Any
    replaces: str = ""  # why this change replaces the resource
    refused: str = ""  # why it cannot be made in place
    remedy: str = ""  # what to do instead
    conditional: str = ""  # the provider replaces only if this condition holds


@dataclass
class Step:
    stack: str
    urn: str
    type: str
    name: str
    op: str
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    protect: bool = False
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    old_urn: str = ""
    old: dict[str, Any] | None = field(default=None, repr=False)  # the deployed record
    new_inputs: dict[str, Any] = field(default_factory=dict, repr=False)
    property_dependencies: dict[str, set[str]] = field(default_factory=dict, repr=False)
    dependencies: list[str] = field(default_factory=list, repr=False)  # what the new program makes it wait for
    rules_source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "op": self.op,
            "urn": self.urn,
            "oldUrn": self.old_urn if self.old_urn and self.old_urn != self.urn else None,
            "type": self.type,
            "name": self.name,
            "protect": self.protect,
            "deleteBeforeReplace": self.delete_before_replace if self.op == "replace" else None,
            "reasons": self.reasons,
            "forceNewData": self.rules_source if self.op == "replace" else None,
            "changes": [
                {
                    "path": c.path,
                    "old": display(c.old),
                    "new": display(c.new),
                    **({"replaces": c.replaces} if c.replaces else {}),
                    **({"refused": c.refused} if c.refused else {}),
                    **({"mayReplace": c.conditional} if c.conditional else {}),
                }
                for c in self.changes
            ],
            "notes": self.notes,
            "problems": self.problems,
        }


@dataclass
class StackPlan:
    stack: str
    steps: list[Step]

    def changed(self) -> list[Step]:
        return [s for s in self.steps if s.op not in ("same", "read")]

    def problems(self) -> list[tuple[Step, str]]:
        return [(s, p) for s in self.steps for p in s.problems]

    def counts(self) -> dict[str, int]:
        counts = {op: 0 for op in OPS}
        for step in self.steps:
            counts[step.op] += 1
        return counts


# ---------------------------------------------------------------------------------------------------
# Values


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"

    def __reduce__(self) -> str:
        return "MISSING"  # pickled as the module's one instance (compared with `is MISSING`)


MISSING = _Missing()


def from_json(value: Any) -> Any:
    """A snapshot value with the engine's markers: Secret, UNKNOWN."""
    if isinstance(value, dict):
        if set(value) == {SECRET}:
            return Secret(from_json(value[SECRET]))
        if set(value) == {UNKNOWN}:
            return engine.UNKNOWN
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def to_wire(value: Any) -> Any:
    """A value as the engine sends it to the program: secrets keep their signature, unknowns their sentinel."""
    if isinstance(value, Secret):
        return {sdk_internals.SIG_KEY: sdk_internals.SECRET_SIG, "value": to_wire(value.value)}
    if value is engine.UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def display(value: Any) -> Any:
    """A value for people and JSON: secrets never shown."""
    if value is MISSING:
        return None
    return engine.map_markers(value, secret=lambda _inner: "[secret]", unknown=lambda: "[unknown]")


def _plain(value: Any) -> Any:
    """Secrets opened for comparison only."""
    return engine.map_markers(value, secret=lambda inner: inner, unknown=lambda: engine.UNKNOWN)


def _is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf differences between two input trees: (display path, old, new). A secret compares by its value."""
    if isinstance(old, Secret) or isinstance(new, Secret):
        inner_old = old.value if isinstance(old, Secret) else old
        inner_new = new.value if isinstance(new, Secret) else new
        found = differences(inner_old, inner_new, path)
        return [(p, Secret(o) if o is not MISSING else o, Secret(n) if n is not MISSING else n) for p, o, n in found]
    if new is engine.UNKNOWN:
        return [(path, old, new)]  # the caller decides whether an unknown value changes
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else str(key)
            found += differences(old.get(key, MISSING), new.get(key, MISSING), child)
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for index in range(max(len(old), len(new))):
            found += differences(
                old[index] if index < len(old) else MISSING, new[index] if index < len(new) else MISSING, f"{path}[{index}]"
            )
        return found
    if _same(old, new):
        return []
    return [(path, old, new)]


def _same(old: Any, new: Any) -> bool:
    if old in (None, MISSING) and new in (None, MISSING):
        return True
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool) and not isinstance(new, bool):
        return float(old) == float(new)
    return old == new


def schema_path(path: str) -> str:
    """`spec.ports[0].port` -> `spec.ports.port`: the form force-new data uses."""
    parts = []
    for part in path.replace("]", "").split("."):
        parts.append(part.split("[")[0])
    return ".".join(p for p in parts if p)


def _value_at(tree: Any, path: str) -> Any:
    """The value at a schema path (list positions dropped): a list of the values where a list was crossed."""
    values = [tree]
    for part in path.split("."):
        next_values = []
        for found in values:
            value = found.value if isinstance(found, Secret) else found
            if isinstance(value, list):
                for element in value:
                    item = element.value if isinstance(element, Secret) else element
                    if isinstance(item, dict) and part in item:
                        next_values.append(item[part])
            elif isinstance(value, dict) and part in value:
                next_values.append(value[part])
        values = next_values
    return values


def _count(tree: Any, path: str) -> int:
    """How many blocks sit at a path (a maxItemsOne block flattened to an object counts one)."""
    total = 0
    for value in _value_at(tree, path):
        if isinstance(value, list):
            total += len(value)
        elif value not in (None, MISSING):
            total += 1
    return total


# ---------------------------------------------------------------------------------------------------
# ignore_changes


def _parse_property_path(text: str) -> list[Any]:
    """Pulumi property paths: `a.b`, `a[0]`, `a["key"]`, `a.*`."""
    parts: list[Any] = []
    token = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char == ".":
            if token:
                parts.append(token)
            token = ""
        elif char == "[":
            if token:
                parts.append(token)
            token = ""
            end = text.index("]", index)
            inner = text[index + 1 : end]
            parts.append(int(inner) if inner.isdigit() else inner.strip("\"'"))
            index = end
        else:
            token += char
        index += 1
    if token:
        parts.append(token)
    return parts


def apply_ignore_changes(old: dict[str, Any], new: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """New inputs with the ignored paths taken from the old inputs, as the engine does before diffing."""
    import copy

    result = copy.deepcopy(new)
    for text in paths:
        parts = _parse_property_path(text)
        if not parts:
            continue
        old_value = _get(old, parts)
        if old_value is MISSING:
            _delete(result, parts)
        else:
            _set(result, parts, copy.deepcopy(old_value))
    return result


def _get(tree: Any, parts: list[Any]) -> Any:
    for part in parts:
        if isinstance(tree, Secret):
            tree = tree.value
        if (isinstance(tree, dict) and part in tree) or (isinstance(tree, list) and isinstance(part, int) and part < len(tree)):
            tree = tree[part]
        else:
            return MISSING
    return tree


def _set(tree: Any, parts: list[Any], value: Any) -> None:
    for part in parts[:-1]:
        if isinstance(tree, dict):
            tree = tree.setdefault(part, {})
        elif isinstance(tree, list) and isinstance(part, int) and part < len(tree):
            tree = tree[part]
        else:
            return
    if isinstance(tree, dict) or (isinstance(tree, list) and isinstance(parts[-1], int) and parts[-1] < len(tree)):
        tree[parts[-1]] = value


def _delete(tree: Any, parts: list[Any]) -> None:
    parent = _get(tree, parts[:-1]) if len(parts) > 1 else tree
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)


# ---------------------------------------------------------------------------------------------------
# The step generator


def provider_urn(reference: str) -> str:
    """`urn:...::name::id` -> the provider's URN."""
    return reference.rsplit("::", 1)[0] if reference else ""


def _kubeconfig_cluster(value: Any) -> Any:
    """The cluster entry of the kubeconfig's current context (what the Kubernetes provider compares)."""
    value = value.value if isinstance(value, Secret) else value
    if not isinstance(value, str):
        return value
    try:
        config = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if not isinstance(config, dict):
        return value
    context_name = config.get("current-context")
    contexts = {c.get("name"): c.get("context", {}) for c in config.get("contexts") or [] if isinstance(c, dict)}
    cluster_name = (contexts.get(context_name) or {}).get("cluster")
    clusters = {c.get("name"): c.get("cluster") for c in config.get("clusters") or [] if isinstance(c, dict)}
    return clusters.get(cluster_name, clusters)


class Planner:
    """Decides each resource's step as the new program registers it, against one stack's deployed state."""

    def __init__(self, stack: str, old_resources: list[dict[str, Any]]):
        self.stack = stack
        self.old = {r["urn"]: r for r in old_resources}
        self.steps: dict[str, Step] = {}
        self.claimed: dict[str, str] = {}  # old urn -> new urn
        self.local = threading.local()
        self.lock = threading.Lock()
        self.new_inputs: dict[str, dict[str, Any]] = {}

    # -- matching
    def _candidates(self, monitor: Any, request: Any, urn: str) -> list[str]:
        candidates = [urn]
        parent_step = self.steps.get(request.parent)
        parents = [request.parent]
        if parent_step is not None and parent_step.old_urn and parent_step.old_urn != request.parent:
            parents.append(parent_step.old_urn)
            candidates.append(monitor.make_urn(parent_step.old_urn, request.type, self._inherited_name(request, parent_step)))
            candidates.append(monitor.make_urn(parent_step.old_urn, request.type, request.name))
        for alias in getattr(request, "aliases", []):
            if alias.WhichOneof("alias") == "urn":
                candidates.append(alias.urn)
                continue
            spec = alias.spec
            name = spec.name or request.name
            type_ = spec.type or request.type
            if spec.noParent:
                candidates.append(monitor.make_urn("", type_, name))
            elif spec.parentUrn:
                candidates.append(monitor.make_urn(spec.parentUrn, type_, name))
            else:
                candidates += [monitor.make_urn(p, type_, name) for p in parents]
        candidates += list(getattr(request, "aliasURNs", []))
        return list(dict.fromkeys(candidates))

    def _inherited_name(self, request: Any, parent_step: Step) -> str:
        """A child named after its parent keeps its old name when the parent's alias renamed it."""
        old_parent_name = parent_step.old_urn.split("::")[-1]
        if request.name.startswith(parent_step.name) and old_parent_name != parent_step.name:
            return old_parent_name + request.name[len(parent_step.name) :]
        return request.name

    def decide(self, monitor: Any, request: Any, urn: str, op: str = "create") -> Step:
        new_inputs = struct_to_python(request.properties if op == "read" else request.object)
        new_inputs.pop("__defaults", None)
        with self.lock:
            self.new_inputs[urn] = new_inputs
            old = None
            for candidate in self._candidates(monitor, request, urn):
                if candidate in self.old and candidate not in self.claimed:
                    old = self.old[candidate]
                    break
            step = Step(self.stack, urn, request.type, request.name, "create", protect=bool(getattr(request, "protect", False)))
            if old is not None:
                self.claimed[old["urn"]] = urn
                step.old_urn = old["urn"]
                if old["urn"] != urn:
                    step.notes.append(f"the same resource as {old['urn'].split('::')[-1]} (alias): no replacement for the new name")
            self.steps[urn] = step
        step.old = old
        step.new_inputs = new_inputs
        step.property_dependencies = {k: set(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()}
        step.dependencies = list(getattr(request, "dependencies", []))
        if old is None:
            step.op = "read" if op == "read" else "create"
            if op != "read" and request.custom:
                step.notes.append("new")
            return step
        if op == "read":
            step.op = "read"
            return step
        if not request.custom:
            step.op = "same"
            return step
        self._compare(step, request, old, new_inputs)
        return step

    def _compare(self, step: Step, request: Any, old: dict[str, Any], new_inputs: dict[str, Any]) -> None:
        old_inputs = from_json(old["inputs"])
        compared = apply_ignore_changes(old_inputs, new_inputs, list(request.ignoreChanges))
        provider_inputs = self.new_inputs.get(provider_urn(request.provider), {})
        rules = force_new.rules(request.type, compared, _plain(provider_inputs))
        dependencies = step.property_dependencies
        for path, old_value, new_value in differences(old_inputs, compared):
            inner_old = old_value.value if isinstance(old_value, Secret) else old_value
            if (new_value.value if isinstance(new_value, Secret) else new_value) is engine.UNKNOWN and (
                inner_old is engine.UNKNOWN or inner_old in (None, MISSING)
            ):
                # Unknown in both runs: it changes only if what it reads is created or replaced.
                top = path.split(".")[0].split("[")[0]
                if not any(self._churns(u) for u in dependencies.get(top, ())):
                    continue
            step.changes.append(Change(path, old_value, new_value))
        provider_step = self.steps.get(provider_urn(request.provider))
        if not step.changes and not (provider_step and provider_step.op == "replace"):
            step.op = "same"
            return
        step.op = "update"
        if not rules.known and not request.type.startswith("pulumi:"):
            step.notes.append(
                f"no force-new data covers {request.type}: whether this change replaces it is not known "
                "(regenerate tools/diff/data/force_new, docs/diff.md)"
            )
        for change in step.changes:
            self._classify(change, rules, old_inputs, compared, list(request.replaceOnChanges))
        if provider_step is not None and provider_step.op == "replace":
            step.reasons.append(f"its provider {provider_step.name} is replaced")
        if request.type.startswith("pulumi:providers:"):
            self._provider(step, request.type, old_inputs, compared)
        step.reasons += [f"{c.path} changes" + (f" ({c.replaces})" if c.replaces else "") for c in step.changes if c.replaces]
        if step.reasons:
            step.op = "replace"
            step.delete_before_replace = self._delete_before_replace(request, compared, old_inputs)
        step.rules_source = rules.source

    def _churns(self, urn: str) -> bool:
        step = self.steps.get(urn)
        return step is not None and step.op in ("create", "replace")

    def _classify(self, change: Change, rules: force_new.Rules, old_inputs: dict, new_inputs: dict, replace_on_changes: list[str]) -> None:
        path = schema_path(change.path)
        parts = path.split(".")
        for option in replace_on_changes:
            option_path = schema_path(option.replace("*", "").rstrip("."))
            if option == "*" or path == option_path or path.startswith(option_path + ".") or option_path.startswith(path + "."):
                change.replaces = "replace_on_changes"
                return
        for depth in range(len(parts), 0, -1):
            prefix = ".".join(parts[:depth])
            entry = rules.replace_on.get(prefix)
            if entry is None:
                continue
            kind = entry.get("kind")
            said = " (the provider's documentation)" if entry.get("from") == "docstring" else ""
            if kind == "whole" or (kind == "attr" and depth < len(parts)):
                change.replaces = f"{prefix} forces a new resource{said}"
                return
            if kind == "attr":
                if change.new is MISSING and entry.get("keptWhenRemoved"):
                    continue  # optional and computed: the provider keeps the deployed value
                change.replaces = f"{prefix} forces a new resource{said}"
                return
            if kind == "block" and _count(old_inputs, prefix) != _count(new_inputs, prefix):
                change.replaces = f"adding or removing {prefix} forces a new resource"
                return
        transition = rules.transitions.get(path)
        if transition is not None:
            before = _plain(change.old)
            if (None if before is MISSING else before) in transition["from"] and _plain(change.new) == transition["to"]:
                change.refused = transition["documentation"]
                change.remedy = (
                    f"set {path} to {transition['via']} first, move the clients, then to {transition['to']}: "
                    'docs/runbooks/changes.md ("Redis cluster mode")'
                )
        for prefix, reason in rules.conditional.items():
            if path == prefix or path.startswith(prefix + "."):
                if reason.startswith("decrease: "):
                    if path == prefix and _smaller(change.new, change.old):
                        change.replaces = f"a smaller {prefix} forces a new resource ({reason[len('decrease: ') :]})"
                        return
                    continue  # it grows or stays: the provider updates in place
                change.conditional = reason
        for prefix, condition in rules.refused_in_place.items():
            if (path == prefix or path.startswith(prefix + ".")) and (
                condition == "change" or (condition == "decrease" and _smaller(change.new, change.old))
            ):
                change.refused = rules.refusal_message or f"{prefix} cannot change in place"
                change.remedy = (
                    "replace the object instead (a name derived from the value, or replace_on_changes on the field): "
                    'docs/runbooks/changes.md ("Refused in place")'
                )

    def _provider(self, step: Step, type_: str, old_inputs: dict, new_inputs: dict) -> None:
        if type_ == "pulumi:providers:kubernetes":
            new = new_inputs.get("kubeconfig")
            inner = new.value if isinstance(new, Secret) else new
            if inner is engine.UNKNOWN:
                step.reasons.append("its kubeconfig is known only after deploy: the cluster it points at may change")
            elif _kubeconfig_cluster(old_inputs.get("kubeconfig")) != _kubeconfig_cluster(new):
                step.reasons.append("its kubeconfig points at another cluster")
        for key, why in force_new.PROVIDER_REPLACE.get(type_, {}).items():
            if any(c.path.split(".")[0] == key for c in step.changes):
                step.reasons.append(why)

    def _delete_before_replace(self, request: Any, new_inputs: dict, old_inputs: dict) -> bool:
        if request.deleteBeforeReplaceDefined:
            return bool(request.deleteBeforeReplace)
        if request.type.startswith("kubernetes:") and request.type != "kubernetes:helm.sh/v3:Release":
            new_meta, old_meta = _plain(new_inputs.get("metadata") or {}), _plain(old_inputs.get("metadata") or {})
            named = isinstance(new_meta, dict) and bool(new_meta.get("name")) and not new_meta.get("generateName")
            return named and new_meta.get("name") == old_meta.get("name") and new_meta.get("namespace") == old_meta.get("namespace")
        return False

    # -- what the new program sees
    def answer(self, args: sdk_mocks.MockResourceArgs) -> tuple[str, dict]:
        step: Step | None = getattr(self.local, "step", None)
        if not args.custom:
            return "", {}
        old = step.old if step is not None else None
        if step is None or old is None or step.op in ("create", "replace"):
            return "", dict(args.inputs)
        state = from_json(old["outputs"])
        if step.op == "update":
            state = _overlay(state, self.new_inputs.get(step.urn, {}))
        return str(from_json(old["id"]) or ""), to_wire(state)

    def finish(self) -> list[Step]:
        """The new program's steps and the deletions of what it no longer registers."""
        steps = list(self.steps.values())
        for urn, old in self.old.items():
            if urn in self.claimed or old["type"] == "pulumi:pulumi:Stack":
                continue
            op = "read" if old.get("op") == "read" else "delete"
            step = Step(self.stack, urn, old["type"], old["name"], op, protect=bool(old.get("protect")))
            if op == "delete" and old.get("retainOnDelete"):
                step.notes.append("retain_on_delete: Pulumi forgets it; the cloud keeps it")
            step.old = old
            steps.append(step)
        for step in steps:
            _judge(step)
        _duplicate_security_group_rules(steps)
        return steps


_RULE_TYPES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
_RULE_KEYS = ("securityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")


def _rule_identity(type_: str, inputs: Any) -> tuple | None:
    inputs = _plain(inputs or {})
    if not isinstance(inputs, dict) or any(inputs.get(k) is engine.UNKNOWN for k in _RULE_KEYS):
        return None
    return (type_, *(str(inputs.get(k)) for k in _RULE_KEYS))


def _duplicate_security_group_rules(steps: list[Step]) -> None:
    """EC2 refuses a security group rule that the group already holds (InvalidPermission.Duplicate,
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). Pulumi updates and
    creates rules before it deletes the ones a program dropped, so a rule that takes over another's
    range, port and protocol while that one still exists fails half-way through the update."""
    existing: dict[tuple, Step] = {}
    for step in steps:
        if step.type in _RULE_TYPES and step.old is not None and step.op != "create":
            identity = _rule_identity(step.type, from_json(step.old.get("inputs", {})))
            if identity is not None:
                existing[identity] = step
    clashes: dict[str, list[tuple[Step, Step]]] = {}
    for step in steps:
        if step.type not in _RULE_TYPES or step.op not in ("update", "create", "replace"):
            continue
        identity = _rule_identity(step.type, step.new_inputs)
        holder = existing.get(identity) if identity is not None else None
        if identity is not None and holder is not None and holder is not step:
            clashes.setdefault(identity[1], []).append((step, holder))
    for pairs in clashes.values():
        step, holder = pairs[0]
        more = f" (and {len(pairs) - 1} more rules of the group)" if len(pairs) > 1 else ""
        step.problems.append(
            f"{step.type.split(':')[-1]} {step.name} would take over the rule {holder.name} still holds{more}: EC2 refuses a "
            "duplicate rule (InvalidPermission.Duplicate) and the update stops half-way. Key rules by what they admit "
            '(the range), not by list position: docs/runbooks/changes.md ("Security group rules")'
        )


def _overlay(state: Any, inputs: Any) -> Any:
    """The state an update leaves: the new inputs over the deployed state, computed values kept where the
    inputs do not set them (an EKS cluster's vpcConfig keeps its clusterSecurityGroupId)."""
    if isinstance(state, dict) and isinstance(inputs, dict):
        merged = dict(state)
        for key, value in inputs.items():
            merged[key] = _overlay(state.get(key), value) if key in state else value
        return merged
    if isinstance(state, list) and isinstance(inputs, list) and len(state) == len(inputs):
        return [_overlay(s, i) for s, i in zip(state, inputs)]
    return inputs


def _smaller(new: Any, old: Any) -> bool:
    """Whether `new` is less than `old`: a number, a size (`100Gi`), a version, or an address range that no
    longer contains the old one."""
    import ipaddress

    ranges = [_plain(new), _plain(old)]
    if all(isinstance(r, str) and "/" in r for r in ranges):
        try:
            narrower, wider = (ipaddress.ip_network(r, strict=False) for r in ranges)
            return narrower.version != wider.version or not wider.subnet_of(narrower)  # type: ignore[arg-type]
        except ValueError:
            pass

    def number(value: Any) -> float | None:
        value = value.value if isinstance(value, Secret) else value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
            for suffix, factor in units.items():
                if value.endswith(suffix) and value[: -len(suffix)].replace(".", "", 1).isdigit():
                    return float(value[: -len(suffix)]) * factor
            if value.replace(".", "", 1).isdigit():
                return float(value)
        return None

    a, b = number(new), number(old)
    if a is not None and b is not None:
        return a < b
    return _version(new) < _version(old) if _version(new) and _version(old) else False


def _version(value: Any) -> tuple[int, ...]:
    """`REDIS_7_2`, `3.7.x`, `1.29` -> their numbers, for comparing versions."""
    value = value.value if isinstance(value, Secret) else value
    import re

    return tuple(int(n) for n in re.findall(r"\d+", value)) if isinstance(value, str) else ()


def _set_by_the_program(dependencies: set[str]) -> bool:
    """A name read from no other resource, or only from per-incarnation suffixes (components/naming.py):
    a suffix that is not replaced keeps its value, so the name it builds is the program's own and stays."""
    return all(urn.split("::")[-2].rsplit("$", 1)[-1].startswith("random:") for urn in dependencies)


def _judge(step: Step) -> None:
    """Refusals: what the plan must not do, each with what to do instead."""
    what = f"{step.type.split(':')[-1]} {step.name}"
    stateful = STATEFUL.get(step.type)
    old = step.old or {}
    if step.op in ("replace", "delete"):
        verb = "replace" if step.op == "replace" else "delete"
        # Pulumi refuses to delete a protected resource even when it would only forget it (retain_on_delete).
        if step.protect:
            step.problems.append(
                f"{what} is protected: `pulumi up` refuses to {verb} it. Do it on purpose or not at all: "
                'see docs/runbooks/changes.md ("A protected or data-holding resource")'
            )
        elif stateful and not (step.op == "delete" and old.get("retainOnDelete")):
            step.problems.append(
                f"{what} holds {stateful}; this change would {verb} it. Keep the resource and change something else, "
                'or migrate the data first: docs/runbooks/changes.md ("A protected or data-holding resource")'
            )
    if step.op in ("replace", "delete") and not (step.op == "delete" and old.get("retainOnDelete")):
        deployed = _plain(from_json(old.get("inputs", {})))
        guard = next((k for k in DELETION_GUARDS if isinstance(deployed, dict) and deployed.get(k) is True), None)
        if guard is not None:
            step.problems.append(
                f"{what} has {guard} on: the cloud refuses to delete the old copy, and the update stops there. "
                "Turn it off in a change of its own first, only if losing the resource is intended: "
                'docs/runbooks/changes.md ("A protected or data-holding resource")'
            )
    if step.type == DEPLOYMENT and step.op == "update":
        before = _plain(from_json(old.get("inputs", {})))
        after = _plain(step.new_inputs)
        replicas_before = ((before or {}).get("spec") or {}).get("replicas") if isinstance(before, dict) else None
        replicas_after = ((after or {}).get("spec") or {}).get("replicas") if isinstance(after, dict) else None
        if replicas_after == 0 and replicas_before != 0:
            step.problems.append(
                f"{what} would go to 0 replicas on a stack where it runs: every pod stops and the origin answers 503. "
                "If its image is missing from the registry, push it first (python -m tools first-deploy names the commands); "
                'to stop it on purpose, drain the origin first: docs/runbooks/changes.md ("A workload going to zero replicas")'
            )
    if step.op == "replace" and not step.delete_before_replace:
        new = _plain(step.new_inputs)
        collided = [
            key
            for key in sorted(PHYSICAL_NAMES)
            if isinstance(new, dict)
            and isinstance(new.get(key), str)
            and new.get(key) == _plain(from_json(old.get("inputs", {}))).get(key)
            and _set_by_the_program(step.property_dependencies.get(key, set()))
            and force_new.rules(step.type).replace_on.get(key) is not None
        ]
        if collided:
            key = collided[0]
            step.problems.append(
                f"{what} would be replaced create-before-delete under the same {key} '{new.get(key)}': "
                "the new copy collides with the old one. Give it a unique name, or delete_before_replace with a "
                'maintenance window: docs/runbooks/changes.md ("Fixed names")'
            )
    for change in step.changes:
        if change.refused and step.op == "update":
            step.problems.append(f"{what}: {change.path} cannot change in place ({change.refused}); {change.remedy}")
        if change.conditional and step.op != "replace":
            if change.conditional.startswith(force_new.DOCSTRING):
                said = change.conditional[len(force_new.DOCSTRING) :]
                step.notes.append(f"{change.path}: the provider may replace it; its documentation says: {said}")
            else:
                step.notes.append(f"{change.path}: the provider replaces it when {change.conditional} decides so")


# ---------------------------------------------------------------------------------------------------
# Running the new program against the deployed state


class _DiffMocks(engine._Mocks):
    def __init__(self, planner: Planner, stack_outputs: Any, stack: str):
        super().__init__(True, stack_outputs, stack)
        self.planner = planner

    def new_resource(self, args: sdk_mocks.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args)
        return self.planner.answer(args)


class _DiffMonitor(engine._RecordingMonitor):
    def __init__(self, mocks: _DiffMocks):
        super().__init__(mocks)
        self.planner = mocks.planner

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            urn = self.make_urn(request.parent, request.type, request.name)
            self.planner.local.step = self.planner.decide(self, request, urn)
        try:
            return super().RegisterResource(request)
        finally:
            self.planner.local.step = None

    def ReadResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        self.planner.local.step = self.planner.decide(self, request, urn, op="read")
        try:
            return super().ReadResource(request)
        finally:
            self.planner.local.step = None


def plan_stack(
    stack: str,
    old_stack: dict[str, Any] | None,
    raw_config: dict[str, Any],
    references: dict[str, tuple[dict, list[str]]],
) -> tuple[StackPlan, engine.PreviewResult]:
    """One stack's plan: its program (this tree's code, `raw_config`) previewed against its deployed state."""
    from ..engine.workspace import entry_point

    planner = Planner(stack, (old_stack or {}).get("resources", []))
    monitor = _DiffMonitor(_DiffMocks(planner, references, stack))
    try:
        result = engine.run_program(stack, raw_config, entry_point(True), preview=True, stack_outputs=references, monitor=monitor)
    except Exception as error:
        _unwrap_config_error(error)
        raise
    return StackPlan(stack, sorted(planner.finish(), key=_order)), result


def _unwrap_config_error(error: BaseException) -> None:
    import pulumi

    from stacks.config import ConfigValidationError

    if isinstance(error, pulumi.RunError) and isinstance(error.__context__, ConfigValidationError):
        raise error.__context__ from None


def _order(step: Step) -> tuple:
    return (OPS.index(step.op), step.type, step.name)


def plan(
    stacks: list[str],
    base: dict[str, Any],
    config: Callable[[str], dict[str, Any] | None],
    on_start: Callable[[str, int, int], None] | None = None,
) -> list[StackPlan]:
    """Plans for `stacks` and the stacks they read from, in deploy order (`config(stack)` is None for a
    stack the working tree no longer has: everything of it is deleted)."""

    from ..engine import fakes
    from ..engine.workspace import deploy_order
    from .snapshot import deployed_registries

    present = [s for s in stacks if config(s) is not None]
    order = deploy_order(present, reader=lambda s: config(s) or {}) if present else []
    order += [s for s in stacks if s not in order]
    # The estate is deployed: its registries hold the images its stack files name (the application's CI
    # pushes an image before a change names it), so a workload is not held at zero for want of one.
    saved = fakes.REGISTRY_TAGS
    fakes.REGISTRY_TAGS = {**saved, **deployed_registries({s: config(s) or {} for s in present})}
    try:
        return _plan_in_order(stacks, order, base, config, on_start)
    finally:
        fakes.REGISTRY_TAGS = saved


def _plan_in_order(
    stacks: list[str],
    order: list[str],
    base: dict[str, Any],
    config: Callable[[str], dict[str, Any] | None],
    on_start: Callable[[str, int, int], None] | None,
) -> list[StackPlan]:
    from stacks.config import load

    from ..engine.workspace import exported_for_reference

    references: dict[str, tuple[dict, list[str]]] = {}
    plans = []
    for number, stack in enumerate(order, start=1):
        if on_start is not None:
            on_start(stack, number, len(order))
        raw = config(stack)
        old_stack = base.get("stacks", {}).get(stack)
        if raw is None:
            planner = Planner(stack, (old_stack or {}).get("resources", []))
            plans.append(StackPlan(stack, sorted(planner.finish(), key=_order)))
            continue
        load(stack, raw, peer_loader=lambda s: config(s) or {})
        stack_plan, result = plan_stack(stack, old_stack, raw, references)
        references[stack] = exported_for_reference(result)
        if stack in stacks:
            plans.append(stack_plan)
    return plans


# ---------------------------------------------------------------------------------------------------
# Output

SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "read": ">", "same": " "}


def _brief(value: Any, limit: int = 40) -> str:
    shown = display(value)
    text = "(absent)" if value is MISSING else (shown if isinstance(shown, str) else json.dumps(shown, separators=(",", ":")))
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def text(plans: list[StackPlan], width: int | None = None) -> str:
    """The classified plan for people: one line per changed resource, its changed inputs under it, then refusals."""

    def fit(line: str) -> str:
        return line if width is None or len(line) <= width else line[: max(width - 3, 0)] + "..."

    lines: list[str] = []
    for stack_plan in plans:
        counts = stack_plan.counts()
        summary = ", ".join(f"{counts[op]} to {op}" for op in ("create", "update", "replace", "delete") if counts[op])
        lines.append(f"Stack {stack_plan.stack}: {summary or 'no changes'}")
        for step in stack_plan.changed():
            how = ""
            if step.op == "replace":
                how = " (delete first)" if step.delete_before_replace else " (create first)"
            flags = " [protect]" if step.protect else ""
            lines.append(fit(f"  {SYMBOLS[step.op]:>2} {step.op}{how}  {step.type}  {step.name}{flags}"))
            for reason in step.reasons:
                lines.append(fit(f"       because {reason}"))
            for change in step.changes[:8]:
                mark = "!" if change.replaces or change.refused else " "
                lines.append(fit(f"     {mark} {change.path}: {_brief(change.old)} -> {_brief(change.new)}"))
            if len(step.changes) > 8:
                lines.append(f"       ... {len(step.changes) - 8} more")
            for note in step.notes:
                if note != "new":
                    lines.append(fit(f"       note: {note}"))
        problems = stack_plan.problems()
        if problems:
            lines.append(f"  Refused ({len(problems)}):")
            for _step, problem in problems:
                lines.append(f"    x {problem}")
        lines.append("")
    total = sum(len(p.problems()) for p in plans)
    lines.append(f"{sum(len(p.changed()) for p in plans)} change(s) in {len(plans)} stack(s); {total} refused")
    return "\n".join(lines)


def markdown(plans: list[StackPlan], base_ref: str) -> str:
    """The plan for a pull request's job summary."""
    lines = [f"## What this change does (offline diff against `{base_ref}`)", ""]
    unchanged = [p.stack for p in plans if not p.changed() and not p.problems()]
    if unchanged:
        lines += [f"No changes: {', '.join(unchanged)}", ""]
    for stack_plan in plans:
        changed = stack_plan.changed()
        if not changed and not stack_plan.problems():
            continue
        counts = stack_plan.counts()
        summary = ", ".join(f"{counts[op]} to {op}" for op in ("create", "update", "replace", "delete") if counts[op])
        lines.append(f"### {stack_plan.stack}: {summary or 'no changes'}")
        if changed:
            lines += ["", "| | resource | type | why / changed inputs |", "| --- | --- | --- | --- |"]
            for step in changed:
                op = step.op + (" (delete first)" if step.op == "replace" and step.delete_before_replace else "")
                detail = "; ".join(step.reasons) or ", ".join(c.path for c in step.changes[:6])
                lines.append(f"| **{op}** | `{step.name}` | `{step.type}` | {detail.replace('|', '/')} |")
        for _step, problem in stack_plan.problems():
            lines.append(f"- :x: {problem}")
        lines.append("")
    return "\n".join(lines)


def to_json(plans: list[StackPlan], base_ref: str) -> dict[str, Any]:
    return {
        "base": base_ref,
        "stacks": [
            {
                "stack": p.stack,
                "summary": {op: n for op, n in p.counts().items() if n},
                "steps": [s.to_json() for s in p.changed()],
                "problems": [problem for _step, problem in p.problems()],
            }
            for p in plans
        ],
        "refused": sum(len(p.problems()) for p in plans),
    }
