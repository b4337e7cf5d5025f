"""The parts of docs/ and README.md that describe code, regenerated from it: `python -m tools.docs [--check] [NAME ...]`.

    python -m tools.docs                  # rewrite every generated part that no longer matches the code
    python -m tools.docs --check          # change nothing; exit 1 naming each stale part (CI)
    python -m tools.docs config policies  # only these (the fast ones; the pre-commit hook runs them)

Every generator that writes into a document runs here (the prerequisite lists and the deployer
permissions included, whose own `--write` does the same for their part), so one command rewrites
every generated part and one check verifies them all. A part is either a whole table the module
finds by its header, or a block between `<!-- generated: BLOCK (python -m tools.docs PART) -->` and
`<!-- end: BLOCK -->`; a document that lost its block is reported, not silently skipped. Exit status:
0 when every part was current; 1 when a part was stale (rewritten, or with --check only named) or
a block is missing; 2 on an unknown name.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import pkgutil
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DR_STACKS = ("aws-dr", "gcp-dr", "global")


@dataclass(frozen=True)
class Part:
    name: str
    paths: tuple[str, ...]  # relative to the repository
    what: str
    render: Callable[[str], str]  # a document's current text -> the text it should have
    needs_previews: bool = False  # slow: runs stack programs
    blocks: tuple[str, ...] = ()  # the marked blocks it writes (besides whole tables and its own markers)


class MissingBlock(Exception):
    """A document no longer holds a generated block it should."""


def block_markers(block: str, part: str) -> tuple[str, str]:
    return f"<!-- generated: {block} (python -m tools.docs {part}) -->\n", f"<!-- end: {block} -->"


def _block(text: str, block: str, part: str, body: str) -> str:
    """`text` with the generated block `block` of part `part` holding `body`."""
    start, end = block_markers(block, part)
    if start not in text or end not in text:
        raise MissingBlock(f"the block `{block}` ({start.strip()} ... {end.strip()}) is missing")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + body + "\n" + end + tail


def _table_at(text: str, header: str, table: str) -> str:
    """`text` with the Markdown table that starts at the line `header` replaced by `table`."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[:start] + table.split("\n") + lines[end:])


def network_ranges() -> str:
    """The network ranges the shipped stack files set (they have no defaults), per environment."""
    from stacks.config import read_stack_file
    from stacks.config.sizes import ENVIRONMENTS

    aws = [read_stack_file(f"aws-{env}").get("crm:network", {}) for env in ENVIRONMENTS]
    gcp = [read_stack_file(f"gcp-{env}").get("crm:network", {}) for env in ENVIRONMENTS]
    gcp_keys = ("subnetCidr", "podsCidr", "servicesCidr", "privateServicesCidr", "masterCidr")
    rows = [f"| | {' | '.join(ENVIRONMENTS)} |", "| --- |" + " --- |" * len(ENVIRONMENTS)]
    rows.append("| AWS VPC (`crm:network.cidr`) | " + " | ".join(str(n.get("cidr", "")) for n in aws) + " |")
    for key in ("publicSubnets", "privateSubnets", "dataSubnets"):
        rows.append(f"| AWS `crm:network.{key}` | " + " | ".join(", ".join(n.get(key, [])) for n in aws) + " |")
    for key in gcp_keys:
        rows.append(f"| GCP `crm:network.{key}` | " + " | ".join(str(n.get(key, "")) for n in gcp) + " |")
    return "\n".join(rows)


def _configuration(text: str) -> str:
    from .reports import config_doc

    text = _block(text, "network-ranges", "config", network_ranges())
    start = text.index(f"### {config_doc.TITLES[config_doc.KINDS[0]]}")
    return text[:start] + config_doc.document()


def _policies(text: str) -> str:
    from policies.catalog import table
    from policies.rules import ALL_RULES

    from .cli import checked_line

    example = "\n".join(
        [
            "```",
            "Policy check of aws-production: 2 mandatory, 0 advisory",
            "  CRITICAL",
            "    [mandatory] rds-not-public: Instance 'orders': publiclyAccessible must not be true",
            "    [mandatory] secrets-are-generated: Instance 'orders': password is not generated (no random.RandomPassword behind it); ...",
            checked_line(1, len(ALL_RULES), 2, 2),
            "```",
        ]
    )
    return _block(_table_at(text, "| rule | severity | enforcement |", table()), "check-output", "policies", example)


