"""`python -m tools diff <stack>|--all [--base GIT_REF] [--json|--markdown]`: what a change would do.

The base (default `HEAD`) is taken from git into a temporary directory (`git archive`) and its own
code previews its own config in a child process (tools/diff/snapshot.py), as the deployed
state; the working tree's code and config then preview against it (tools/diff/plan.py). Every
difference is classified create, update, replace or delete, with the input that forces each
replacement. Exit status: 0 when the plan is safe, 1 when it is refused (see docs/diff.md), 2 on
bad arguments, config errors, or a base that does not preview.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stacks.config import PROJECT_DIR, ConfigValidationError, read_stack_file
from stacks.references import MissingStackOutput

from ..engine import cache, engine
from ..engine.workspace import stack_names
from ..terminal import Progress, Style
from . import plan as diff

SNAPSHOT = Path(__file__).resolve().with_name("snapshot.py")


class DiffError(Exception):
    """A problem with the command's input, said plainly (exit status 2)."""


def add_commands(commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    d = commands.add_parser("diff", help="classify what a change would create, update, replace or delete, offline (docs/diff.md)")
    d.add_argument("stack", nargs="?", help="stack name, e.g. aws-production")
    d.add_argument("--all", action="store_true", help="every stack (the base's and the working tree's)")
    d.add_argument("--base", default="HEAD", help="the git revision the stacks are deployed from (default HEAD)")
    output = d.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="the plan as JSON")
    output.add_argument("--markdown", action="store_true", help="the plan as Markdown (a pull request's job summary)")
    return {"diff": run}


def _git(project: Path, *args: str, binary: bool = False) -> Any:
    completed = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=not binary)
    if completed.returncode != 0:
        error = completed.stderr if not binary else completed.stderr.decode(errors="replace")
        raise DiffError(f"git {' '.join(args[:2])}: {error.strip() or 'failed'}")
    return completed.stdout


def extract(project: Path, revision: str, into: Path) -> str:
    """The base's tracked files at `revision` in `into`; returns the commit."""
    try:
        commit = _git(project, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
    except DiffError:
        raise DiffError(f"git does not know the revision '{revision}' in {project} (fetch it, or name another with --base)") from None
    archive = _git(project, "archive", "--format=tar", commit, binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def stack_files(tree: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in tree.glob("Pulumi.*.yaml"))


def base_state(tree: Path, stacks: list[str], out: Path, label: str) -> dict[str, Any]:
    """The deployed state of `stacks` as the base tree's own code previews its own config (a child process).

    It is a function of the base's files, tools/diff/snapshot.py and the installed packages alone: where
    CRM_PREVIEW_CACHE is set (the test suite, `.ci/run`), it is kept by their content like a preview
    (tools/engine/cache.py), and a base already snapshotted is not run again."""
    present = [s for s in stacks if s in stack_files(tree)]
    if not present:
        return {"stacks": {}, "order": []}
    files = hashlib.sha256()
    cache.add_files(files, tree, sorted(tree.rglob("*")))
    parts = ("diff-base-state", files.hexdigest(), hashlib.sha256(SNAPSHOT.read_bytes()).hexdigest(), present)
    return cache.remember(tree, parts, lambda: _snapshot(tree, present, out, label), where=cache.directory_for_child_processes())


def _snapshot(tree: Path, stacks: list[str], out: Path, label: str) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, str(SNAPSHOT), "--project", str(tree), "--out", str(out), *stacks],
        cwd=tree,
        capture_output=True,
        text=True,
        env=environment,
    )
    if completed.returncode != 0:
        detail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        raise DiffError(f"the base ({label}) does not preview:\n{detail}")
    return json.loads(out.read_text())


def run(args: argparse.Namespace) -> int:
    project = PROJECT_DIR
    known = stack_names(project)
    if args.all == bool(args.stack):
        return _fail("name one stack or pass --all", 2)
    workdir = Path(tempfile.mkdtemp(prefix="crm-diff-"))  # private (0700); holds the base's state, secrets included
    try:
        tree = workdir / "base"
        tree.mkdir()
        commit = extract(project, args.base, tree)
        label = f"{args.base} ({commit[:12]})"
        base_stacks = stack_files(tree)
        if args.stack and args.stack not in known and args.stack not in base_stacks:
            return _fail(f"unknown stack '{args.stack}' (have: {', '.join(known)})", 2)
        wanted = [args.stack] if args.stack else sorted(set(known) | set(base_stacks))
        base = base_state(tree, wanted, workdir / "base.json", label)
        progress = Progress("diffing") if args.all else None
        try:
            plans = diff.plan(
                wanted, base, lambda s: read_stack_file(s) if s in known else None, on_start=progress.step if progress else None
            )
        finally:
            if progress:
                progress.done()
    except (DiffError, ConfigValidationError, MissingStackOutput, engine.StackReferenceError) as error:
        return _fail(f"error: {error}", 2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(diff.to_json(plans, label), indent=2))
    elif args.markdown:
        print(diff.markdown(plans, label))
    else:
        print(diff.text(plans, Style.for_stream(sys.stdout).width))
    return 1 if any(p.problems() for p in plans) else 0


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code
