"""The deployer permissions in docs/prerequisites.md and docs/deploying.md are the ones the tables grant."""

from __future__ import annotations

import pytest

from tools.reports import permissions_doc


@pytest.mark.parametrize("path", permissions_doc.DOCUMENTS, ids=lambda p: p.name)
def test_the_document_lists_the_generated_deployer_permissions(path):
    text = path.read_text()
    assert permissions_doc.block() in text, f"{path.name} is stale: run `python -m tools.reports.permissions_doc --write`"


def test_the_block_changes_with_the_table(monkeypatch):
    import components.bootstrap.ci_identity as ci

    before = permissions_doc.block()
    monkeypatch.setattr(permissions_doc, "PASSED_TO_SERVICES", [*ci.PASSED_TO_SERVICES, "lambda.amazonaws.com"])
    assert "`lambda.amazonaws.com`" in permissions_doc.block() and permissions_doc.block() != before
