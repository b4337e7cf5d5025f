"""Which Terraform resource type each Pulumi type token stands for, and the shape of its list fields.

The AWS, Google Cloud and Cloudflare providers are bridged from their Terraform providers, so a
Pulumi resource is a Terraform resource under another name: `aws:rds/instance:Instance` is
`aws_db_instance`. The table lives in `data/terraform_types.json`; where its entries come from is
written in the file itself (`sources`). Regenerate the Google Cloud and Cloudflare entries from the
providers' `bridge-metadata.json` (provider/cmd/pulumi-resource-<name>/ in pulumi/pulumi-gcp and
pulumi/pulumi-cloudflare) with

    python -m tools.reports.terraform_types --gcp gcp-bridge-metadata.json --cloudflare cloudflare-bridge-metadata.json

which keeps the entries for every type the shipped stacks create and the types already listed.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "terraform_types.json"
# Providers whose resources have no Terraform counterpart Checkov reads: the cluster's own
# objects, generated values, and the engine's own resources.
SKIPPED_PACKAGES = ("kubernetes", "random", "pulumi")
PROVIDER_NAMES = {
    "aws": "registry.terraform.io/hashicorp/aws",
    "gcp": "registry.terraform.io/hashicorp/google",
    "cloudflare": "registry.terraform.io/cloudflare/cloudflare",
}
_SDK_MODULES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "cloudflare": "pulumi_cloudflare"}


class UnmappedType(LookupError):
    pass


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def package(token: str) -> str:
    return token.split(":", 1)[0]


def skipped(token: str) -> bool:
    return package(token) in SKIPPED_PACKAGES


@cache
def _sdk_aliases(token: str) -> tuple[str, ...]:
    """Type aliases the provider SDK declares for a resource (a renamed token keeps its old one); read once per token,
    as reading a class's source parses its whole module."""
    cls = resource_class(token)
    if cls is None:
        return ()
    import inspect

    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return ()
    return tuple(re.findall(r'Alias\(type_="([^"]+)"\)', source))


def entry(token: str) -> dict[str, Any]:
    """The table's entry for a token, following the SDK's type aliases for renamed resources."""
    resources = table()["resources"]
    if token in resources:
        return resources[token]
    for alias in _sdk_aliases(token):
        if alias in resources:
            return resources[alias]
    raise UnmappedType(f"no Terraform type is known for '{token}' (add it to {DATA.name})")


def terraform_type(token: str) -> str:
    return entry(token)["type"]


@cache
def _registered_classes(package_name: str) -> dict[str, tuple[str, str]]:
    """token -> (module, class) from the SDK's own registration table (its package __init__)."""
    import importlib.util

    module_name = _SDK_MODULES.get(package_name)
    if module_name is None:
        return {}
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return {}
    text = Path(spec.origin).read_text()
    found = re.search(r'resource_modules="""(.*?)"""', text, re.S)
    if not found:
        return {}
    classes = {}
    for module in json.loads(found.group(1)):
        for tok, name in module["classes"].items():
            classes[tok] = (module["fqn"], name)
    return classes


def resource_class(token: str) -> type | None:
    import importlib

    located = _registered_classes(package(token)).get(token)
    if located is None:
        return None
    return getattr(importlib.import_module(located[0]), located[1], None)


@functools.cache  # reading the SDK class's source is slow, and it does not change within a process
def args_class(token: str) -> type | None:
    cls = resource_class(token)
    if cls is None:
        return None
    import inspect
    import sys as _sys

    module = _sys.modules[cls.__module__]
    # The SDK names it <Class>Args, or <Class>InitArgs where a nested input type took that name: the class's
    # __init__ says which. Searched in the module's text from the class on; inspect.getsource, which tokenizes the
    # whole class (seconds over a stack's types), only where the module's file does not show the class.
    source = Path(module.__file__).read_text(encoding="utf-8") if module.__file__ else ""
    start = re.search(rf"^class {cls.__name__}\(", source, re.MULTILINE)
    if start is None:
        source, start = inspect.getsource(cls), None
    found = re.compile(r"get_resource_args_opts\((\w+),").search(source, start.end() if start else 0)
    return getattr(module, found.group(1) if found else f"{cls.__name__}Args", None)


def _metadata_entries(path: Path, tokens: Iterable[str]) -> dict[str, Any]:
    data = json.loads(path.read_text())
    by_token = {v["current"]: (tf, v) for tf, v in data["auto-aliasing"]["resources"].items()}
    out = {}
    for token in sorted(set(tokens)):
        if token in by_token:
            tf, value = by_token[token]
            out[token] = {"type": tf, "fields": value.get("fields", {})}
    return out


def _shipped_tokens() -> set[str]:
    from ..engine.workspace import preview_stacks, stack_names

    return {r.type for run in preview_stacks(stack_names()) for r in run.result.resources if r.custom and not skipped(r.type)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reports.terraform_types", description=__doc__.splitlines()[0])
    parser.add_argument("--gcp", type=Path, help="pulumi-gcp's provider/cmd/pulumi-resource-gcp/bridge-metadata.json")
    parser.add_argument("--cloudflare", type=Path, help="pulumi-cloudflare's provider/cmd/pulumi-resource-cloudflare/bridge-metadata.json")
    args = parser.parse_args(argv)
    current = json.loads(DATA.read_text())
    wanted = _shipped_tokens() | set(current["resources"])
    for name, path in (("gcp", args.gcp), ("cloudflare", args.cloudflare)):
        if path is None:
            continue
        found = _metadata_entries(path, (t for t in wanted if package(t) == name))
        current["resources"].update(found)
        print(f"{name}: {len(found)} types from {path}", file=sys.stderr)
    current["resources"] = dict(sorted(current["resources"].items()))
    DATA.write_text(json.dumps(current, indent=1, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
