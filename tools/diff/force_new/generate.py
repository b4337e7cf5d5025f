"""Regenerates the force-new data in tools/diff/data/force_new/ from the providers' and controllers' sources.

    python -m tools.diff.force_new.generate \\
        --aws ~/src/terraform-provider-aws@v6.x.y --gcp ~/src/terraform-provider-google-beta@v8.x.y \\
        --cloudflare ~/src/terraform-provider-cloudflare@v5.x.y --random ~/src/terraform-provider-random@v3.x.y \\
        --kubernetes ~/src/pulumi-kubernetes@v4.x.y \\
        --load-balancer-controller ~/src/aws-load-balancer-controller@v3.5.0 \\
        --strimzi ~/src/strimzi-kafka-operator@1.2.0 --external-secrets ~/src/external-secrets@helm-chart-2.9.0 \\
        --botocore

Each source is `PATH@REVISION` for a git directory (a clone or a bare mirror; the revision is read
with `git show`, nothing is checked out) or a plain checked-out directory. Give only the sources
that changed: each one rewrites its own file. Run it after bumping a provider in pyproject.toml:
`tests/tools/diff/test_force_new.py` fails while the data's recorded versions differ from the installed
packages'. The resource types covered are those the shipped stacks create, those already in the
file, and any named with `--types` (resources a setting can add, such as the parameter group of
ElastiCache's cluster mode). `--note SOURCE=TEXT` records why the upstream revision is not the exact
one the Pulumi provider bridges, when it cannot be.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import DATA_DIR, DOCSTRING, PULUMI_PACKAGES
from .terraform import (
    ATTRIBUTE,
    BLOCK,
    WHOLE,
    Attribute,
    AwsProvider,
    FrameworkProvider,
    GoogleProvider,
    Provider,
    ResourceSchema,
    SourceTree,
)

REPOSITORIES = {
    "aws": "https://github.com/hashicorp/terraform-provider-aws",
    "gcp": "https://github.com/hashicorp/terraform-provider-google-beta",
    "cloudflare": "https://github.com/cloudflare/terraform-provider-cloudflare",
    "random": "https://github.com/hashicorp/terraform-provider-random",
    "kubernetes": "https://github.com/pulumi/pulumi-kubernetes",
    "load-balancer-controller": "https://github.com/kubernetes-sigs/aws-load-balancer-controller",
    "strimzi": "https://github.com/strimzi/strimzi-kafka-operator",
    "external-secrets": "https://github.com/external-secrets/external-secrets",
}
_SDK_MODULES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "cloudflare": "pulumi_cloudflare", "random": "pulumi_random"}
_NESTED = re.compile(r"ForwardRef\('(\w+Args)'\)")


# ---------------------------------------------------------------------------------------------------
# Terraform names -> Pulumi input names, through the installed SDK's input classes


def _args_class(token: str) -> tuple[type | None, Any]:
    package, module_path, name = token.split(":")
    root = _SDK_MODULES[package]
    first = module_path.split("/")[0]
    module = importlib.import_module(root if first == "index" else f"{root}.{first}")
    for candidate in (f"{name}InitArgs", f"{name}Args"):
        if hasattr(module, candidate):
            return getattr(module, candidate), module
    return None, module


def _properties(cls: type) -> dict[str, tuple[str, str | None]]:
    """python name -> (Pulumi name, nested input class name)"""
    found = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            getter = value.fget if isinstance(value, property) else None
            pulumi_name = getattr(getter, "_pulumi_name", None)
            if getter is not None and pulumi_name:
                annotation = str(getter.__annotations__.get("return", ""))
                nested = _NESTED.findall(annotation)
                is_map = "Mapping[" in annotation and not nested
                found.setdefault(name, (pulumi_name, None if is_map else (nested[0] if nested else None)))
    return found


# Terraform inputs the bridged SDKs leave out on purpose: tags_all is an output in Pulumi; the others
# were deprecated upstream and removed from the Pulumi SDK.
_NOT_INPUTS = {"tags_all", "resolve_conflicts", "elastic_inference_accelerator", "elastic_gpu_specifications", "vpc", "log_group_name"}
# Inputs pulumi-aws renames (provider/resources.go): the Terraform name -> the Pulumi SDK's Python name.
_RENAMES = {("aws_cloudwatch_metric_alarm", "alarm_name"): "name"}


def _candidates(tf_name: str) -> list[str]:
    """The Python names the bridge gives a Terraform name: itself, pluralised for lists, with a trailing
    underscore where it is a Python keyword, and pulumi-aws's `x_arn` -> `x` for references."""
    names = [tf_name, tf_name + "s", tf_name + "es", tf_name + "_"]
    if tf_name.endswith("y"):
        names.append(tf_name[:-1] + "ies")
    if tf_name.endswith("_arn"):
        names.append(tf_name[: -len("_arn")])
    joined = re.sub(r"_(\d)", r"\1", tf_name)  # layer_7_ddos -> layer7_ddos, as the SDK spells it
    return names + ([joined] if joined != tf_name else [])


