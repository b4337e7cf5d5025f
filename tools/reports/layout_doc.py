"""The project's rooms and commands described from the tree: README's layout and command tables, development.md's tooling table.

Every description is a module's or package's own docstring (its first paragraph), every command line
is what its argparse parser accepts, and every list (folders, components, modules, commands) is
read from the files, so the tables change when the code does; `python -m tools.docs layout tooling`
rewrites them.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The command lines of the project: (how README names it, the module, the function that builds its parser).
CLIS = (("tools", "tools.cli", "_parser"), ("dr", "dr.__main__", "parser"))
# Run by the tooling itself, never by a user: in the IAM analysers' virtualenv, and on the base revision for `diff`.
NOT_COMMANDS = {"tools.iam_analysers", "tools.diff.snapshot"}
SYNOPSIS_WIDTH = 100  # a longer usage line shows its positionals and `[options]`; `--help` lists them
_MAIN_GUARD = re.compile(r'^if __name__ == "__main__":', re.M)
_LINK = re.compile(r"\(?\b(docs/[\w./-]+\.md(?:#[\w-]+)?)\)?")


def docstring(path: Path) -> str:
    """A file's whole docstring on one line ("" without one)."""
    return " ".join((ast.get_docstring(ast.parse(path.read_text())) or "").split())


def summary(path: Path) -> str:
    """The first paragraph of a file's docstring on one line ("" without one)."""
    text = ast.get_docstring(ast.parse(path.read_text())) or ""
    return " ".join(text.split("\n\n", 1)[0].split())


def _cell(text: str, links_from: str = "") -> str:
    """`text` safe in a table cell; `docs/x.md` paths become links relative to `links_from`'s folder."""
    text = text.replace("|", "\\|")
    if not links_from:
        return text
    here = os.path.dirname(links_from) or "."

    def link(match: re.Match) -> str:
        target = os.path.relpath(match.group(1), here)
        label = Path(match.group(1).split("#")[0]).stem
        opened, closed = match.group(0).startswith("("), match.group(0).endswith(")")
        return ("(" if opened else "") + f"[{label}]({target})" + (")" if closed else "")

    return _LINK.sub(link, text)


def _packages(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.glob("*/__init__.py"))


def _registered_types(path: Path) -> list[str]:
    """The type tokens a module's components register: the first argument of `super().__init__("crm:...", ...)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"):
            continue
        target = node.func.value
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "super" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("crm:"):
                found.append(first.value)
    return found


def components_by_folder() -> dict[str, list[str]]:
    """`components/<room>/` -> the component types its modules register, by the name `preview` shows (the token's last part)."""
    found: dict[str, set[str]] = {}
    for room in _packages(ROOT / "components"):
        for path in room.rglob("*.py"):
            found.setdefault(f"components/{room.name}/", set()).update(t.rsplit(":", 1)[-1] for t in _registered_types(path))
    return {folder: sorted(names) for folder, names in sorted(found.items())}


def layout_table() -> str:
    """README's layout: the entry point, every top-level folder with code (its package docstring), each
    components room with the components it defines, and docs/."""
    rows = ["| path | what it holds |", "| --- | --- |"]
    rows.append(f"| `Pulumi.yaml`, `Pulumi.<stack>.yaml`, `__main__.py` | {_cell(summary(ROOT / '__main__.py'))} |")
    classes = components_by_folder()
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.py"))):
        init = folder / "__init__.py"
        if init.exists():
            what = summary(init)
        else:
            modules = sorted(folder.glob("*.py"))
            what = "; ".join(f"`{m.name}`: {summary(m)}" for m in modules)
        rooms = [p.name for p in _packages(folder)]
        if folder.name == "components":
            rows.append(f"| `{folder.name}/` | {_cell(what)} |")
            for room in _packages(folder):
                about = summary(room / "__init__.py").split(":")[0].rstrip(".")
                names = f"({', '.join(classes.get(f'components/{room.name}/', []))})"
                rows.append(f"| `components/{room.name}/` | {_cell(f'{about} {names}' if about else names)} |")
            continue
        if rooms:
            what += " Holds " + ", ".join(f"`{room}/`" for room in rooms) + "."
        rows.append(f"| `{folder.name}/` | {_cell(what, 'README.md')} |")
    rows.append("| `docs/` | the documents listed under Documentation below |")
    return "\n".join(rows)


def _wide(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=10_000)
    return parser


def synopsis(parser: argparse.ArgumentParser, name: str) -> str:
    """`name` and the arguments `parser` takes, as its usage line shows them (without -h)."""
    usage = _wide(parser).format_usage().removeprefix("usage: ").strip()
    line = " ".join([name, *usage.removeprefix(parser.prog).replace("[-h]", "").split()])
    if len(line) <= SYNOPSIS_WIDTH:
        return line
    positionals = [a.metavar or (f"{{{','.join(a.choices)}}}" if a.choices else a.dest) for a in parser._get_positional_actions()]
    return " ".join([name, "[options]", *map(str, positionals)])


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, the help its command list shows, its parser) of every subcommand."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {listed.dest: listed.help or "" for listed in action._choices_actions}
    return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]


