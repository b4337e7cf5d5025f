"""The estate commands of `python -m tools`: cost, diagram and rebuild-time.

    python -m tools cost <stack>|--all [--json] [--seeds]
    python -m tools diagram <stack>|--all -o FILE.svg|FILE.png|FILE.dot
    python -m tools rebuild-time <stack>|--all [--json]

Exit status: 0 when done; 1 when an estimate reaches a stack's first budget alert (crm:budget) or misses a price entry,
or a drawing cannot be rendered; 2 on bad arguments or config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from stacks.config import ConfigValidationError, load, read_stack_file
from stacks.references import MissingStackOutput

from ..engine import engine, preview_stack, preview_stacks
from ..engine.workspace import stack_names
from ..terminal import Progress, Style
from . import cost, diagram, rebuild

DIAGRAM_DOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "architecture.dot"


def add_commands(commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    c = commands.add_parser("cost", help="monthly cost of a stack from the pinned price table, with its budget gate (docs/cost.md)")
    c.add_argument("stack", nargs="?", help="stack name, e.g. aws-dr")
    c.add_argument("--all", action="store_true", help="every stack, in deploy order")
    c.add_argument("--json", action="store_true", help="line items as JSON")
    c.add_argument("--seeds", action="store_true", help="the DR estate against the source documents' $2,268/month (Markdown)")
    d = commands.add_parser("diagram", help="draw the architecture from the previews (Graphviz; docs/architecture.md)")
    d.add_argument("stack", nargs="?", help="stack name; the stacks it reads from are drawn with it")
    d.add_argument("--all", action="store_true", help="every stack")
    d.add_argument("-o", "--output", type=Path, required=True, help="FILE.svg, FILE.png or FILE.dot")
    r = commands.add_parser(
        "rebuild-time", help="critical path of a from-scratch deploy of a stack (docs/architecture.md#time-to-rebuild-a-region)"
    )
    r.add_argument("stack", nargs="?", help="stack name, e.g. gcp-dr")
    r.add_argument("--all", action="store_true", help="every stack")
    r.add_argument("--json", action="store_true", help="stack, minutes, path as JSON")
    return {"cost": run_cost, "diagram": run_diagram, "rebuild-time": run_rebuild_time}


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _runs(args: argparse.Namespace, with_references: bool = False) -> list[engine.PreviewResult]:
    known = stack_names()
    if args.all == bool(args.stack):
        raise _Usage("name one stack or pass --all")
    if args.stack and args.stack not in known:
        raise _Usage(f"unknown stack '{args.stack}' (have: {', '.join(known)})")
    if args.all:
        progress = Progress("previewing")
        try:
            return [run.result for run in preview_stacks(known, on_start=progress.step)]
        finally:
            progress.done()
    if with_references:
        return [run.result for run in preview_stacks([args.stack])]
    return [preview_stack(args.stack)]


class _Usage(Exception):
    pass


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def guarded(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _Usage as error:
            return _fail(str(error), 2)
        except ConfigValidationError as error:
            return _fail(f"error: {error}", 2)
        except (MissingStackOutput, engine.StackReferenceError) as error:
            return _fail(f"error: {error}", 1)

    return guarded


@_guard
def run_cost(args: argparse.Namespace) -> int:
    from stacks.config.cost import cost_settings

    if args.seeds:
        args.all, args.stack = False, cost.DR_STACKS[-1]
        results = [r for r in _runs(args, with_references=True) if r.stack in cost.DR_STACKS]
    else:
        results = _runs(args)
    table = cost.load_prices()
    estimates = [cost.estimate(result, cost_settings(result.stack, read_stack_file(result.stack)), table) for result in results]
    if args.seeds:
        print(cost.seeds_comparison(estimates))
    elif args.json:
        documents = [e.as_json() for e in estimates]
        print(
            json.dumps(
                documents[0] if not args.all else {"stacks": documents, "monthly_usd": round(sum(e.monthly_usd for e in estimates), 2)},
                indent=2,
            )
        )
    else:
        print(Style.for_stream(sys.stdout).wrap("\n\n".join(cost.report(e) for e in estimates)))
        if args.all:
            print(f"\nAll stacks: ${sum(e.monthly_usd for e in estimates):,.2f} a month")
    failed = False
    for e in estimates:
        if e.unpriced:
            failed = True
            print(f"error: stack '{e.stack}': the estimate is incomplete: " + "; ".join(e.unpriced), file=sys.stderr)
        if e.over_budget and e.settings.budget is not None:
            failed = True
            budget = e.settings.budget
            print(
                f"error: stack '{e.stack}' is estimated at ${e.monthly_usd:,.2f} a month, at or above its budget's first alert "
                f"({min(budget.alert_percents)} % of crm:budget.monthlyUsd ${budget.monthly_usd:,.0f} = ${budget.first_alert_usd:,.2f}): "
                "the cloud's budget would alert every month; raise crm:budget.monthlyUsd or lower the estimate",
                file=sys.stderr,
            )
    return 1 if failed else 0


def regions(results) -> dict[str, str]:
    found = {}
    for result in results:
        raw = read_stack_file(result.stack)
        for cloud, key in (("aws", "aws:region"), ("gcp", "gcp:region")):
            if raw.get(key) and raw.get("crm:cloud") == cloud:
                found.setdefault(cloud, raw[key])
    return found


@_guard
def run_diagram(args: argparse.Namespace) -> int:
    results = _runs(args, with_references=True)
    # The bootstrap stack is read for its roles' boundary, not part of the estate the drawing shows, unless asked for.
    results = [r for r in results if r.stack == args.stack or load(r.stack, read_stack_file(r.stack)).common.cloud != "bootstrap"]
    source = diagram.dot(results, regions(results))
    try:
        diagram.render(source, args.output)
    except (diagram.GraphvizMissing, RuntimeError, ValueError, OSError) as error:
        return _fail(f"error: {error}", 1)
    print(f"wrote {args.output} ({len(results)} stack(s))", file=sys.stderr)
    return 0


@_guard
def run_rebuild_time(args: argparse.Namespace) -> int:
    results = _runs(args) if args.all else _runs(args, with_references=True)
    table = rebuild.load_times()
    own = {result.stack: rebuild.rebuild_time(result, table) for result in results}
    # The bootstrap stack (state, keys, CI identities, the roles' boundary) outlives a region: it is read, not rebuilt.
    configs = {result.stack: load(result.stack, read_stack_file(result.stack)) for result in results}
    references = {stack: [r for r in config.references if r != config.common.bootstrap_stack] for stack, config in configs.items()}

    def from_nothing(stack: str) -> tuple[float, list[str]]:
        upstream = [from_nothing(other) for other in references.get(stack, []) if other in own]
        before = max(upstream, default=(0.0, []))
        return before[0] + own[stack].minutes, before[1] + [stack]

    wanted = [r.stack for r in results] if args.all else [args.stack]
    documents = []
    for stack in wanted:
        total, chain = from_nothing(stack)
        documents.append(
            {
                "stack": stack,
                "minutes": round(own[stack].minutes, 1),
                "path": [step.as_json() for step in own[stack].path],
                "from_nothing_minutes": round(total, 1),
                "stacks_chain": chain,
            }
        )
    if args.json:
        print(json.dumps(documents[0] if not args.all else {"stacks": documents}, indent=2))
        return 0
    lines = []
    for document in documents:
        chain = " -> ".join(f"{s['resource']} ({s['minutes']:g} min)" for s in document["path"] if s["minutes"] >= 0.5) or "nothing slow"
        lines.append(f"{document['stack']} rebuilt from code in about {_minutes(document['minutes'])}; slowest chain: {chain}")
        if len(document["stacks_chain"]) > 1:
            lines.append(
                f"  from nothing, deploying {' -> '.join(document['stacks_chain'])} in order: about {_minutes(document['from_nothing_minutes'])}"
            )
    print(Style.for_stream(sys.stdout).wrap("\n".join(lines)))
    return 0


def _minutes(value: float) -> str:
    rounded = max(round(value), 1)
    return f"{rounded} minute{'s' if rounded != 1 else ''}"