def pulumi_paths(token: str, schema: ResourceSchema) -> tuple[dict[str, dict[str, Any]], dict[str, str], list[str]]:
    """(replace-on paths, conditional paths, Terraform inputs the SDK does not have), in Pulumi names. A
    conditional path whose condition is a decrease reads `decrease: <function>`."""
    cls, module = _args_class(token)
    replace: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    if cls is None:
        return replace, {}, [f"{token}: no input class in the SDK"]
    tf_to_pulumi: dict[str, str] = {}

    def walk(attributes: dict[str, Attribute], klass: type, tf_prefix: str, pulumi_prefix: str) -> None:
        props = _properties(klass)
        for tf_name, attribute in sorted(attributes.items()):
            if not attribute.is_input or tf_name in _NOT_INPUTS:
                continue
            names = (
                [_RENAMES[(schema.type, tf_prefix + tf_name)]] if (schema.type, tf_prefix + tf_name) in _RENAMES else _candidates(tf_name)
            )
            match = next((props[c] for c in names if c in props), None)
            if match is None:
                missing.append(tf_prefix + tf_name)
                continue
            pulumi_name, nested = match
            path = pulumi_prefix + pulumi_name
            tf_to_pulumi[tf_prefix + tf_name] = path
            if attribute.force_new:
                entry: dict[str, Any] = {"kind": attribute.force_new}
                if attribute.optional_computed:
                    entry["keptWhenRemoved"] = True
                replace[path] = entry
            if attribute.conditional:
                conditional_paths[path] = attribute.conditional
            if attribute.children and nested and hasattr(module, nested):
                walk(attribute.children, getattr(module, nested), tf_prefix + tf_name + ".", path + ".")

    conditional_paths: dict[str, str] = {}
    walk(schema.attributes, cls, "", "")
    for tf_path, reason in schema.conditional.items():
        plain = ".".join(part for part in tf_path.split(".") if not part.isdigit())
        conditional_paths[tf_to_pulumi.get(plain, plain)] = f"decrease: {reason}" if tf_path in schema.on_decrease else reason
    return replace, conditional_paths, missing


# ---------------------------------------------------------------------------------------------------
# The installed SDKs' docstrings: a second source for what forces a new resource
#
# The Pulumi SDKs are generated from the provider release they bridge, so an input's docstring that says
# "Changing this value will force a new cluster to be created" speaks for that release even when the
# Terraform source read above is older (pulumi-aws 7.x bridges 6.x; eks.Cluster's
# bootstrap_self_managed_addons forces a new cluster there and not in 5.46). Statements under a
# condition ("If ...", "When decreased ...", "Changing from A back to B ...") become conditional paths.

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*])")
_FORCES = re.compile(
    r"\bforces?\s+(?:a\s+|the\s+)?(?:new\b|recreation\b|replacement\b|re-?creat\w*)"
    r"|\bforces?\s+(?:resource\s+)?re-?creation\b"
    r"|\brequires?\s+(?:a\s+)?(?:recreating|replacing|replacement|re-?creation)\b",
    re.I,
)
_NEGATED = re.compile(r"\b(?:not|never|without|no longer)\b|n't\b", re.I)
_CONDITIONED = re.compile(
    r"^(?:if|when|whenever|unless|for)\b"
    r"|\b(?:if|unless|from|back to|other than|any other time|of type|only when|adding|deleting|removing|enabling|disabling|setting)\b"
    r"|\bwith an? `|[<>]",
    re.I,
)
_DECREASE = re.compile(r"\b(?:decreas\w*|reduc\w*|shrink\w*|smaller|downgrad\w*)\b", re.I)


