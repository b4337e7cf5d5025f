"""Every marked region of docs/ and README.md is generated: a hand edit inside one, or a lost marker, fails `python -m tools.docs --check`."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from tools import docs
from tools.reports import layout_doc

ROOT = Path(__file__).resolve().parents[2]
# One worker renders every stack's preview once (tools/docs.py caches them per process) for all the documents' tests.
pytestmark = pytest.mark.xdist_group("generated-docs")
MARKER = re.compile(r"<!-- generated: ([\w-]+) \(python -m tools\.docs ([\w-]+)\) -->")
REGIONS = [(part.name, block) for part in docs.PARTS.values() for block in part.blocks]


class _Once:
    """A generator's product, made on first use and kept while the module runs (clearing it, as the root conftest does
    after each test for a test that changed the fakes, keeps it: no test here changes what the generators read)."""

    def __init__(self, make):
        self._make = functools.cache(make)

    def __call__(self):
        return self._make()

    def cache_clear(self) -> None:
        pass


@pytest.fixture(scope="module", autouse=True)
def _generated_once():
    """What a part generates is a function of the code and the stack files, never of the documents these tests edit:
    the slow generators (the stacks' previews and estimates, README's layout) run once for the module, not per test."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("_previews", "_deployed", "_estimates"):
            patch.setattr(docs, name, _Once(getattr(docs, name)))
        for name in ("commands_table", "layout_table", "deploy_order_lines"):
            patch.setattr(layout_doc, name, _Once(getattr(layout_doc, name)))
        yield


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _holder(copy: Path, part: str, block: str) -> Path:
    start, _ = docs.block_markers(block, part)
    [path] = [copy / p for p in docs.PARTS[part].paths if start in (copy / p).read_text()]
    return path


def test_the_regions_the_generators_declare_are_the_regions_the_documents_mark():
    marked = sorted((part, block) for path in _documents() for block, part in MARKER.findall(path.read_text()))
    assert marked, "no generated region found"
    assert marked == sorted(REGIONS)  # each once, none undeclared


@pytest.mark.parametrize(("part", "block"), REGIONS, ids=[f"{part}:{block}" for part, block in REGIONS])
def test_a_hand_edit_inside_a_region_fails_the_check_and_is_put_back(copy, capsys, part, block):
    doc = _holder(copy, part, block)
    committed = doc.read_text()
    start, end = docs.block_markers(block, part)
    head, rest = committed.split(start, 1)
    body, tail = rest.split(end, 1)
    assert body.strip(), f"the region {block} is empty"
    doc.write_text(head + start + body.replace("\n", " (edited by hand)\n", 1) + end + tail)
    assert docs.main(["--check", part]) == 1
    assert f"{doc.relative_to(copy)} is stale" in capsys.readouterr().err
    assert docs.main([part]) == 1
    assert doc.read_text() == committed


@pytest.mark.parametrize(("part", "block"), REGIONS, ids=[f"{part}:{block}" for part, block in REGIONS])
def test_a_region_whose_markers_are_gone_fails_the_check(copy, capsys, part, block):
    doc = _holder(copy, part, block)
    start, end = docs.block_markers(block, part)
    doc.write_text(doc.read_text().replace(start, "").replace(end, ""))
    assert docs.main(["--check", part]) == 1
    assert f"`{block}`" in capsys.readouterr().err
