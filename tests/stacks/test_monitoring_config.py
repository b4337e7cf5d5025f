"""Validation of crm:monitoring, crm:replication and the slot WAL bound: one error per bad key, naming it."""

from __future__ import annotations

import pytest

from stacks.config import ConfigValidationError, find_placeholders, load, read_stack_file, sizes
from tests.conftest import stack_config


def problems(stack: str, changes: dict) -> list[str]:
    with pytest.raises(ConfigValidationError) as caught:
        load(stack, stack_config(stack, changes))
    return [str(p) for p in caught.value.problems]


def test_lag_threshold_must_leave_room_before_the_rpo():
    found = problems("aws-dr", {"crm:monitoring": {"replicationLagSeconds": 5, "rpoSeconds": 5}})
    assert any(p.startswith("crm:monitoring.replicationLagSeconds: must be below rpoSeconds (5)") for p in found)


def test_lag_threshold_below_the_rpo_is_accepted():
    assert load("gcp-dr", stack_config("gcp-dr", {"crm:monitoring": {"replicationLagSeconds": 4}})).monitoring.replication_lag_seconds == 4


def test_an_alarm_needs_a_recipient():
    assert any(
        p.startswith("crm:monitoring.emails: must list at least one") for p in problems("aws-staging", {"crm:monitoring": {"emails": []}})
    )


def test_recipients_must_be_email_addresses():
    assert any(
        p.startswith("crm:monitoring.emails[1]: 'pager' is not an e-mail")
        for p in problems("gcp-staging", {"crm:monitoring": {"emails": ["a@acme-corp.io", "pager"]}})
    )


def test_billing_account_must_look_like_one():
    assert any(p.startswith("crm:monitoring.billingAccount:") for p in problems("gcp-dev", {"crm:monitoring": {"billingAccount": "acme"}}))


def test_budget_percentages_must_be_a_list_of_whole_percentages():
    assert any(p.startswith("crm:budget.alertPercents:") for p in problems("aws-dev", {"crm:budget": {"alertPercents": "80"}}))


@pytest.mark.parametrize(
    ("old", "new"), [("monthlyBudgetUsd", "crm:budget.monthlyUsd"), ("budgetAlertPercents", "crm:budget.alertPercents")]
)
def test_a_budget_key_under_monitoring_is_told_where_it_moved(old, new):
    assert f"crm:monitoring.{old}: has moved to {new}" in problems("gcp-dev", {"crm:monitoring": {old: 900}})


def test_misspelt_monitoring_key_is_an_error():
    assert any(
        p.startswith("crm:monitoring.cpuPercnt: is not a known setting") for p in problems("aws-dev", {"crm:monitoring": {"cpuPercnt": 70}})
    )


def test_slot_wal_bound_must_be_below_allocated_storage():
    found = problems("aws-dr", {"crm:database": {"allocatedStorage": 100, "maxSlotWalKeepSizeGb": 100}})
    assert any(p.startswith("crm:database.maxSlotWalKeepSizeGb: must be below allocatedStorage (100 GB)") for p in found)


def test_slot_wal_bound_defaults_to_a_share_of_storage():
    config = load("aws-dr", stack_config("aws-dr", {"crm:database": {"allocatedStorage": 500}}))
    assert config.database.max_slot_wal_keep_size_gb == int(500 * sizes.SLOT_WAL_SHARE_OF_STORAGE)


def test_replication_needs_the_tool_image():
    assert any(p.startswith("crm:replication.toolImage: is required") for p in problems("gcp-dr", {"crm:replication": {"toolImage": None}}))


def test_every_error_at_once():
    found = problems("gcp-dr", {"crm:monitoring": {"emails": [], "replicationLagSeconds": 9}, "crm:replication": {"toolImage": None}})
    keys = {p.split(":", 2)[0] + ":" + p.split(":", 2)[1] for p in found}
    assert {"crm:monitoring.emails", "crm:monitoring.replicationLagSeconds", "crm:replication.toolImage"} <= keys


def test_monthly_budget_is_the_stack_files_crm_budget():
    config = load("aws-production", stack_config("aws-production", {"crm:budget": {"monthlyUsd": 1234}}))
    assert (config.common.budget.monthly_usd, config.common.budget.alert_percents) == (1234, [80, 100])


@pytest.mark.parametrize("key", ["crm:monitoring.billingAccount", "crm:replication.toolImage", "crm:monitoring.emails[0]"])
def test_shipped_monitoring_placeholders_are_refused_at_up(key):
    assert key in {p.key for p in find_placeholders(read_stack_file("gcp-dr"))}
