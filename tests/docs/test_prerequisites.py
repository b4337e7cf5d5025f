"""The prerequisite lists in docs/ are generated from the code (the services and permissions tables, the manual
steps) and kept in step with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.cloudflare import permissions
from components.gcp import services
from tests.conftest import ALL_STACKS
from tools.reports import prerequisites

DOCS = Path(__file__).resolve().parents[2] / "docs"
WHERE = {"deploying.md": ["gcp-apis"], "prerequisites.md": ["gcp-apis", "cloudflare-token", "manual-steps"]}


@pytest.fixture
def results(shipped):
    return [shipped(stack) for stack in ALL_STACKS]


@pytest.mark.parametrize("document", sorted(WHERE))
def test_generated_blocks_match_the_code(document, results):
    found = prerequisites.blocks_in((DOCS / document).read_text())
    assert sorted(found) == sorted(WHERE[document])
    generated = prerequisites.generate(results, found)
    for name, body in found.items():
        assert body == generated[name], f"docs/{document} block {name} is stale: run `python -m tools.reports.prerequisites --write`"


def test_the_documented_cloudflare_token_holds_every_group_the_stacks_need(results):
    doc = (DOCS / "prerequisites.md").read_text()
    needed = prerequisites.token_groups(results)
    assert ("Zone Settings Write", "zone") in needed  # the SSL mode (ZoneSetting ssl=strict)
    for group, _ in needed:
        assert f"`{group}`" in doc, group


def test_every_cloudflare_type_and_invoke_the_stacks_use_has_a_permission_row(results):
    used = {r.type for result in results for r in result.resources if r.custom and r.type.startswith("cloudflare:index/")}
    used |= {token for result in results for token in result.invokes if token.startswith("cloudflare:")}
    assert "cloudflare:index/zoneSetting:ZoneSetting" in used and "cloudflare:index/getZone:getZone" in used
    for type_ in used:
        assert any(row.type == type_ for row in permissions.PERMISSIONS), type_


def test_the_docs_enable_by_hand_only_what_enabling_anything_needs():
    enabled_by_hand = set()
    for path in DOCS.glob("*.md"):
        for line in re.findall(r"gcloud services enable ([^\n`|]*?)(?:--project|\\\n|$)", path.read_text(), re.M):
            enabled_by_hand |= {word for word in line.split() if word.endswith(".googleapis.com")}
    assert enabled_by_hand == set(services.BEFORE_ANYTHING)


def test_a_changed_row_changes_the_documented_token(results, monkeypatch):
    row = next(r for r in permissions.PERMISSIONS if r.type == "cloudflare:index/zoneSetting:ZoneSetting")
    changed = permissions.PermissionRow(row.type, "Zone Settings Admin", row.scope, row.dashboard, row.source, row.setting)
    monkeypatch.setattr(permissions, "PERMISSIONS", tuple(changed if r is row else r for r in permissions.PERMISSIONS))
    assert "`Zone Settings Admin`" in prerequisites.cloudflare_token_block(results)


def test_manual_steps_name_their_stacks_and_request(results):
    block = prerequisites.manual_block(results)
    ses = next(line for line in block.splitlines() if line.startswith("| SES production access"))
    assert "| aws-dr |" in ses and "aws sesv2 put-account-details --production-access-enabled" in ses
