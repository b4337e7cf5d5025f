"""docs/configuration.md: the key reference is generated from the config schema and kept in step."""

from pathlib import Path

import pytest

from stacks import config as config_layer
from stacks.config import model, schema
from tools.reports import config_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize("kind", sorted(config_layer.KNOWN_KEYS))
def test_every_known_top_level_key_is_documented(kind):
    doc = DOC.read_text()
    missing = [key for key in config_layer.KNOWN_KEYS[kind] if f"`crm:{key}" not in doc]
    assert not missing, f"docs/configuration.md does not mention {missing} ({kind} stacks)"


@pytest.mark.parametrize("kind", config_doc.KINDS)
def test_key_table_matches_the_schema(kind):
    assert config_doc.markdown(kind) in DOC.read_text(), f"docs/configuration.md's {kind} table is stale: run `python -m tools.docs config`"


@pytest.mark.parametrize("kind", config_doc.KINDS)
def test_every_setting_of_every_section_is_in_the_table(kind):
    listed = set(config_doc.keys_by_kind()[kind])
    declared = {
        f"crm:{name}.{key}"
        for name, cls in config_layer.SECTIONS[kind].items()
        for key in schema.known_keys(cls, kind)
        if schema._nested(cls, next(f.name for f, s in schema.settings_of(cls) if s.key == key)) is None
    }
    assert declared and declared <= listed, sorted(declared - listed)


def test_keys_of_a_section_read_only_when_present_are_listed():
    # crm:interconnect is read only in the DR stacks' files; the reference still lists its keys.
    assert "crm:interconnect.amazonSideAsn" in config_doc.keys_by_kind()["aws"]
    assert "crm:interconnect.insideCidrBlock" in config_doc.keys_by_kind()["gcp"]


def test_a_changed_default_changes_the_table(monkeypatch):
    field = model.RdsPostgres.model_fields["client_image"]
    changed = schema.Setting(**{**schema.setting_of(field).__dict__, "default": "registry.test/postgres:15"})
    monkeypatch.setattr(field, "json_schema_extra", {"setting": changed})
    assert "`registry.test/postgres:15`" in config_doc.markdown("aws")


def test_a_matrix_default_is_listed_per_environment():
    row = next(r for r in config_doc.rows("gcp") if r[0] == "crm:kubernetes.machineType")
    expected = "; ".join(f"{env}: `{model.sizes.GCP[env]['kubernetes']['machineType']}`" for env in model.sizes.ENVIRONMENTS)
    assert row[1] == expected


def test_limits_are_listed_from_the_schema():
    row = next(r for r in config_doc.rows("aws") if r[0] == "crm:redis.nodes")
    assert row[2] == "1-6"
