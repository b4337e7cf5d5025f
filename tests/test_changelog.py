"""CHANGELOG.md: an Unreleased section first, deploy notes opening every release, and every moved config key explained."""

from __future__ import annotations

import re
from pathlib import Path

from stacks.config import schema

CHANGELOG = (Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
RELEASES = re.split(r"^## ", CHANGELOG, flags=re.M)[1:]


def test_unreleased_comes_first():
    assert RELEASES and RELEASES[0].startswith("Unreleased\n")


def test_every_release_opens_with_its_deploy_notes():
    for release in RELEASES:
        sections = re.findall(r"^### (.+)$", release, flags=re.M)
        assert sections[:1] == ["Deploy notes"], release.splitlines()[0]


def test_every_moved_config_key_is_explained():
    """The config error for a moved key points at the changelog; each old and new key is there."""
    assert schema.MOVED_KEYS
    for old, new in schema.MOVED_KEYS.items():
        assert f"`{old}`" in CHANGELOG, old
        assert f"`{new}`" in CHANGELOG, new