def module_commands() -> list[str]:
    """Every module of tools/, dr/ and policies/ a user runs with `python -m` besides the two command lines."""
    found = []
    for room in ("tools", "dr", "policies"):
        for path in sorted((ROOT / room).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if path.name == "__main__.py" or module in NOT_COMMANDS or module in {cli for _, cli, _ in CLIS}:
                continue
            if _MAIN_GUARD.search(path.read_text()):
                found.append(module)
    return found


def commands_table() -> str:
    """README's command table: every subcommand of `python -m tools` and `python -m dr` with the help its
    parser shows, then every other runnable module with its own description."""
    rows = ["| command | what it does |", "| --- | --- |"]
    for name, module, builder in CLIS:
        parser = getattr(importlib.import_module(module), builder)()
        for command, help_text, sub in _subcommands(parser):
            rows.append(f"| `{_cell(synopsis(sub, f'{name} {command}'))}` | {_cell(help_text, 'README.md')} |")
    for module in module_commands():
        about = summary(ROOT / Path(*module.split(".")).with_suffix(".py"))
        rows.append(f"| `{module}` | {_cell(about, 'README.md')} |")
    return "\n".join(rows)


def tooling_table() -> str:
    """development.md's table of tools/: each module with its docstring's first paragraph, each room (subpackage) with its whole docstring."""
    tools = ROOT / "tools"
    rows = ["| file | what it does |", "| --- | --- |"]
    for path in sorted(tools.glob("*.py")):
        if path.name not in ("__init__.py", "__main__.py"):
            rows.append(f"| `tools/{path.name}` | {_cell(summary(path), 'docs/development.md')} |")
    for room in _packages(tools):
        rows.append(f"| `tools/{room.name}/` | {_cell(docstring(room / '__init__.py'), 'docs/development.md')} |")
    return "\n".join(rows)


def deploy_order_lines() -> str:
    """README's deploy order, from the stack files: the bootstrap stacks, the stacks that read and are read by no
    other (besides bootstrap), and each chain of stacks linked by StackReferences, in deploy order."""
    from stacks.config import load, read_stack_file

    from ..engine.workspace import deploy_order, stack_names

    order = deploy_order(stack_names())
    configs = {stack: load(stack, read_stack_file(stack)) for stack in order}
    bootstrap = [stack for stack in order if configs[stack].common.cloud == "bootstrap"]
    reads = {stack: set(configs[stack].references) - set(bootstrap) for stack in order if stack not in bootstrap}
    linked = {stack for stack, refs in reads.items() if refs} | {ref for refs in reads.values() for ref in refs}
    groups: list[set[str]] = []
    for stack in (s for s in reads if s in linked):
        touching = [g for g in groups if g & ({stack} | reads[stack])]
        merged = set().union({stack}, reads[stack], *touching)
        groups = [g for g in groups if g not in touching] + [merged]
    lines = ["  ".join(bootstrap) + "   (first, once, by a person)"] if bootstrap else []
    independent = [stack for stack in reads if stack not in linked]
    if independent:
        lines.append("  ".join(independent) + "   (independent)")
    for group in sorted(groups, key=lambda g: order.index(min(g, key=order.index))):
        lines.append("  ->  ".join(stack for stack in order if stack in group))
    return "```\n" + "\n".join(lines) + "\n```"
