"""Private Pulumi SDK names are touched in one module only (tools/engine/sdk_internals.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = ROOT / "tools" / "engine" / "sdk_internals.py"
ROOMS = ("stacks", "components", "policies", "tools", "dr", "benchmarks", "tests")


def private_sdk_uses(path: Path) -> list[str]:
    """`from pulumi... import _x`, or `<name bound to a pulumi module>._x`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    sdk_names: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0].startswith("pulumi"):
                    sdk_names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0].startswith("pulumi"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                sdk_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in sdk_names:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Attribute) and node.attr == "SETTINGS":
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_private_sdk_names_appear_only_in_sdk_internals():
    files = [p for room in ROOMS for p in sorted((ROOT / room).rglob("*.py")) if p != ALLOWED]
    offenders = {str(p.relative_to(ROOT)): uses for p in files if (uses := private_sdk_uses(p))}
    assert not offenders
    assert len(files) > 100


def test_the_check_sees_private_names(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from pulumi.runtime import settings, rpc\nsettings.SETTINGS.outputs.clear()\nx = rpc._special_sig_key\n")
    assert len(private_sdk_uses(sample)) == 2
    assert private_sdk_uses(ALLOWED)  # the one module that does it is seen doing it
