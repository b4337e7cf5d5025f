"""The scanner commands of `python -m tools`: tfplan (a preview as Terraform plan JSON) and scan
(Checkov over every stack's export against policies/checkov-baseline.yaml). See docs/security-scan.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from stacks.config import ConfigValidationError
from stacks.references import MissingStackOutput

from .engine import engine, preview_stacks
from .engine.workspace import stack_names


def add_commands(commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    t = commands.add_parser("tfplan", help="a stack's offline preview as Terraform plan JSON (for Checkov and other plan scanners)")
    t.add_argument("stack", nargs="?", help="stack name, e.g. aws-dev")
    t.add_argument("--all", action="store_true", help="every stack, one <stack>.tfplan.json each in the -o directory")
    t.add_argument("-o", "--output", type=Path, help="FILE (one stack; default stdout) or DIRECTORY (--all)")
    s = commands.add_parser(
        "scan", help="Checkov over stacks' Terraform plan exports, against policies/checkov-baseline.yaml (docs/security-scan.md)"
    )
    s.add_argument("stack", nargs="?", help="stack name, e.g. aws-dev")
    s.add_argument("--all", action="store_true", help="every stack")
    s.add_argument("--out", type=Path, help="keep the exported plans in this directory")
    s.add_argument("--json", action="store_true", help="the outcome as JSON")
    return {"tfplan": _guard(run_tfplan), "scan": _guard(run_scan)}


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def guarded(args: argparse.Namespace) -> int:
        known = stack_names()
        if args.all == bool(args.stack):
            return _fail("name one stack or pass --all", 2)
        if args.stack and args.stack not in known:
            return _fail(f"unknown stack '{args.stack}' (have: {', '.join(known)})", 2)
        try:
            return command(args)
        except ConfigValidationError as error:
            return _fail(f"error: {error}", 2)
        except (MissingStackOutput, engine.StackReferenceError) as error:
            return _fail(f"error: {error}", 1)

    return guarded


def run_tfplan(args: argparse.Namespace) -> int:
    from .reports.terraform_plan import export

    if args.all and not args.output:
        return _fail("--all writes one file per stack: pass -o DIRECTORY", 2)
    wanted = stack_names() if args.all else [args.stack]
    runs = [run for run in preview_stacks(wanted) if run.stack in wanted]
    for run in runs:
        exported = export(run.result)
        text = json.dumps(exported.plan, indent=1)
        skipped = sum(exported.skipped.values())
        note = f"{run.stack}: {exported.resources} resources exported; {skipped} skipped (no Terraform type: Kubernetes, random, engine)"
        if args.all:
            args.output.mkdir(parents=True, exist_ok=True)
            (args.output / f"{run.stack}.tfplan.json").write_text(text + "\n")
        elif args.output:
            args.output.write_text(text + "\n")
        else:
            print(text)
        print(note, file=sys.stderr)
    return 0


def run_scan(args: argparse.Namespace) -> int:
    from . import security_scan

    try:
        outcome = security_scan.scan(stack_names() if args.all else [args.stack], out_dir=args.out)
    except security_scan.ScanError as error:
        return _fail(f"error: {error}", 2)
    print(json.dumps(security_scan.as_json(outcome), indent=2) if args.json else security_scan.report(outcome))
    return 0 if outcome.ok else 1
