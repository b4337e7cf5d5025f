"""Checks registered inputs against the installed provider SDKs' input types.

Nested inputs are plain dicts in this code base, and Python accepts any key in a dict: a typo such
as `"backup_configration"` would reach the engine unnoticed under mocks and fail only at a real
`pulumi up`. Walking each registered input against the SDK's `*Args` classes (their property
names are the engine's camelCase names) catches it offline.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from tools.engine.engine import reveal

_PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "cloudflare": "pulumi_cloudflare", "random": "pulumi_random"}
_NESTED = re.compile(r"ForwardRef\('(\w+Args)'\)")


def _args_class(token: str) -> tuple[type | None, Any]:
    package, module_path, name = token.split(":")
    if package not in _PACKAGES:
        return None, None
    first = module_path.split("/")[0]
    module = importlib.import_module(_PACKAGES[package] if first == "index" else f"{_PACKAGES[package]}.{first}")
    for candidate in (f"{name}InitArgs", f"{name}Args"):
        if hasattr(module, candidate):
            return getattr(module, candidate), module
    raise AssertionError(f"no input type for {token}")


def _properties(cls: type) -> dict[str, tuple[bool, str | None]]:
    """camelCase name -> (is a free-form map, nested input type name)."""
    found = {}
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if isinstance(value, property) and hasattr(value.fget, "_pulumi_name"):
                annotation = str(value.fget.__annotations__.get("return", ""))
                nested = _NESTED.findall(annotation)
                found[value.fget._pulumi_name] = ("Mapping[" in annotation and not nested, nested[0] if nested else None)
    return found


def _maps_of_nested(cls: type) -> set[str]:
    """Inputs typed Mapping[str, <nested Args>]: their keys are names, their values nested inputs."""
    found = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if isinstance(value, property) and hasattr(value.fget, "_pulumi_name"):
                annotation = str(value.fget.__annotations__.get("return", ""))
                if re.search(r"Mapping\[str, [^\]]*ForwardRef\('\w+Args'\)", annotation):
                    found.add(value.fget._pulumi_name)
    return found


def input_problems(token: str, inputs: dict) -> list[str]:
    cls, module = _args_class(token)
    if cls is None:
        return []
    problems: list[str] = []
    maps_of_nested: dict = {}

    def walk(klass: type, value: Any, path: str) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                walk(klass, item, f"{path}[{i}]")
            return
        if not isinstance(value, dict):
            return
        props = _properties(klass)
        maps_of_nested.update({(klass, name): True for name in _maps_of_nested(klass)})
        for key, item in value.items():
            if key == "__defaults":
                continue
            if key not in props:
                problems.append(f"{token} {path}{key}: not an input of {klass.__name__}")
                continue
            is_map, nested = props[key]
            if nested and maps_of_nested.get((klass, key)) and isinstance(item, dict):
                for entry, entry_value in item.items():  # a map of nested inputs (a ruleset's headers by name)
                    walk(getattr(module, nested), entry_value, f"{path}{key}.{entry}.")
            elif nested and not is_map:
                walk(getattr(module, nested), item, f"{path}{key}.")

    walk(cls, reveal(inputs), "")
    return problems
