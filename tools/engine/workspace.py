"""The project's stacks as files: which exist, in what order they deploy, and previewing them in it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from stacks.config import PROJECT_DIR, ConfigValidationError, load, read_stack_file
from stacks.references import GLOBAL_STACK

from . import cache
from .engine import PreviewResult, Secret, map_markers, run_program


@dataclass
class StackRun:
    stack: str
    result: PreviewResult


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def deploy_order(stacks: Iterable[str], reader=read_stack_file) -> list[str]:
    """Stacks sorted so that every stack comes after the stacks whose outputs it reads.

    Bootstrap stacks (`crm:cloud: bootstrap`) come first: every other stack's state and secrets
    live in what they create, although no stack reads their outputs.
    """
    wanted = list(stacks)
    needs: dict[str, list[str]] = {}
    bootstrap: set[str] = set()
    pending = list(wanted)
    while pending:
        stack = pending.pop()
        if stack in needs:
            continue
        config = load(stack, reader(stack), peer_loader=reader)
        needs[stack] = list(config.references)
        if config.common.cloud == "bootstrap":
            bootstrap.add(stack)
        pending.extend(needs[stack])
    order: list[str] = []
    visiting: set[str] = set()

    def visit(stack: str) -> None:
        if stack in order:
            return
        if stack in visiting:
            raise ValueError(f"stacks reference each other in a cycle through '{stack}'")
        visiting.add(stack)
        for dependency in sorted(needs[stack]):
            visit(dependency)
        visiting.discard(stack)
        order.append(stack)

    for stack in sorted(needs, key=lambda s: (s not in bootstrap, s)):
        visit(stack)
    return order


def exported_for_reference(result: PreviewResult) -> tuple[dict[str, Any], list[str]]:
    """A previewed stack's outputs as a StackReference sees them once that stack is deployed.

    Values known only after deploy become the text "[unknown]" so that the reading stack still
    runs (and shows them as such); secret outputs are listed as secret.
    """
    secret_names = [name for name, value in result.outputs.items() if isinstance(value, Secret)]

    plain = map_markers(result.outputs, secret=lambda inner: inner, unknown=lambda: "[unknown]")
    return plain, secret_names


def entry_point(preview: bool) -> Callable[[], None]:
    """The program as `pulumi preview`/`pulumi up` runs it: `stacks.main`, the entry of the project's __main__.py.

    Runs against fake providers (preview=False) are not deploys, so they do not refuse the shipped
    placeholder values; they still log the same warnings.
    """
    import stacks

    return stacks.main if preview else functools.partial(stacks.main, refuse_placeholders=False)


def run_key(stack: str, raw: Mapping[str, Any], preview: bool, references: Mapping[str, tuple[dict, list[str]]]) -> tuple:
    """What a run is a function of besides the program (tools/engine/cache.py): the stack, its config, the
    mode, and the outputs of the stacks it reads (only those: callers may hand more)."""
    try:
        config = load(stack, raw, check_peer=False)  # the references only; the run itself checks the peers
    except ConfigValidationError:
        reads = set(references)  # the run reports the config's problems; nothing is kept
    else:
        # Its references, and the stacks it reads back when they were deployed after it (stacks/references.py ReadBack):
        # the global stack, and the DR pair's other half.
        peer = getattr(getattr(config, "interconnect", None), "peer_stack", None)
        reads = {*config.references, GLOBAL_STACK, *([peer] if peer else [])}
    return ("run", stack, raw, preview, {name: value for name, value in references.items() if name in reads})


def _run(stack: str, raw: Mapping[str, Any], preview: bool, references: Mapping[str, tuple[dict, list[str]]]) -> PreviewResult:
    """One stack's run, or the same run kept on disk when CRM_PREVIEW_CACHE is set (tools/engine/cache.py)."""
    if cache.directory() is None:
        return _run_program(stack, raw, preview, references)
    return cache.remember(PROJECT_DIR, run_key(stack, raw, preview, references), lambda: _run_program(stack, raw, preview, references))


def _run_program(stack: str, raw: Mapping[str, Any], preview: bool, references: Mapping[str, tuple[dict, list[str]]]) -> PreviewResult:
    try:
        return run_program(stack, raw, entry_point(preview), preview=preview, stack_outputs=references)
    except pulumi.RunError as error:
        # The entry point turns a config problem into a RunError so that the Pulumi CLI prints it without a
        # traceback; hand callers the problem itself, with every key it names.
        if isinstance(error.__context__, ConfigValidationError):
            raise error.__context__ from None
        raise


def preview_stack(
    stack: str,
    *,
    preview: bool = True,
    config_override: Mapping[str, Any] | None = None,
    reference_outputs: dict[str, tuple[dict, list[str]]] | None = None,
) -> PreviewResult:
    """Previews one stack; stacks it references are previewed first, quietly, to feed its references."""
    raw = dict(config_override) if config_override is not None else read_stack_file(stack)
    references = dict(reference_outputs or {})
    config = load(stack, raw)
    for dependency in config.references:
        if dependency not in references:
            upstream = preview_stack(dependency, preview=preview, reference_outputs=references)
            references[dependency] = exported_for_reference(upstream)
    return _run(stack, raw, preview, references)


def preview_stacks(
    stacks: Iterable[str], *, preview: bool = True, on_start: Callable[[str, int, int], None] | None = None
) -> list[StackRun]:
    """Previews stacks in deploy order, each StackReference fed by the referenced stack's run.

    `on_start(stack, number, total)` is called before each stack runs (the command line's progress)."""
    references: dict[str, tuple[dict, list[str]]] = {}
    runs = []
    order = deploy_order(stacks)
    for number, stack in enumerate(order, start=1):
        if on_start is not None:
            on_start(stack, number, len(order))
        result = _run(stack, read_stack_file(stack), preview, references)
        references[stack] = exported_for_reference(result)
        runs.append(StackRun(stack, result))
    return runs
