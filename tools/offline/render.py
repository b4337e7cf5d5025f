"""Prints a previewed stack: a tree for people, or JSON shaped like `pulumi preview --json`."""
from __future__ import annotations

import json
from typing import Any

from .engine import PreviewResult, RegisteredResource, map_markers

_HIDDEN_KEYS = {"tags", "tagsAll", "labels", "resourceLabels", "userLabels", "__defaults"}
_MAX_KEYS = 6
_MAX_TEXT = 48


def to_json_value(value: Any) -> Any:
    return map_markers(value, secret=lambda _inner: "[secret]", unknown=lambda: "[unknown]")


def preview_json(result: PreviewResult) -> dict[str, Any]:
    steps = [
        {
            "op": r.op,
            "urn": r.urn,
            "newState": {
                "type": r.type,
                "urn": r.urn,
                "custom": r.custom,
                "parent": r.parent,
                "protect": r.protect,
                "dependencies": r.dependencies,
                "inputs": to_json_value({k: v for k, v in r.inputs.items() if k != "__defaults"}),
                "outputs": to_json_value({k: v for k, v in r.outputs.items() if k != "__defaults"}),
            },
        }
        for r in result.resources
    ]
    summary: dict[str, int] = {}
    for step in steps:
        summary[step["op"]] = summary.get(step["op"], 0) + 1
    return {"stack": result.stack, "steps": steps, "outputs": to_json_value(result.outputs), "changeSummary": summary}


def _brief(value: Any) -> str:
    value = to_json_value(value)
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def key_inputs(resource: RegisteredResource) -> str:
    shown = []
    for key, value in resource.inputs.items():
        if key in _HIDDEN_KEYS or value in (None, [], {}):
            continue
        shown.append(f"{key}={_brief(value)}")
        if len(shown) == _MAX_KEYS:
            break
    return "  ".join(shown)


def tree(result: PreviewResult) -> str:
    # Registration order depends on the async runtime; sort so the same program prints the same tree.
    ordered = sorted(result.resources, key=lambda r: (r.custom, r.type, r.name))
    children: dict[str, list[RegisteredResource]] = {}
    for r in ordered:
        children.setdefault(r.parent, []).append(r)
    known = {r.urn for r in result.resources}
    roots = [r for r in ordered if r.parent not in known]
    lines = [f"Stack {result.stack}: {len(result.resources)} resources"]

    def walk(resource: RegisteredResource, prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        flags = " [protect]" if resource.protect else ""
        flags += " (read)" if resource.op == "read" else ""
        details = key_inputs(resource) if resource.custom else ""
        lines.append(f"{prefix}{branch}{resource.type}  {resource.name}{flags}" + (f"  {details}" if details else ""))
        kids = children.get(resource.urn, [])
        for i, child in enumerate(kids):
            walk(child, prefix + ("   " if last else "│  "), i == len(kids) - 1)

    for i, root in enumerate(roots):
        walk(root, "", i == len(roots) - 1)
    if result.outputs:
        lines.append("Outputs:")
        for name, value in sorted(result.outputs.items()):
            lines.append(f"  {name}: {_brief(value)}")
    lines.append("Resources by type:")
    for type_, count in result.count_by_type().items():
        lines.append(f"  {count:4d}  {type_}")
    return "\n".join(lines)
