"""`python -m stacks.offline.config_doc`: every `crm:*` setting the config layer reads, per kind of stack.

The list is recorded from the parsers themselves (stacks/config/): each kind of stack is parsed
once per environment with nothing set, and every key a parser reads is noted with the default it
falls back to. `docs/configuration.md` carries the output; tests/docs/test_configuration.py fails
when a key is missing from it.
"""
from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from stacks import config as config_layer
from stacks.config import cost, model
from stacks.config.reader import Problems, Section, _MISSING

KINDS = ("aws", "gcp", "cloudflare", "bootstrap")
ENVIRONMENTS = ("dev", "staging", "production", "dr")
# Settings outside the `crm` namespace that each program reads.
PROVIDER_KEYS = {
    "aws": ("aws:region",),
    "gcp": ("gcp:project", "gcp:region"),
    "cloudflare": ("cloudflare:apiToken",),
    "bootstrap": ("aws:region", "gcp:project", "gcp:region"),
}
# Top-level keys read without a Section, with their defaults.
_PLAIN = {
    "crm:cloud": "(required)",
    "crm:environment": "(required)",
    "crm:project": "crm",
    "crm:organization": "organization",
    "crm:publicHost": "(required)",
    "crm:deployProjects": "[gcp:project]",
}
# Sections a parser reads only when they are present in the stack file.
_OPTIONAL_SECTIONS = ("crm:interconnect", "crm:budget")
# Stands for crm:publicHost while recording; defaults derived from it print as <publicHost>.
_HOST = "publichost.invalid"


def _format(value: Any) -> str:
    if value is _MISSING:
        return "(required)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, ipaddress.IPv4Network):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        if len(value) > 4:
            return f"{len(value)} entries"
        return "[" + ", ".join(_format(v) for v in value) + "]" if value else "[]"
    if value == "":
        return '""'
    return str(value).replace(_HOST, "<publicHost>")


def record(kind: str, environment: str) -> dict[str, str]:
    """Key -> default for one kind of stack in one environment, as the parser reads them."""
    seen: dict[str, str] = {}
    original = Section._get

    def spy(self: Section, name: str, default: Any) -> Any:
        seen.setdefault(f"{self.key}.{name}", _format(default))
        return original(self, name, default)

    raw: dict[str, Any] = {"crm:cloud": kind, "crm:environment": environment, "crm:publicHost": _HOST,
                           "aws:region": "ap-northeast-2", "gcp:project": "crm-doc-project", "gcp:region": "asia-northeast3"}
    raw.update({section: {} for section in _OPTIONAL_SECTIONS})
    Section._get = spy  # type: ignore[method-assign]
    try:
        problems = Problems()
        stack_config = config_layer._parse(problems, f"{kind}-{environment}", raw)
        common = stack_config.common if stack_config is not None else model.Common(
            stack=f"{kind}-{environment}", cloud=kind, environment=environment, project="crm", organization="organization", public_host=_HOST)
        cost.parse(problems, common, raw)
    finally:
        Section._get = original  # type: ignore[method-assign]
    plain = {f"crm:{key}": _PLAIN.get(f"crm:{key}", "") for key in config_layer.KNOWN_KEYS[kind] if f"crm:{key}" in _PLAIN}
    return {**plain, **seen}


def keys_by_kind() -> dict[str, dict[str, dict[str, str]]]:
    """kind -> key -> environment -> default."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    for kind in KINDS:
        table: dict[str, dict[str, str]] = {}
        for environment in ENVIRONMENTS:
            for key, default in record(kind, environment).items():
                table.setdefault(key, {})[environment] = default
        result[kind] = table
    return result


def _default_cell(per_env: dict[str, str]) -> str:
    values = set(per_env.values())
    def cell(value: str) -> str:
        return value if value == "(required)" else f"`{value}`"

    if len(values) == 1:
        return cell(values.pop())
    return "; ".join(f"{env}: {cell(value)}" for env, value in per_env.items())


def markdown(kind: str) -> str:
    table = keys_by_kind()[kind]
    lines = ["| key | default |", "| --- | --- |"]
    for key in PROVIDER_KEYS[kind]:
        lines.append(f"| `{key}` | (required) |" if key != "cloudflare:apiToken" else f"| `{key}` | (secret; or CLOUDFLARE_API_TOKEN) |")
    for key, per_env in table.items():
        lines.append(f"| `{key}` | {_default_cell(per_env).replace('|', '/')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.offline.config_doc", description=__doc__.splitlines()[0])
    parser.add_argument("kind", nargs="?", choices=KINDS, help="one kind of stack (default: all, each under a heading)")
    args = parser.parse_args(argv)
    for kind in ([args.kind] if args.kind else KINDS):
        if not args.kind:
            print(f"### {kind}\n")
        print(markdown(kind))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
