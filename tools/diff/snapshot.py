"""The deployed state a change is compared with: every resource a stack's program registers, with its
inputs, the state fake providers answer and the resource options that decide how a change is made
(`protect`, `replace_on_changes`, `ignore_changes`, `delete_before_replace`, aliases).

It previews the program with providers that answer as deployed ones would: an id, and the outputs
the offline engine's fake providers compute; every other string output a resource declares gets a
stand-in named after it, so a value another resource reads is known here and shows up as changed
when its resource is replaced. Outputs of other types stay unknown, as they stay in the working
tree's preview of the same resource, so the two runs compare like with like.

Two ways in:
- in-process, with this tree's code: `capture(stacks, config_override=...)`;
- as a script inside another checkout of the project (the base of a diff), with that tree's code and
  config: `python diff_snapshot.py --project DIR --out FILE STACK...`. It imports nothing from the
  tree it is stored in, only the project at DIR and the installed packages.

The JSON it writes marks a secret as {"__secret__": value} and a value known only after deploy as
{"__unknown__": true}. Secrets of the offline engine are stand-ins (generated from the stack file's
ciphertext or the resource's name), and the file is written with mode 0600 into a private temporary
directory that the caller removes. Where CRM_PREVIEW_CACHE is set, the caller also keeps the document
there (tools/diff/cli.py base_state), as the previews kept there hold the same stand-ins.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

SECRET = "__secret__"
UNKNOWN = "__unknown__"


def to_json(value: Any, secret_type: type, unknown: Any) -> Any:
    if isinstance(value, secret_type):
        return {SECRET: to_json(value.value, secret_type, unknown)}  # type: ignore[attr-defined]
    if value is unknown:
        return {UNKNOWN: True}
    if isinstance(value, dict):
        return {k: to_json(v, secret_type, unknown) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, secret_type, unknown) for v in value]
    return value


_STRING_OUTPUTS: dict[str, list[str]] = {}


def string_outputs(token: str) -> list[str]:
    """The string outputs a bridged resource declares (`pulumi.Output[str]` properties of its SDK class)."""
    if token in _STRING_OUTPUTS:
        return _STRING_OUTPUTS[token]
    found: list[str] = []
    package, _, rest = token.partition(":")
    module_path, _, class_name = rest.partition(":")
    roots = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "cloudflare": "pulumi_cloudflare", "random": "pulumi_random"}
    if package in roots:
        first = module_path.split("/")[0]
        try:
            module = importlib.import_module(roots[package] if first == "index" else f"{roots[package]}.{first}")
            cls = getattr(module, class_name)
        except (ImportError, AttributeError):
            cls = None
        for klass in getattr(cls, "__mro__", ()):
            for value in vars(klass).values():
                fget = getattr(value, "fget", None)
                name = getattr(fget, "_pulumi_name", None)
                if name and re.search(
                    r"Output\[(builtins\.|_builtins\.)?str\]", str(getattr(fget, "__annotations__", {}).get("return", ""))
                ):
                    found.append(name)
    _STRING_OUTPUTS[token] = found
    return found


def _with_stand_ins(type_: str, name: str, state: dict) -> dict:
    for output in string_outputs(type_):
        if state.get(output) is None:
            state[output] = f"{output}-of-{name}"
    return state


class _Capture:
    """Records each registration's resource options next to what the engine records."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def install(self, monitor_class: type, mocks_class: type | None, fakes: Any) -> Callable[[], None]:
        original_register = monitor_class.RegisterResource
        capture = self

        def register(monitor, request):
            response = original_register(monitor, request)
            if request.type != "pulumi:pulumi:Stack":
                with capture.lock:
                    capture.options[response.urn] = {
                        "replaceOnChanges": list(request.replaceOnChanges),
                        "ignoreChanges": list(request.ignoreChanges),
                        "deleteBeforeReplace": bool(request.deleteBeforeReplace) if request.deleteBeforeReplaceDefined else None,
                        "retainOnDelete": bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
                        "aliasURNs": list(request.aliasURNs),
                        # What the provider answered, read here too: an older base's engine may not record it.
                        "id": response.id,
                        "state": response.object,
                    }
            return response

        monitor_class.RegisterResource = register
        restore = [lambda: setattr(monitor_class, "RegisterResource", original_register)]
        if mocks_class is not None and hasattr(mocks_class, "new_resource"):
            original_new = mocks_class.new_resource

            def new_resource(mocks, args):
                if not args.custom or args.typ == "pulumi:pulumi:StackReference":
                    return original_new(mocks, args)
                state = dict(args.inputs)
                state.update(fakes.computed(args.typ, args.name, args.inputs))
                return f"{args.name}-id", _with_stand_ins(args.typ, args.name, state)

            mocks_class.new_resource = new_resource
            restore.append(lambda: setattr(mocks_class, "new_resource", original_new))

        def uninstall() -> None:
            for step in restore:
                step()

        return uninstall


