"""Cloud SQL keeps its backups in a location chosen on purpose (another region than the instance)."""

from __future__ import annotations

import pytest

from tests.stacks.test_config import one_problem

SQL = "gcp:sql/databaseInstance:DatabaseInstance"


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-production", "gcp-dr"])
def test_backups_are_kept_in_tokyo(shipped, stack):
    assert shipped(stack).one(SQL)["settings"]["backupConfiguration"]["location"] == "asia-northeast1"


def test_the_location_comes_from_config(run_stack):
    instance = run_stack("gcp-dr", {"crm:database": {"backupLocation": "asia"}}, preview=False).one(SQL)  # tests/docs' run too
    assert instance["settings"]["backupConfiguration"]["location"] == "asia"


def test_an_empty_location_leaves_the_choice_to_google(run_stack):
    instance = run_stack("gcp-dr", {"crm:database": {"backupLocation": ""}}).one(SQL)
    assert "location" not in instance["settings"]["backupConfiguration"]


@pytest.mark.parametrize("value,fragment", [("Tokyo", "GCP region"), ("asia-northeast3", "must differ from gcp:region")])
def test_a_bad_location_names_its_key(value, fragment):
    assert fragment in one_problem("gcp-dr", {"crm:database": {"backupLocation": value}}, "crm:database.backupLocation")
