"""Links between the documents: every relative link in README.md and docs/ reaches a file, and a heading where it names one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (an `<a id>` names one too): lower case, punctuation dropped except hyphens, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    named = set(re.findall(r'<a id="([^"]+)"></a>', text))
    return named | {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def links() -> list[tuple[Path, str]]:
    found = []
    for document in DOCUMENTS:
        for target in LINK.findall(document.read_text()):
            if not re.match(r"[a-z]+:", target):
                found.append((document, target))
    return found


LINKS = links()


def test_links_were_found():
    assert any(target.startswith("runbooks/changes.md#") for _, target in LINKS)


@pytest.mark.parametrize("document,target", LINKS, ids=[f"{d.relative_to(ROOT)}->{t}" for d, t in LINKS])
def test_the_link_reaches_its_file_and_heading(document, target):
    file, _, anchor = target.partition("#")
    path = (document.parent / file).resolve() if file else document
    assert path.exists(), f"{document.relative_to(ROOT)} links to {file}, which does not exist"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path), (
            f"{document.relative_to(ROOT)} links to #{anchor}, which {path.relative_to(ROOT)} has no heading for"
        )


def test_one_runbook_holds_the_day_two_changes():
    runbooks = ROOT / "docs" / "runbooks"
    assert not (runbooks / "day-two.md").exists()
    headings = anchors(runbooks / "changes.md")
    assert {"destroy-and-deploy-again", "refused-in-place", "rehearsed-changes"} <= headings
