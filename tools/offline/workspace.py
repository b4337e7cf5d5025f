"""The project's stacks as files: which exist, in what order they deploy, and previewing them in it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from stacks.config import PROJECT_DIR, load, read_stack_file
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


def preview_stack(
    stack: str,
    *,
    preview: bool = True,
    config_override: Optional[Mapping[str, Any]] = None,
    reference_outputs: Optional[dict[str, tuple[dict, list[str]]]] = None,
) -> PreviewResult:
    """Previews one stack; stacks it references are previewed first, quietly, to feed its references."""
    from stacks import run as run_stack_program

    raw = dict(config_override) if config_override is not None else read_stack_file(stack)
    references = dict(reference_outputs or {})
    config = load(stack, raw)
    for dependency in config.references:
        if dependency not in references:
            upstream = preview_stack(dependency, preview=preview, reference_outputs=references)
            references[dependency] = exported_for_reference(upstream)
    return run_program(stack, raw, run_stack_program, preview=preview, stack_outputs=references)


def preview_stacks(stacks: Iterable[str], *, preview: bool = True) -> list[StackRun]:
    """Previews stacks in deploy order, each StackReference fed by the referenced stack's run."""
    from stacks import run as run_stack_program

    references: dict[str, tuple[dict, list[str]]] = {}
    runs = []
    for stack in deploy_order(stacks):
        result = run_program(stack, read_stack_file(stack), run_stack_program, preview=preview, stack_outputs=references)
        references[stack] = exported_for_reference(result)
        runs.append(StackRun(stack, result))
    return runs
