"""The chart versions the components pin (and Renovate raises) are named in code only: a document that repeats one goes stale on the next update."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r'^[A-Z_]*VERSION[A-Z_]*\s*(?::\s*str)?\s*=\s*"(\d+\.\d+\.\d+)"', re.M)


def test_no_document_repeats_a_pinned_chart_version():
    pins = {version: path for path in (ROOT / "components").rglob("*.py") for version in PIN.findall(path.read_text())}
    assert len(pins) >= 2, "found no pinned chart version"
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            for version, source in pins.items():
                # `vX.Y.Z,` cites the upstream source read at that tag (provider data, webhook rules): it stays true.
                if re.search(rf"(?<![\w.]){re.escape(version)}(?![\w.])", line) and not re.search(rf"\bv{re.escape(version)}\b", line):
                    found.append(f"{doc.relative_to(ROOT)}:{number} names {version} ({source.relative_to(ROOT)})")
    assert found == []
