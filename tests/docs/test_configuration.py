"""docs/configuration.md: the key reference matches what the config layer accepts."""
from pathlib import Path

import pytest

from stacks import config as config_layer
from tools.offline import config_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize("kind", sorted(config_layer.KNOWN_KEYS))
def test_every_known_top_level_key_is_documented(kind):
    doc = DOC.read_text()
    missing = [key for key in config_layer.KNOWN_KEYS[kind] if f"`crm:{key}" not in doc]
    assert not missing, f"docs/configuration.md does not mention {missing} ({kind} stacks)"


@pytest.mark.parametrize("kind", config_doc.KINDS)
def test_key_table_matches_the_parsers(kind):
    assert config_doc.markdown(kind) in DOC.read_text(), (
        f"docs/configuration.md's {kind} table is stale: paste `python -m tools.offline.config_doc` into it")


@pytest.mark.parametrize("kind", config_doc.KINDS)
def test_every_key_a_parser_reads_has_a_description(kind):
    undescribed = [key for key in config_doc.keys_by_kind()[kind] if not config_doc.describe(kind, key)]
    assert not undescribed, f"add a line for {undescribed} to DESCRIPTIONS in tools/offline/config_doc.py"


def test_recording_finds_keys_read_only_when_their_section_is_set():
    # crm:interconnect is parsed only when present; the reference must still list its keys.
    assert "crm:interconnect.amazonSideAsn" in config_doc.keys_by_kind()["aws"]
    assert "crm:interconnect.routerAsn" in config_doc.keys_by_kind()["gcp"]



def test_a_changed_default_changes_the_table(monkeypatch):
    from stacks.config import model

    monkeypatch.setattr(model.RdsPostgres, "client_image", "registry.test/postgres:15")
    assert "`registry.test/postgres:15`" in config_doc.markdown("aws")
