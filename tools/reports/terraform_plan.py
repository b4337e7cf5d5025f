"""A stack's offline preview as Terraform plan JSON (`terraform show -json` of a plan), for scanners
that read Terraform plans, such as Checkov (`checkov -f plan.json --framework terraform_plan`).

    python -m tools tfplan <stack> [-o FILE]
    python -m tools tfplan --all -o DIRECTORY      # one <stack>.tfplan.json per stack

How a registered resource becomes a Terraform resource:
- its type token maps to the Terraform type the bridged provider wraps (terraform_types.py);
  Kubernetes, random and engine-internal resources have no counterpart and are left out (listed
  under `skipped` in the document's `pulumi` section and counted on stderr);
- camelCase inputs become the provider's snake_case attributes, with the provider's own names where
  they differ (pluralised list fields: `defaultActions` is `default_action`);
- the SDK's input types decide the shape: a nested `...Args` class is a Terraform block, written
  as a list of objects; a `Mapping` input (tags, labels) stays a map;
- a value known only after deploy is left out of `values`, marked in `after_unknown`, and, when it
  comes from another exported resource, written as a reference to it in `configuration` (what
  Terraform writes for `kms_key_id = aws_kms_key.main.arn`);
- a secret never appears: it is left out of `values` and marked in `sensitive_values`.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..engine.engine import PreviewResult, RegisteredResource, Secret, _Unknown
from . import terraform_types

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"  # the plan format Checkov parses; no Terraform runs
FRAMEWORK_PROVIDERS = {"cloudflare"}
# What a StackReference reads for an output the referenced stack's preview could not know yet
# (tools/engine/workspace.py): unknown here too, not a string.
CROSS_STACK_UNKNOWN = "[unknown]"  # Terraform provider v5+ is written on the plugin framework


@dataclass
class Shape:
    """What the SDK says an input is: a block (nested Args), a list of blocks, a map, or a plain value."""

    kind: str  # "block", "blocks", "map", "value"
    args: type | None = None


@dataclass
class Exported:
    plan: dict[str, Any]
    resources: int
    skipped: Counter = field(default_factory=Counter)


_ANNOTATION = re.compile(r"typing\.(Sequence|Mapping)\[|ForwardRef\('(\w+Args)'\)")


def _shape_of(annotation: str, module) -> Shape:
    found = _ANNOTATION.findall(annotation)
    if not found:
        return Shape("value")
    container, args_name = found[0]
    if container == "Mapping":
        return Shape("map")
    if container == "Sequence":
        if len(found) > 1 and found[1][1]:
            return Shape("blocks", getattr(module, found[1][1], None))
        return Shape("value")
    return Shape("block", getattr(module, args_name, None))


@cache
def input_shapes(args_cls: type | None) -> dict[str, Shape]:
    """Pulumi input name (camelCase) -> Shape, read from an SDK `...Args` class's typed getters."""
    if args_cls is None:
        return {}
    import sys

    module = sys.modules[args_cls.__module__]
    shapes = {}
    for attr, value in vars(args_cls).items():
        if not isinstance(value, property) or value.fget is None:
            continue
        name = getattr(value.fget, "_pulumi_name", attr)
        annotation = str(inspect.get_annotations(value.fget).get("return", ""))
        shapes[name] = _shape_of(annotation, module)
    return shapes


def _nested(spec: Any) -> tuple[dict[str, Any], bool]:
    """(the fields of a list field's elements, whether it is a nested object rather than a block).

    In the metadata a block (a Terraform list of objects, flattened or not) carries `maxItemsOne`;
    a nested attribute of a framework provider (Cloudflare's) carries only its `fields`: an object.
    """
    if not isinstance(spec, dict):
        return {}, False
    if "fields" in spec and "maxItemsOne" not in spec:
        return spec["fields"], True
    return spec.get("elem", {}).get("fields", {}), False


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def attribute_name(key: str, fields: dict[str, Any]) -> str:
    """The Terraform attribute for a Pulumi input: the provider's list-field name when the Pulumi one
    is its plural or differs only in underscores (`layer7DdosDefenseConfig` is `layer_7_ddos_defense_config`)."""
    plain = snake(key)
    if plain in fields or not fields:
        return plain
    wanted = _norm(key)
    for tf_name in fields:
        if _norm(tf_name) == wanted:
            return tf_name
    for tf_name in fields:
        base = _norm(tf_name)
        if wanted in (base + "s", base + "es", base[:-1] + "ies"):
            return tf_name
    return plain


