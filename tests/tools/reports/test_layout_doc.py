"""README's layout and command tables and development.md's tooling table, generated from the tree (tools/reports/layout_doc.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.conftest import ALL_STACKS
from tools.cli import _parser
from tools.reports import layout_doc

ROOT = Path(__file__).resolve().parents[3]


def _rows(table: str) -> dict[str, str]:
    """First cell (code quotes stripped) -> the rest of the row."""
    rows = {}
    for line in table.splitlines()[2:]:
        first, rest = line.strip("| ").split(" | ", 1)
        rows[first.strip("`")] = rest
    return rows


def test_every_component_the_stacks_register_is_listed_in_the_room_that_defines_it(shipped):
    rows = _rows(layout_doc.layout_table())
    seen = 0
    for stack in ALL_STACKS:
        for r in shipped(stack).resources:
            if r.custom or not r.type.startswith("crm:"):
                continue
            room = r.type.split(":")[1]  # crm:<room>:<Name> where the room is a folder of components/
            name = r.type.rsplit(":", 1)[-1]
            holders = [
                path
                for path, what in rows.items()
                if path.startswith("components/") and f" {name}," in f" {what.strip('()')},".replace("(", " ")
            ]
            assert holders, f"{name} ({r.type}) is in no components row"
            if (ROOT / "components" / room).is_dir():
                assert f"components/{room}/" in holders, r.type
            seen += 1
    assert seen > 50


def test_every_folder_with_code_has_a_row_with_its_docstring():
    rows = _rows(layout_doc.layout_table())
    for folder in ("components/", "stacks/", "tools/", "policies/", "dr/", "tests/", "benchmarks/"):
        assert rows.get(folder), folder
    assert rows["stacks/"].startswith(layout_doc.summary(ROOT / "stacks" / "__init__.py"))
    assert "`config/`" in rows["stacks/"]


def test_every_command_of_both_command_lines_has_a_row():
    rows = _rows(layout_doc.commands_table())
    commands = {first.split()[1] for first in rows if first.startswith("tools ")}
    assert {"preview", "check", "cost", "tfplan", "scan", "diff", "verify", "webhooks", "first-deploy"} <= commands
    assert commands == {name for name, _, _ in layout_doc._subcommands(_parser())}
    assert any(first.startswith("dr failback ") and "{prepare,switch}" in first for first in rows)


def test_runnable_modules_are_listed_and_internal_ones_are_not():
    modules = layout_doc.module_commands()
    assert {"tools.docs", "tools.iam_scan", "tools.ci_variables", "dr.metrics", "policies.catalog"} <= set(modules)
    assert not {"tools.cli", "tools.diff.snapshot", "tools.iam_analysers", "tools.reports.layout_doc"} & set(modules)


def test_a_long_usage_line_keeps_its_positionals_and_says_options():
    parser = argparse.ArgumentParser(prog="python -m dr drill")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("stack", nargs="?")
    assert layout_doc.synopsis(parser, "dr drill") == "dr drill [--all] [stack]"
    for i in range(12):
        parser.add_argument(f"--option-number-{i}")
    parser.add_argument("step", choices=["prepare", "switch"])
    assert layout_doc.synopsis(parser, "dr drill") == "dr drill [options] stack {prepare,switch}"


def test_cells_escape_pipes_and_link_documents_from_where_the_table_is():
    assert layout_doc._cell("a|b") == "a\\|b"
    assert layout_doc._cell("see (docs/diff.md)", "README.md") == "see ([diff](docs/diff.md))"
    assert layout_doc._cell("(docs/diff.md says so)", "README.md") == "([diff](docs/diff.md) says so)"
    assert layout_doc._cell("(see docs/diff.md)", "README.md") == "(see [diff](docs/diff.md))"
    assert layout_doc._cell("see docs/runbooks/verify.md#top", "docs/development.md") == "see [verify](runbooks/verify.md#top)"


def test_the_tooling_table_has_every_module_and_room_of_tools():
    rows = _rows(layout_doc.tooling_table())
    wanted = {f"tools/{p.name}" for p in (ROOT / "tools").glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    wanted |= {f"tools/{p.parent.name}/" for p in (ROOT / "tools").glob("*/__init__.py")}
    assert {"tools/baseline.py", "tools/security_scan.py", "tools/reports/"} <= wanted
    assert set(rows) == wanted


def test_each_room_of_tools_names_every_module_it_holds():
    """The rooms' docstrings are what the tooling table shows of them: a module they leave out is missing from the docs."""
    rooms = sorted((ROOT / "tools").glob("*/__init__.py"))
    assert rooms
    for init in rooms:
        about = layout_doc.docstring(init)
        missing = [p.stem for p in init.parent.glob("*.py") if p.name != "__init__.py" and f"`{p.stem}`" not in about]
        assert missing == [], f"{init.parent.relative_to(ROOT)}/__init__.py does not name {missing}"


def test_the_deploy_order_puts_bootstrap_first_and_each_stack_after_what_it_reads():
    lines = layout_doc.deploy_order_lines().strip("`\n").splitlines()
    assert lines[0].startswith("bootstrap ")
    placed = [stack for line in lines for stack in line.split("(")[0].replace("->", " ").split()]
    assert sorted(placed) == sorted(ALL_STACKS)  # each stack once
    chain = next(line for line in lines if "->" in line).split("  ->  ")
    assert chain.index("aws-dr") < chain.index("gcp-dr") < chain.index("global")
    independent = next(line for line in lines if line.endswith("(independent)"))
    assert "aws-dev" in independent and "aws-dr" not in independent
