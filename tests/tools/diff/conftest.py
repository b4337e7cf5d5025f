"""A test that patches code gets plans of its own: none is kept for other tests or the next run."""

from __future__ import annotations

import pytest

from tests.tools.diff import diff_support


@pytest.fixture(autouse=True)
def _nothing_kept_while_code_is_patched(request):
    diff_support.PATCHING.on = "monkeypatch" in request.fixturenames
    yield
    diff_support.PATCHING.on = False