def docstring_statement(doc: str) -> tuple[str, str] | None:
    """("replace" | "conditional" | "decrease", the sentence) for a docstring that says a change of its
    input forces a new resource; None when it says nothing of the kind (or says it does not)."""
    found: tuple[str, str] | None = None
    for sentence in _SENTENCE.split(" ".join(doc.split())):
        match = _FORCES.search(sentence)
        if match is None or _NEGATED.search(sentence):
            continue
        # The clause that holds the statement decides (an earlier clause often only explains, as in
        # "You can only specify an IP family when you create a cluster, changing this value will force ...").
        clause_start = max(sentence.rfind(",", 0, match.start()), sentence.rfind(";", 0, match.start())) + 1
        clause = sentence[clause_start:].strip()
        if _DECREASE.search(sentence):
            kind = "decrease"
        elif _CONDITIONED.search(clause) or _CONDITIONED.match(sentence):
            kind = "conditional"
        else:
            kind = "replace"
        if found is None or (kind == "replace" and found[0] != "replace"):
            found = (kind, sentence)
    return found


def _getter_doc(klass: type, python_name: str) -> str:
    for base in klass.__mro__:
        value = vars(base).get(python_name)
        if isinstance(value, property) and value.fget is not None:
            return value.fget.__doc__ or ""
    return ""


def sdk_docstring_paths(token: str, depth: int = 4) -> dict[str, tuple[str, str, bool]]:
    """Pulumi input path -> (kind, sentence, whether the input is an object) for every input of `token`,
    nested ones included, whose docstring in the installed SDK says a change forces a new resource."""
    cls, module = _args_class(token)
    found: dict[str, tuple[str, str, bool]] = {}

    def walk(klass: type, prefix: str, level: int) -> None:
        for python_name, (pulumi_name, nested) in sorted(_properties(klass).items()):
            path = prefix + pulumi_name
            statement = docstring_statement(_getter_doc(klass, python_name))
            if statement is not None:
                found[path] = (*statement, nested is not None)
            if nested and hasattr(module, nested) and level < depth:
                walk(getattr(module, nested), path + ".", level + 1)

    if cls is not None:
        walk(cls, "", 0)
    return found


