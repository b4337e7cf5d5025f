"""`python -m tools.reports.config_doc`: every setting of each kind of stack, generated from the schema.

Each setting is declared once, with `setting(...)` on the section model that carries it
(stacks/config/model.py); the sections each kind of stack reads are
`stacks.config.SECTIONS`. The defaults shown are the ones the schema applies: each environment's
section is read with nothing set. `docs/configuration.md` carries the output (`python -m tools.docs
config` writes it there); tests/docs/test_configuration.py fails when it no longer matches.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Iterator
from typing import Any

from stacks import config as config_layer
from stacks.config import model, schema
from stacks.config.reader import Problems
from stacks.config.sizes import ENVIRONMENTS

KINDS = ("aws", "gcp", "cloudflare", "bootstrap")
TITLES = {
    "aws": "AWS stacks (`crm:cloud: aws`)",
    "gcp": "GCP stacks (`crm:cloud: gcp`)",
    "cloudflare": "Global stack (`crm:cloud: cloudflare`)",
    "bootstrap": "Bootstrap stack (`crm:cloud: bootstrap`)",
}
# Stands for crm:publicHost while reading the defaults; defaults derived from it print as <publicHost>.
_HOST = "publichost.invalid"


def _format(value: Any) -> str:
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


def _limits(spec: schema.Setting) -> str:
    if spec.choices is not None:
        return ", ".join(f"`{c}`" for c in spec.choices)
    if spec.ge is not None and spec.le is not None:
        return f"{spec.ge:g}-{spec.le:g}"
    if spec.ge is not None:
        return f">= {spec.ge:g}"
    if spec.le is not None:
        return f"<= {spec.le:g}"
    return ""


def _defaults(cls: type, kind: str, environment: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Attribute -> the value the schema applies when the stack file sets nothing."""
    common = model.Common(
        stack=f"{kind}-{environment}", cloud=kind, environment=environment, project="crm", organization="organization", public_host=_HOST
    )
    parsed = schema.read(Problems(), "doc", {}, cls, schema.Context(common, extra=extra), cloud=kind)
    return dict(parsed._values)


def _rows(kind: str, prefix: str, cls: type, extra: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    per_env = {env: _defaults(cls, kind, env, extra) for env in ENVIRONMENTS}
    for field, spec in schema.settings_of(cls):
        if spec.clouds is not None and kind not in spec.clouds:
            continue
        key = f"{prefix}{spec.key}"
        nested = schema._nested(cls, field.name)
        if nested is not None:
            yield from _rows(kind, f"{key}.", nested, extra)
            continue
        if spec.required:
            default = "(required)"
        elif all(field.name in values for values in per_env.values()):
            default = _cell({env: _format(_raw_default(spec, values[field.name])) for env, values in per_env.items()})
        else:
            default = spec.derive_doc or "(derived)"
        yield key, default, _limits(spec), spec.description


def _raw_default(spec: schema.Setting, value: Any) -> Any:
    if spec.convert is not None and spec.value_type is not None:
        return spec.default  # shown as written in the file (insideCidrBlock), not as converted
    return value


def _setting(cls: type, name: str) -> schema.Setting:
    spec = schema.setting_of(cls.model_fields[name])
    assert spec is not None, f"{cls.__name__}.{name} is not a setting"
    return spec


def _cell(per_env: dict[str, str]) -> str:
    if len(set(per_env.values())) == 1:
        return f"`{next(iter(per_env.values()))}`"
    return "; ".join(f"{env}: `{value}`" for env, value in per_env.items())


def rows(kind: str) -> list[tuple[str, str, str, str]]:
    """(key, default, allowed values, meaning) of every setting a kind of stack reads."""
    table = []
    for key, spec in config_layer.PROVIDER_SETTINGS.items():
        if spec.clouds is None or kind in spec.clouds:
            default = "(secret; or CLOUDFLARE_API_TOKEN)" if key == "cloudflare:apiToken" else "(required)"
            table.append((key, default, "", spec.description))
    extra = {
        "repositories": list(_setting(model.Registry, "repositories").default),
        "gcp_project": "<gcp:project>",
    }
    table.extend(_rows(kind, "crm:", model.Common, extra))
    for cls in config_layer._TOP_LEVEL.get(kind, ()):
        table.extend(_rows(kind, "crm:", cls, extra))
    for name, cls in config_layer.SECTIONS[kind].items():
        table.extend(_rows(kind, f"crm:{name}.", cls, extra))
    return table


def keys_by_kind() -> dict[str, list[str]]:
    return {kind: [key for key, *_ in rows(kind)] for kind in KINDS}


def markdown(kind: str) -> str:
    lines = ["| key | default | allowed | meaning |", "| --- | --- | --- | --- |"]
    for key, default, allowed, meaning in rows(kind):
        lines.append(f"| `{key}` | {default.replace('|', '/')} | {allowed} | {meaning.replace('|', '/')} |")
    return "\n".join(lines)


def document(kinds: tuple[str, ...] = KINDS, headings: bool = True) -> str:
    """The tables of `kinds`, each under its heading: what docs/configuration.md ends with."""
    parts = [(f"### {TITLES[kind]}\n\n" if headings else "") + markdown(kind) + "\n" for kind in kinds]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reports.config_doc", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("kind", nargs="?", choices=KINDS, help="one kind of stack (default: all, each under a heading)")
    args = parser.parse_args(argv)
    print(document((args.kind,), headings=False) if args.kind else document(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
