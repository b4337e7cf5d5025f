"""The parts of docs/ that describe code, regenerated from it: `python -m tools.docs [--check] [NAME ...]`.

    python -m tools.docs                  # rewrite every generated part that no longer matches the code
    python -m tools.docs --check          # change nothing; exit 1 naming each stale part (CI)
    python -m tools.docs config policies  # only these (the fast ones; the pre-commit hook runs them)

Each part is produced by the command its document names, and a test fails when the committed text
differs from it; this module writes that output into place, so neither a person nor a hook pastes
it. Exit status: 0 when every part was current; 1 when a part was stale (rewritten, or with --check
only named); 2 on an unknown name.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
DR_STACKS = ("aws-dr", "gcp-dr", "global")


@dataclass(frozen=True)
class Part:
    name: str
    path: str  # relative to the repository
    what: str
    render: Callable[[str], str]  # the document's current text -> the text it should have
    needs_previews: bool = False  # slow: runs stack programs


def _table_at(text: str, header: str, table: str) -> str:
    """`text` with the Markdown table that starts at the line `header` replaced by `table`."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[:start] + table.split("\n") + lines[end:])


def _configuration(text: str) -> str:
    from .reports import config_doc

    start = text.index(f"### {config_doc.TITLES[config_doc.KINDS[0]]}")
    return text[:start] + config_doc.document()


def _policies(text: str) -> str:
    from policies.catalog import table

    return _table_at(text, "| rule | severity | enforcement |", table())


@functools.lru_cache(maxsize=1)
def _dr_previews():
    from .engine.workspace import preview_stacks

    # preview_stacks also runs the stacks these reference (bootstrap): the documents describe the DR estate only.
    return [run.result for run in preview_stacks(list(DR_STACKS)) if run.stack in DR_STACKS]


def _cost_seeds(text: str) -> str:
    from stacks.config import read_stack_file
    from stacks.config.cost import cost_settings
    from .reports import cost

    table = cost.load_prices()
    estimates = [cost.estimate(r, cost_settings(r.stack, read_stack_file(r.stack)), table) for r in _dr_previews()]
    return _table_at(text, "| cloud | line | seeds (USD/month) |", cost.seeds_comparison(estimates))


def _diagram(text: str) -> str:
    from .reports import diagram
    from .reports.cli import regions

    results = _dr_previews()
    return diagram.dot(results, regions(results))


PARTS = {
    part.name: part
    for part in (
        Part("config", "docs/configuration.md", "every config key (python -m tools.reports.config_doc)", _configuration),
        Part("policies", "docs/policies.md", "the policy pack's rules (python -m policies.catalog)", _policies),
        Part("cost", "docs/cost.md", "the DR estate against the seeds' estimate (python -m tools cost --seeds)", _cost_seeds, True),
        Part("diagram", "docs/img/architecture.dot", "the architecture (python -m tools diagram global)", _diagram, True),
    )
}


def stale(name: str) -> tuple[bool, str]:
    """(whether the part differs from what the code generates, the text it should have)."""
    path = ROOT / PARTS[name].path
    current = path.read_text()
    wanted = PARTS[name].render(current)
    return wanted != current, wanted


def _render_svg(dot_path: Path) -> str:
    """Redraws the committed SVG beside the DOT source; says why not when Graphviz is missing."""
    from .reports import diagram

    if shutil.which("dot") is None:
        return f"{dot_path.with_suffix('.svg').relative_to(ROOT)} not redrawn: Graphviz's `dot` is not installed"
    diagram.render(dot_path.read_text(), dot_path.with_suffix(".svg"))
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"parts to regenerate ({', '.join(PARTS)}; default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a part is stale")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in PARTS]
    if unknown:
        print(f"unknown part(s) {', '.join(unknown)} (have: {', '.join(PARTS)})", file=sys.stderr)
        return 2
    code = 0
    for name in args.names or list(PARTS):
        part = PARTS[name]
        outdated, wanted = stale(name)
        if not outdated:
            continue
        code = 1
        if args.check:
            print(f"{part.path} is stale: {part.what}; run `python -m tools.docs {name}`", file=sys.stderr)
            continue
        (ROOT / part.path).write_text(wanted)
        print(f"updated {part.path}: {part.what}", file=sys.stderr)
        if name == "diagram":
            note = _render_svg(ROOT / part.path)
            if note:
                print(note, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
