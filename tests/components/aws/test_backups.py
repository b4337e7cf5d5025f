"""Backups that are proven: the cross-region copy of RDS automated backups and the scheduled restore test."""

from __future__ import annotations

import json

import pytest

from components.aws.backups import BackupReplicaArgs, RestoreTestingArgs
from tests.stacks.test_config import one_problem

REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"


@pytest.fixture
def dr(shipped):
    return shipped("aws-dr")


def test_dr_replicates_automated_backups_to_tokyo_with_a_tokyo_key(dr):
    provider = dr.one("pulumi:providers:aws", name="crm-dr-ap-northeast-1")
    assert provider["region"] == "ap-northeast-1"
    replication = dr.one(REPLICATION)
    key = dr.one("aws:kms/key:Key", name="crm-dr-db-backup-copy-key")
    assert replication.provider.startswith(provider.urn) and key.provider.startswith(provider.urn)
    assert replication.property_dependencies["kmsKeyId"] == [key.urn]
    assert replication["retentionPeriod"] == 30 and key.protect and key["enableKeyRotation"] is True


def test_the_copy_follows_the_dr_database(dr):
    replication = dr.one(REPLICATION)
    instance = dr.one("aws:rds/instance:Instance")
    assert replication.property_dependencies["sourceDbInstanceArn"] == [instance.urn]


def test_the_database_itself_stays_in_the_stack_region(dr):
    assert "ap-northeast-1" not in dr.one("aws:rds/instance:Instance").provider


@pytest.mark.parametrize("stack,copied", [("aws-staging", False), ("aws-production", True), ("aws-dr", True)])
def test_copies_and_restore_tests_follow_the_environment(shipped, stack, copied):
    result = shipped(stack)
    assert bool(result.of_type(REPLICATION)) is copied
    assert bool(result.of_type("aws:backup/restoreTestingPlan:RestoreTestingPlan")) is copied


def test_a_monthly_restore_test_of_the_latest_snapshot_in_the_vault(dr):
    plan = dr.one("aws:backup/restoreTestingPlan:RestoreTestingPlan")
    vault = dr.one("aws:backup/vault:Vault")
    assert plan["scheduleExpression"] == "cron(0 18 1 * ? *)"
    selection = plan["recoveryPointSelection"]
    assert (selection["algorithm"], selection["recoveryPointTypes"]) == ("LATEST_WITHIN_WINDOW", ["SNAPSHOT"])
    assert plan.property_dependencies["recoveryPointSelection"] == [vault.urn]
    assert vault.protect


def test_the_restore_test_targets_the_database_with_a_restore_only_role(dr):
    selection = dr.one("aws:backup/restoreTestingSelection:RestoreTestingSelection")
    instance = dr.one("aws:rds/instance:Instance")
    assert selection["protectedResourceType"] == "RDS"
    assert selection.property_dependencies["protectedResourceArns"] == [instance.urn]
    role = next(r for r in dr.of_type("aws:iam/role:Role") if r.urn in selection.property_dependencies["iamRoleArn"])
    attached = [
        a["policyArn"]
        for a in dr.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if role.urn in a.property_dependencies.get("role", [])
    ]
    assert attached == ["arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"]
    assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}


def test_aws_backup_snapshots_the_database_daily_into_its_vault(dr):
    plan = dr.one("aws:backup/plan:Plan")
    rule = plan["rules"][0]
    assert rule["schedule"] == "cron(0 17 * * ? *)" and rule["lifecycle"] == {"deleteAfter": 30}
    backup_selection = dr.one("aws:backup/selection:Selection")
    assert backup_selection.property_dependencies["resources"] == [dr.one("aws:rds/instance:Instance").urn]


def test_a_replaced_database_replaces_the_backup_selection_delete_first(dr):
    # `resources` forces a new selection and its name is fixed within the plan: create-first would collide.
    assert dr.one("aws:backup/selection:Selection").options.get("deleteBeforeReplace") is True


def test_restore_testing_plan_names_use_only_letters_digits_and_underscores(dr):
    assert dr.one("aws:backup/restoreTestingPlan:RestoreTestingPlan")["name"] == "crm_dr_db_restore_test"


def test_turning_both_off_in_config(run_stack):
    result = run_stack("aws-dr", {"crm:database": {"backupCopyRegion": "", "restoreTesting": False}})
    assert result.of_type(REPLICATION) == [] and result.of_type("aws:backup/vault:Vault") == []


@pytest.mark.parametrize("value,fragment", [("tokyo", "AWS region"), ("ap-northeast-2", "must differ from aws:region")])
def test_a_bad_copy_region_names_its_key(value, fragment):
    assert fragment in one_problem("aws-dr", {"crm:database": {"backupCopyRegion": value}}, "crm:database.backupCopyRegion")


def test_replica_retention_is_bounded():
    with pytest.raises(ValueError, match="1-35"):
        BackupReplicaArgs(source_db_instance_arn="arn", retention_days=36, tags={})


def test_restore_testing_refuses_a_schedule_that_is_not_cron():
    with pytest.raises(ValueError, match="restore_schedule"):
        RestoreTestingArgs(db_instance_arn="arn", kms_key_arn="arn", tags={}, restore_schedule="monthly")