def merge_sdk_docstrings(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its docstring-derived paths read again from the installed SDK: a path the
    Terraform source already makes force-new is left as it is; the others are added, marked
    `"from": "docstring"`, with the sentence under `docstrings`."""
    package = document["pulumiPackage"]
    added = 0
    for token, entry in document["resources"].items():
        replace_on = {p: v for p, v in entry["replaceOn"].items() if v.get("from") != "docstring"}
        conditional = {p: r for p, r in entry.get("conditional", {}).items() if DOCSTRING not in r}
        sentences: dict[str, str] = {}
        for path, (kind, sentence, is_object) in sdk_docstring_paths(token).items():
            if path in replace_on or path in conditional:
                continue
            if kind == "replace":
                replace_on[path] = {"kind": WHOLE if is_object else ATTRIBUTE, "from": "docstring"}
            else:
                conditional[path] = ("decrease: " if kind == "decrease" else "") + DOCSTRING + sentence
            sentences[path] = sentence
            added += 1
        entry["replaceOn"] = replace_on
        entry.pop("conditional", None)
        entry.pop("docstrings", None)
        if conditional:
            entry["conditional"] = conditional
        if sentences:
            entry["docstrings"] = sentences
    document["sdkDocstrings"] = {
        "package": package,
        "version": importlib.metadata.version(package),
        "paths": added,
        "note": f"inputs whose docstring in the installed {package} says a change forces a new resource where the "
        'Terraform source read does not: `"from": "docstring"` in replaceOn, `docstring: ...` in conditional, '
        "the sentence under docstrings",
    }
    return document


# ---------------------------------------------------------------------------------------------------
# Writing


def _revision(tree: SourceTree, location: str) -> dict[str, str]:
    if not tree.is_git:
        return {"revision": "(working tree)", "version": location}
    described = subprocess.run(
        ["git", "--git-dir", str(tree.root), "describe", "--tags", "--always", tree.commit], capture_output=True, text=True
    ).stdout.strip()
    return {"revision": tree.commit, "version": described or tree.revision}


def _shipped_tokens() -> set[str]:
    from ...engine.workspace import preview_stacks, stack_names

    return {r.type for run in preview_stacks(stack_names()) for r in run.result.resources if r.custom}


def terraform_file(name: str, location: str, note: str | None, tokens: set[str], overlay: Path | None = None) -> dict[str, Any]:
    from ...reports.terraform_types import entry

    tree = SourceTree(location, overlay)
    provider: Provider
    if name == "aws":
        provider = AwsProvider(tree)
    elif name == "gcp":
        provider = GoogleProvider(tree)
    elif name == "cloudflare":
        provider = FrameworkProvider(tree, "github.com/cloudflare/terraform-provider-cloudflare", "cloudflare", "internal/services")
    else:
        provider = FrameworkProvider(tree, "github.com/terraform-providers/terraform-provider-random", "random", "internal/provider")
    resources: dict[str, Any] = {}
    problems: list[str] = []
    for token in sorted(t for t in tokens if t.split(":")[0] == name):
        tf_type = _terraform_type(token, entry)
        try:
            schema = provider.resource(tf_type)  # type: ignore[attr-defined]
        except LookupError as error:
            problems.append(str(error))
            continue
        replace, conditional, missing = pulumi_paths(token, schema)
        problems += [f"{token}: Terraform input {path} has no Pulumi input" for path in missing]
        resources[token] = {"terraform": tf_type, "source": schema.source, "replaceOn": replace}
        if tree.revision_of(schema.source) != tree.revision_of(""):
            resources[token]["revision"] = tree.revision_of(schema.source)
        if conditional:
            resources[token]["conditional"] = conditional
    for problem in problems:
        print(f"{name}: {problem}", file=sys.stderr)
    package = PULUMI_PACKAGES[name]
    upstream = {"repository": REPOSITORIES[name], **_revision(tree, location)}
    if note:
        upstream["note"] = note
    return merge_sdk_docstrings(
        {
            "provider": name,
            "pulumiPackage": package,
            "pulumiVersion": importlib.metadata.version(package),
            "upstream": upstream,
            "semantics": {
                ATTRIBUTE: "replaced when this value changes (for a list, set or map of plain values: any element)",
                BLOCK: "replaced when a block is added or removed here; changes inside replace only through the inner paths listed",
                WHOLE: "replaced on any change at or below this path",
                "keptWhenRemoved": "optional and computed: removing it from the program keeps the current value, no replacement",
                "conditional": "the provider replaces only when its condition holds (the function named decides); "
                "`decrease: ...` when the condition is a smaller value (a shrink or a downgrade)",
            },
            "resources": resources,
        }
    )


# Changes the provider makes in place but the cloud's API accepts only through an intermediate value,
# read from the API's own documentation in botocore's service models (the installed botocore).
CLOUD_TRANSITIONS = [
    {
        "token": "aws:elasticache/replicationGroup:ReplicationGroup",
        "path": "clusterMode",
        "service": "elasticache",
        "shape": "ModifyReplicationGroupMessage",
        "member": "ClusterMode",
        "sentence": "To modify cluster mode from Disabled to Enabled, you must first set the cluster mode to Compatible.",
        "from": [None, "disabled"],
        "to": "enabled",
        "via": "compatible",
    }
]


def cloud_api_file() -> dict[str, Any]:
    import botocore
    import botocore.loaders

    loader = botocore.loaders.create_loader()
    resources: dict[str, Any] = {}
    for rule in CLOUD_TRANSITIONS:
        model = loader.load_service_model(rule["service"], "service-2")
        documentation = model["shapes"][rule["shape"]]["members"][rule["member"]]["documentation"]
        if rule["sentence"] not in documentation:
            raise LookupError(f"{rule['service']} {rule['shape']}.{rule['member']}: the documented constraint changed; read it again")
        version = model["metadata"]["apiVersion"]
        resources.setdefault(rule["token"], {"transitions": {}})["transitions"][rule["path"]] = {
            "from": rule["from"],
            "to": rule["to"],
            "via": rule["via"],
            "documentation": rule["sentence"],
            "source": f"botocore {botocore.__version__} data/{rule['service']}/{version}/service-2.json {rule['shape']}.{rule['member']}",
        }
    return {
        "source": f"https://github.com/boto/botocore (the installed botocore {botocore.__version__})",
        "botocoreVersion": botocore.__version__,
        "resources": resources,
    }


def _terraform_type(token: str, entry: Any) -> str:
    """The Terraform type a Pulumi token bridges: from tools/reports/data/terraform_types.json, else by the
    bridge's default naming (<provider>_<module>_<snake_case name>)."""
    package, module_path, name = token.split(":")
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
    if package == "random":
        return snake  # random:index/randomPassword:RandomPassword -> random_password
    try:
        return entry(token)["type"]
    except LookupError:
        prefix = {"aws": "aws", "gcp": "google", "cloudflare": "cloudflare"}[package]
        module = module_path.split("/")[0]
        return f"{prefix}_{snake}" if module == "index" else f"{prefix}_{module}_{snake}"


def write(name: str, document: dict[str, Any]) -> Path:
    path = DATA_DIR / f"{name}.json"
    path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diff.force_new.generate", description=(__doc__ or "").splitlines()[0])
    for name in ("aws", "gcp", "cloudflare", "random", "kubernetes", "load-balancer-controller", "strimzi", "external-secrets"):
        parser.add_argument(f"--{name}", metavar="PATH[@REVISION]", help=f"source of {REPOSITORIES[name]}")
    parser.add_argument(
        "--types", nargs="*", default=[], metavar="TOKEN", help="resource types to cover besides the shipped stacks' (kept from then on)"
    )
    parser.add_argument(
        "--sdk-docstrings",
        nargs="*",
        choices=("aws", "gcp", "cloudflare", "random"),
        metavar="PROVIDER",
        help="read the installed SDKs' docstrings again into these files (done with every Terraform source too)",
    )
    parser.add_argument("--botocore", action="store_true", help="the cloud API constraints documented in the installed botocore")
    parser.add_argument("--note", action="append", default=[], metavar="SOURCE=TEXT", help="why this revision (recorded in the file)")
    parser.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="SOURCE=DIR",
        help="files of a newer revision of that repository (DIR/<path>, DIR/REVISIONS: '<path> <commit>' per line)",
    )
    args = parser.parse_args(argv)
    notes = dict(item.split("=", 1) for item in args.note)
    tokens: set[str] | None = None
    for name in ("aws", "gcp", "cloudflare", "random"):
        location = getattr(args, name)
        if not location:
            continue
        if tokens is None:
            tokens = _shipped_tokens() | set(args.types)
        existing = DATA_DIR / f"{name}.json"
        wanted = set(tokens) | (set(json.loads(existing.read_text())["resources"]) if existing.exists() else set())
        overlay = next((Path(item.split("=", 1)[1]) for item in args.overlay if item.startswith(name + "=")), None)
        path = write(name, terraform_file(name, location, notes.get(name), wanted, overlay))
        print(f"wrote {path}", file=sys.stderr)
    for name in args.sdk_docstrings or []:
        if not getattr(args, name):
            document = json.loads((DATA_DIR / f"{name}.json").read_text())
            print(f"wrote {write(name, merge_sdk_docstrings(document))}", file=sys.stderr)
    if args.kubernetes:
        from .kubernetes import kubernetes_file

        print(f"wrote {write('kubernetes', kubernetes_file(args.kubernetes, notes.get('kubernetes')))}", file=sys.stderr)
    if args.botocore:
        print(f"wrote {write('cloud_api', cloud_api_file())}", file=sys.stderr)
    controllers = {k: getattr(args, k.replace("-", "_")) for k in ("load-balancer-controller", "strimzi", "external-secrets")}
    if any(controllers.values()):
        from .kubernetes import controllers_file

        existing = DATA_DIR / "controllers.json"
        current = json.loads(existing.read_text()) if existing.exists() else {}
        print(f"wrote {write('controllers', controllers_file(controllers, current))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