def snapshot_of(
    results: list[Any], options: dict[str, dict[str, Any]], secret_type: type, unknown: Any, struct_to_python: Callable[[Any], dict]
) -> dict[str, Any]:
    """The JSON document of the recorded runs."""
    stacks = {}
    for result in results:
        resources = []
        for r in result.resources:
            extra = options.get(r.urn, {})
            # An older base's engine may record less; the monitor's own answer fills it in.
            outputs = getattr(r, "outputs", None) or (struct_to_python(extra["state"]) if extra.get("state") is not None else {})
            resource_id = getattr(r, "id", None) or extra.get("id") or ""
            resources.append(
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "custom": r.custom,
                    "protect": r.protect,
                    "provider": getattr(r, "provider", ""),
                    "dependencies": list(r.dependencies),
                    "propertyDependencies": dict(getattr(r, "property_dependencies", {}) or {}),
                    "aliases": list(getattr(r, "aliases", []) or []) + [{"urn": u} for u in extra.get("aliasURNs", [])],
                    "op": getattr(r, "op", "create"),
                    "id": to_json(resource_id, secret_type, unknown),
                    "inputs": to_json({k: v for k, v in r.inputs.items() if k != "__defaults"}, secret_type, unknown),
                    "outputs": to_json({k: v for k, v in outputs.items() if k != "__defaults"}, secret_type, unknown),
                    "replaceOnChanges": extra.get("replaceOnChanges", []),
                    "ignoreChanges": extra.get("ignoreChanges", []),
                    "deleteBeforeReplace": extra.get("deleteBeforeReplace"),
                    "retainOnDelete": extra.get("retainOnDelete", False),
                }
            )
        stacks[result.stack] = {"resources": resources, "outputs": to_json(result.outputs, secret_type, unknown)}
    return {"stacks": stacks, "order": [result.stack for result in results]}


def capture(stacks: list[str], config_override: dict[str, dict] | None = None) -> dict[str, Any]:
    """This tree's deployed state of `stacks` (and the stacks they read from), in-process.

    `config_override` maps a stack to the config to use instead of its stack file."""
    from pulumi.runtime.mocks import MockMonitor

    from ..engine import cache, engine, fakes, workspace

    recorder = _Capture()
    uninstall = recorder.install(MockMonitor, engine._Mocks, fakes)
    try:
        with cache.bypassed():  # a kept run would register nothing for the recorder to see
            results = _run(stacks, config_override or {}, workspace, fakes)
    finally:
        uninstall()
    return snapshot_of(results, recorder.options, engine.Secret, engine.UNKNOWN, engine.struct_to_python)


def deployed_registries(configs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """What a deployed estate's registries hold: each stack's application image at the tag its stack file
    names, which the application's CI pushed before the stack ran it. The repository is
    `<name prefix>/<image>` in both clouds (components/aws/ecr.py repository_name; the Artifact Registry
    repository of stacks/gcp_stack.py). A base whose config cannot say leaves the registries empty."""
    held: dict[str, list[str]] = {}
    try:
        from stacks.config import load
    except ImportError:
        return held
    for stack, raw in configs.items():
        try:
            config = load(stack, raw)
            app, common = config.application, config.common
            held.setdefault(f"{common.name_prefix}/{app.image_repository}", []).append(app.image_tag)
        except Exception:
            continue
    return held


def _run(stacks: list[str], config_override: dict[str, dict], workspace: Any, fakes: Any = None) -> list[Any]:
    """Runs the stacks and the stacks they read from, in deploy order, each once, as deployed: with the
    images they run in their registries."""
    from stacks.config import read_stack_file

    order = workspace.deploy_order(stacks, reader=lambda s: config_override.get(s) or read_stack_file(s))
    configs = {stack: config_override.get(stack) or read_stack_file(stack) for stack in order}
    saved = getattr(fakes, "REGISTRY_TAGS", None)
    if saved is not None:
        fakes.REGISTRY_TAGS = {**saved, **deployed_registries(configs)}
    references: dict[str, Any] = {}
    results = []
    try:
        for stack in order:
            result = workspace.preview_stack(stack, preview=True, config_override=configs[stack], reference_outputs=dict(references))
            references[stack] = workspace.exported_for_reference(result)
            results.append(result)
    finally:
        if saved is not None:
            fakes.REGISTRY_TAGS = saved
    return results


def _base_engine_module(name: str) -> Any:
    """The base's offline engine module `name`: in tools/engine/, or in tools/offline/ in a base from
    before the tooling was split into rooms by purpose."""
    try:
        return importlib.import_module(f"tools.engine.{name}")
    except ModuleNotFoundError as error:
        if error.name not in ("tools.engine", f"tools.engine.{name}"):
            raise
        return importlib.import_module(f"tools.offline.{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the deployed state of stacks of the project at --project (JSON)")
    parser.add_argument("--project", type=Path, required=True, help="the project's root (a checkout of the base)")
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write (mode 0600)")
    parser.add_argument("stacks", nargs="+")
    args = parser.parse_args(argv)
    os.environ.pop("CRM_PREVIEW_CACHE", None)  # runs kept on disk register nothing for the recorder to see
    project = args.project.resolve()
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [str(project)] + [p for p in sys.path if p not in ("", here)]
    os.chdir(project)
    for module in [m for m in sys.modules if m.split(".")[0] in ("tools", "stacks", "components")]:
        del sys.modules[module]
    from pulumi.runtime.mocks import MockMonitor

    engine, workspace, fakes = (_base_engine_module(name) for name in ("engine", "workspace", "fakes"))
    recorder = _Capture()
    recorder.install(MockMonitor, getattr(engine, "_Mocks", None), fakes)
    try:
        results = _run(args.stacks, {}, workspace, fakes)
    except Exception as error:  # the base's own config or program error, reported without its values
        print(f"the base does not preview: {type(error).__name__}: {error}", file=sys.stderr)
        return 3
    document = snapshot_of(results, recorder.options, engine.Secret, engine.UNKNOWN, engine.struct_to_python)
    descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump(document, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