@functools.lru_cache(maxsize=1)
def _previews():
    """Every stack's offline preview, in deploy order (one run: a stack's references read the others' outputs)."""
    from .engine.workspace import preview_stacks, stack_names

    return [run.result for run in preview_stacks(stack_names())]


def _dr_previews():
    # The previews also run bootstrap, which the stacks reference: these documents describe the DR estate only.
    return [result for result in _previews() if result.stack in DR_STACKS]


@functools.lru_cache(maxsize=1)
def _estimates():
    from stacks.config import read_stack_file
    from stacks.config.cost import cost_settings

    from .reports import cost

    table = cost.load_prices()
    return [cost.estimate(r, cost_settings(r.stack, read_stack_file(r.stack)), table) for r in _previews()]


def estate_table(estimates) -> str:
    """Each stack's estimate against its crm:budget (what `python -m tools cost --all` prints per stack)."""
    rows = [
        f"Prices read {estimates[0].read}; `python -m tools cost <stack>` prints each line item.",
        "",
        "| stack | estimate (USD/month) | `crm:budget.monthlyUsd` | first alert (USD/month) | estimate / first alert |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for e in estimates:
        budget = e.settings.budget
        if budget is None:
            rows.append(f"| `{e.stack}` | {e.monthly_usd:,.2f} | none | | |")
            continue
        rows.append(
            f"| `{e.stack}` | {e.monthly_usd:,.2f} | {budget.monthly_usd:,.0f} | {budget.first_alert_usd:,.2f} | "
            f"{e.monthly_usd / budget.first_alert_usd:.0%} |"
        )
    rows.append(f"| **all {len(estimates)}** | **{sum(e.monthly_usd for e in estimates):,.2f}** | | | |")
    return "\n".join(rows)


def assumptions_table() -> str:
    """crm:costAssumptions' keys with their per-environment defaults (stacks/config/cost.py)."""
    from stacks.config.cost import ASSUMPTIONS
    from stacks.config.sizes import ENVIRONMENTS

    rows = [f"| key | cloud | meaning | unit | {' / '.join(ENVIRONMENTS)} |", "| --- | --- | --- | --- | --- |"]
    for cloud, keys in ASSUMPTIONS.items():
        for key, (meaning, unit, defaults) in keys.items():
            values = " / ".join(f"{defaults[env]:g}" for env in ENVIRONMENTS)
            rows.append(f"| `{key}` | {cloud} | {meaning} | {unit} | {values} |")
    return "\n".join(rows)


def _cost(text: str) -> str:
    from .reports import cost

    estimates = _estimates()
    text = _block(text, "price-table", "cost", cost.price_table_summary(cost.load_prices()))
    text = _block(text, "pricing-rules", "cost", cost.pricing_rules(estimates))
    text = _block(text, "usage-only", "cost", cost.usage_only_table(cost.load_prices()))
    text = _block(text, "estate", "cost", estate_table(estimates))
    text = _block(text, "assumptions", "cost", assumptions_table())
    seeds = [e for e in estimates if e.stack in DR_STACKS]
    return _table_at(text, "| cloud | line | seeds (USD/month) |", cost.seeds_comparison(seeds))


def _prerequisites(text: str) -> str:
    from .reports import prerequisites

    found = prerequisites.blocks_in(text)
    if not found:
        raise MissingBlock(f"no block of `{prerequisites.MARK}` is left")
    return prerequisites.rewrite(text, prerequisites.generate(_previews(), found))


def _permissions(text: str) -> str:
    from .reports import permissions_doc

    if permissions_doc.START not in text or permissions_doc.END not in text:
        raise MissingBlock(f"the block {permissions_doc.START} ... {permissions_doc.END} is missing")
    return permissions_doc.replace_in(text)


def deletion_guards() -> list[tuple[str, str, str]]:
    """(Args class, module, default) of every component Args with a `deletion_protection` field."""
    import components

    found = []
    for info in pkgutil.walk_packages(components.__path__, "components."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if not (isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == info.name):
                continue
            field = next((f for f in dataclasses.fields(value) if f.name == "deletion_protection"), None)
            if field is not None:
                default = "required" if field.default is dataclasses.MISSING else f"`{field.default}`"
                found.append((value.__name__, info.name.replace(".", "/") + ".py", default))
    return sorted(found)


def _components(text: str) -> str:
    rows = ["| Args | file | `deletion_protection` default |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | `{path}` | {default} |" for name, path, default in deletion_guards()]
    return _block(text, "deletion-protection", "components", "\n".join(rows))


def stacks_table(results) -> str:
    """README's stack table: each stack's cloud and the components its preview registers (stacks with the same
    components share a row)."""
    from stacks.config import read_stack_file

    rows: list[tuple[list[str], str, tuple[str, ...]]] = []
    for result in results:
        cloud = str(read_stack_file(result.stack).get("crm:cloud", ""))
        components = tuple(sorted({r.type.rsplit(":", 1)[-1] for r in result.resources if not r.custom and r.type.startswith("crm:")}))
        same = next((row for row in rows if row[1] == cloud and row[2] == components), None)
        if same:
            same[0].append(result.stack)
        else:
            rows.append(([result.stack], cloud, components))
    lines = ["| stack | `crm:cloud` | components (`python -m tools preview <stack>`) |", "| --- | --- | --- |"]
    for stacks, cloud, components in rows:
        lines.append(f"| {', '.join(f'`{s}`' for s in stacks)} | {cloud} | {', '.join(components)} |")
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def _deployed():
    """Every stack as deployed offline (the providers' computed values filled in), by stack name."""
    from .engine.workspace import preview_stacks, stack_names

    return {run.result.stack: run.result for run in preview_stacks(stack_names(), preview=False)}


PATH_STACKS = ("aws-dr", "gcp-dr", "aws-production")


def request_paths(results) -> str:
    """`python -m tools path` of the DR stacks and one stack the global load balancer does not balance."""
    from stacks.config import load, read_stack_file

    from .checks import request_path

    balancer = load("global", read_stack_file("global")).load_balancer
    blocks = []
    for stack in PATH_STACKS:
        balanced = stack in (balancer.aws_stack, balancer.gcp_stack)
        blocks.append("```\n" + request_path.walk(results[stack], results["global"] if balanced else None).render() + "\n```")
    return "\n\n".join(blocks)


def _request_path(text: str) -> str:
    return _block(text, "paths", "request-path", request_paths(_deployed()))


def rebuild_table(results) -> str:
    """The DR stacks' rebuild times (what `python -m tools rebuild-time` prints), and the estate's from nothing in deploy order."""
    from .reports import rebuild

    times = rebuild.load_times()
    rows = ["| stack | rebuilt from code in about | the chain that sets it |", "| --- | ---: | --- |"]
    total = 0.0
    for result in results:
        path = rebuild.rebuild_time(result, times)
        total += path.minutes
        chain = " -> ".join(f"`{step.name}` ({step.minutes:g})" for step in path.path if step.minutes >= 0.5) or "nothing slow"
        rows.append(f"| {result.stack} | {max(round(path.minutes), 1)} min | {chain} |")
    rows.append(f"| the DR estate from nothing ({' -> '.join(r.stack for r in results)}) | {max(round(total), 1)} min | |")
    return "\n".join(rows)


def _architecture(text: str) -> str:
    return _block(text, "rebuild-time", "architecture", rebuild_table(_dr_previews()))


def _readme(text: str) -> str:
    return _block(text, "stacks", "readme", stacks_table(_previews()))


def _layout(text: str) -> str:
    from .reports import layout_doc

    text = _block(text, "commands", "layout", layout_doc.commands_table())
    text = _block(text, "layout", "layout", layout_doc.layout_table())
    return _block(text, "deploy-order", "layout", layout_doc.deploy_order_lines())


def _tooling(text: str) -> str:
    from .reports import layout_doc

    text = _block(text, "tooling", "tooling", layout_doc.tooling_table())
    return _block(text, "docs-parts", "tooling", parts_table())


def parts_table() -> str:
    """Every part this module writes: its name, its documents, what it holds, and whether it runs the stacks' previews."""
    rows = ["| part | writes | what | runs the previews |", "| --- | --- | --- | --- |"]
    for part in PARTS.values():
        documents = ", ".join(f"`{path}`" for path in part.paths)
        rows.append(f"| `{part.name}` | {documents} | {part.what} | {'yes' if part.needs_previews else ''} |")
    return "\n".join(rows)


def _diagram(text: str) -> str:
    from .reports import diagram
    from .reports.cli import regions

    results = _dr_previews()
    return diagram.dot(results, regions(results))


PREREQUISITE_DOCS = ("docs/prerequisites.md", "docs/deploying.md")

PARTS = {
    part.name: part
    for part in (
        Part(
            "config",
            ("docs/configuration.md",),
            "every config key (python -m tools.reports.config_doc)",
            _configuration,
            blocks=("network-ranges",),
        ),
        Part(
            "policies",
            ("docs/policies.md",),
            "the policy pack's rules and check's counts (python -m policies.catalog)",
            _policies,
            blocks=("check-output",),
        ),
        Part(
            "cost",
            ("docs/cost.md",),
            "the price table, how each type is priced, every stack's estimate and budget, the usage assumptions, the DR estate against the seeds "
            "(python -m tools cost)",
            _cost,
            True,
            ("price-table", "pricing-rules", "usage-only", "assumptions", "estate"),
        ),
        Part("diagram", ("docs/img/architecture.dot",), "the architecture (python -m tools diagram global)", _diagram, True),
        Part(
            "prerequisites",
            PREREQUISITE_DOCS,
            "the Google APIs, the Cloudflare token, the manual steps (python -m tools.reports.prerequisites)",
            _prerequisites,
            True,
        ),
        Part("permissions", PREREQUISITE_DOCS, "the deployer permissions (python -m tools.reports.permissions_doc)", _permissions),
        Part(
            "components",
            ("docs/components.md",),
            "the components' deletion_protection arguments",
            _components,
            blocks=("deletion-protection",),
        ),
        Part(
            "architecture",
            ("docs/architecture.md",),
            "the DR stacks' rebuild times (python -m tools rebuild-time)",
            _architecture,
            True,
            ("rebuild-time",),
        ),
        Part("request-path", ("docs/request-path.md",), "the request paths (python -m tools path)", _request_path, True, ("paths",)),
        Part("readme", ("README.md",), "the stacks and the components each creates (python -m tools preview)", _readme, True, ("stacks",)),
        Part(
            "layout",
            ("README.md",),
            "the commands (their parsers), the folders (their docstrings, their components), the deploy order (the stacks' references)",
            _layout,
            blocks=("commands", "layout", "deploy-order"),
        ),
        Part(
            "tooling",
            ("docs/development.md",),
            "the modules and rooms of tools/ (their docstrings), the parts of this command",
            _tooling,
            blocks=("tooling", "docs-parts"),
        ),
    )
}


def stale(name: str) -> tuple[bool, dict[str, str]]:
    """(whether a document of the part differs from what the code generates, each document's wanted text)."""
    wanted = {}
    for path in PARTS[name].paths:
        try:
            wanted[path] = PARTS[name].render((ROOT / path).read_text())
        except MissingBlock as error:
            raise MissingBlock(f"{path}: {error}; restore it, or drop the part") from None
    return any(text != (ROOT / path).read_text() for path, text in wanted.items()), wanted


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
        try:
            outdated, wanted = stale(name)
        except MissingBlock as error:
            print(f"error: {error}", file=sys.stderr)
            code = 1
            continue
        if not outdated:
            continue
        code = 1
        for path, text in wanted.items():
            if text == (ROOT / path).read_text():
                continue
            if args.check:
                print(f"{path} is stale: {part.what}; run `python -m tools.docs {name}`", file=sys.stderr)
                continue
            (ROOT / path).write_text(text)
            print(f"updated {path}: {part.what}", file=sys.stderr)
            if name == "diagram":
                note = _render_svg(ROOT / path)
                if note:
                    print(note, file=sys.stderr)
    return code


if __name__ == "__main__":
    from tools.engine import tune_garbage_collector

    tune_garbage_collector()
    sys.exit(main())