class _Converter:
    def __init__(self, reference: list[str] | None, objects: bool = False):
        self.reference = reference  # Terraform addresses the unknown values of this input come from
        # Providers built on the Terraform plugin framework (Cloudflare's) have nested attributes,
        # not blocks: a single nested input is an object there.
        self.objects = objects

    def convert(self, value: Any, shape: Shape, fields: dict[str, Any], as_object: bool = False):
        """-> (value for `values` or None when unknown/secret, after_unknown, sensitive, expression)"""
        if isinstance(value, Secret):
            _inner, unknown, _sens, expr = self.convert(value.value, shape, fields, as_object)
            return None, unknown if unknown is True else False, True, expr
        if isinstance(value, _Unknown) or value == CROSS_STACK_UNKNOWN:
            return None, True, False, ({"references": list(self.reference)} if self.reference else None)
        if shape.kind == "block" and (as_object or self.objects) and isinstance(value, dict):
            return self.block(value, shape.args, fields)
        if shape.kind in ("block", "blocks") and isinstance(value, (dict, list)):
            items = value if isinstance(value, list) else [value]
            converted = [
                self.block(item, shape.args, fields) if isinstance(item, dict) else self.convert(item, Shape("value"), {}) for item in items
            ]
            values = [c[0] for c in converted]
            unknown = [c[1] for c in converted]
            sensitive = [c[2] for c in converted]
            exprs = [c[3] or {} for c in converted]
            return values, unknown if any(unknown) else False, sensitive if any(sensitive) else False, exprs if any(exprs) else None
        if isinstance(value, dict):  # a map: keys are data, not attribute names
            out, unknown, sensitive = {}, {}, {}
            for k, v in value.items():
                val, unk, sens, _expr = self.convert(v, Shape("value"), {})
                if unk is not True and not sens:
                    out[k] = val
                if unk:
                    unknown[k] = unk
                if sens:
                    sensitive[k] = sens
            return out, unknown or False, sensitive or False, None
        if isinstance(value, list):
            out, unknown, sensitive = [], [], []
            for v in value:
                val, unk, sens, _expr = self.convert(v, Shape("value"), {})
                out.append(None if sens else val)
                unknown.append(unk)
                sensitive.append(sens)
            expr = {"references": list(self.reference)} if self.reference and any(u is True for u in unknown) else None
            return out, unknown if any(unknown) else False, sensitive if any(sensitive) else False, expr
        return value, False, False, None

    def block(self, inputs: dict[str, Any], args_cls: type | None, fields: dict[str, Any]):
        shapes = input_shapes(args_cls)
        values, unknown, sensitive, exprs = {}, {}, {}, {}
        for key, raw in inputs.items():
            if key == "__defaults":
                continue
            name = attribute_name(key, fields)
            nested, as_object = _nested(fields.get(name))
            val, unk, sens, expr = self.convert(raw, shapes.get(key, Shape("value")), nested, as_object)
            if unk is not True and sens is not True:
                values[name] = val
            if unk:
                unknown[name] = unk
            if sens:
                sensitive[name] = sens
            if expr:
                exprs[name] = expr
        return values, unknown or False, sensitive or False, exprs or None


def _address_names(resources: list[tuple[RegisteredResource, str]]) -> dict[str, str]:
    """urn -> Terraform resource name: the Pulumi name made an identifier, unique within its type."""
    taken: set[tuple[str, str]] = set()
    names = {}
    for r, tf_type in sorted(resources, key=lambda item: item[0].urn):
        base = re.sub(r"[^A-Za-z0-9_-]", "_", r.name)
        if not re.match(r"[A-Za-z_]", base):
            base = f"r_{base}"
        name, n = base, 2
        while (tf_type, name) in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add((tf_type, name))
        names[r.urn] = name
    return names


def export(result: PreviewResult) -> Exported:
    """A previewed stack as a Terraform plan document."""
    mapped: list[tuple[RegisteredResource, str]] = []
    skipped: Counter = Counter()
    for r in result.resources:
        if not r.custom or r.op == "read":
            continue
        if terraform_types.skipped(r.type):
            skipped[r.type] += 1
            continue
        mapped.append((r, terraform_types.terraform_type(r.type)))
    names = _address_names(mapped)
    address = {r.urn: f"{tf_type}.{names[r.urn]}" for r, tf_type in mapped}
    planned, changes, configured = [], [], []
    for r, tf_type in mapped:
        entry = terraform_types.entry(r.type)
        fields = entry.get("fields", {})
        shapes = input_shapes(terraform_types.args_class(r.type))
        values, unknown, sensitive, exprs = {}, {}, {}, {}
        for key, raw in r.inputs.items():
            if key == "__defaults":
                continue
            refs = [address[urn] for urn in r.property_dependencies.get(key, []) if urn in address]
            name = attribute_name(key, fields)
            nested, as_object = _nested(fields.get(name))
            val, unk, sens, expr = _Converter(refs, terraform_types.package(r.type) in FRAMEWORK_PROVIDERS).convert(
                raw, shapes.get(key, Shape("value")), nested, as_object
            )
            if unk is not True and sens is not True:
                values[name] = val
            if unk:
                unknown[name] = unk
            if sens:
                sensitive[name] = sens
            if expr:
                exprs[name] = expr
            elif refs and unk:
                exprs[name] = {"references": refs}
        provider = terraform_types.PROVIDER_NAMES[terraform_types.package(r.type)]
        addr, name = address[r.urn], names[r.urn]
        planned.append(
            {
                "address": addr,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": provider,
                "schema_version": 0,
                "values": values,
                "sensitive_values": sensitive,
            }
        )
        changes.append(
            {
                "address": addr,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": provider,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": unknown,
                    "before_sensitive": False,
                    "after_sensitive": sensitive,
                },
            }
        )
        depends = sorted({address[u] for u in r.dependencies if u in address and u != r.urn})
        configured.append(
            {
                "address": addr,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_config_key": terraform_types.package(r.type),
                "expressions": exprs,
                "schema_version": 0,
                **({"depends_on": depends} if depends else {}),
            }
        )
    plan = {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                p: {"name": p if p != "gcp" else "google", "full_name": terraform_types.PROVIDER_NAMES[p]}
                for p in sorted({terraform_types.package(r.type) for r, _ in mapped})
            },
            "root_module": {"resources": configured},
        },
        "pulumi": {"stack": result.stack, "skipped": dict(sorted(skipped.items())), "urns": {address[r.urn]: r.urn for r, _ in mapped}},
    }
    return Exported(plan, len(mapped), skipped)
