from __future__ import annotations

import pytest

from components.gcp.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
from tests.helpers import is_secret


def sql_args(**changes) -> CloudSqlPostgresArgs:
    values = dict(
        project="p",
        region="asia-northeast3",
        network_id="net",
        tier="db-custom-4-15360",
        disk_size_gb=200,
        availability="REGIONAL",
        backup_retention_count=30,
        deletion_protection=True,
        labels={},
        logical_decoding=True,
        kms_key="projects/p/keys/sql",
    )
    values.update(changes)
    return CloudSqlPostgresArgs(**values)


@pytest.fixture
def sql(run_component):
    return run_component(lambda: CloudSqlPostgres("sql", sql_args()))


@pytest.mark.parametrize(
    "stack,tier,disk",
    [("gcp-staging", "db-custom-2-7680", 50), ("gcp-production", "db-custom-4-15360", 100), ("gcp-dr", "db-custom-4-15360", 200)],
)
def test_instance_matches_the_matrix(shipped, stack, tier, disk):
    instance = shipped(stack).one("gcp:sql/databaseInstance:DatabaseInstance")
    settings = instance["settings"]
    assert (settings["tier"], settings["diskSize"], settings["availabilityType"]) == (tier, disk, "REGIONAL")
    assert instance["databaseVersion"] == "POSTGRES_15" and instance.protect


def test_dr_disk_is_ssd(shipped):
    assert shipped("gcp-dr").one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["diskType"] == "PD_SSD"


def test_dev_has_no_cloud_sql_by_default(shipped):
    assert shipped("gcp-dev").of_type("gcp:sql/databaseInstance:DatabaseInstance") == []


def test_private_ip_only_and_tls_required(sql):
    ip = sql.one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["privateNetwork"] == "net" and ip["sslMode"] == "ENCRYPTED_ONLY"


def test_backups_with_point_in_time_recovery(sql):
    backup = sql.one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["backupConfiguration"]
    assert backup["enabled"] is True and backup["pointInTimeRecoveryEnabled"] is True
    assert backup["backupRetentionSettings"] == {"retainedBackups": 30, "retentionUnit": "COUNT"}


def test_logical_decoding_flag_in_dr(sql):
    flags = {f["name"]: f["value"] for f in sql.one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["databaseFlags"]}
    assert flags["cloudsql.logical_decoding"] == "on" and flags["cloudsql.iam_authentication"] == "on"


def test_no_logical_decoding_outside_dr(shipped):
    flags = {f["name"] for f in shipped("gcp-production").one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["databaseFlags"]}
    assert "cloudsql.logical_decoding" not in flags


def test_deletion_protection_in_terraform_and_the_api(sql):
    instance = sql.one("gcp:sql/databaseInstance:DatabaseInstance")
    assert instance["deletionProtection"] is True and instance["settings"]["deletionProtectionEnabled"] is True


def test_maintenance_window_and_query_insights(sql):
    settings = sql.one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]
    assert settings["maintenanceWindow"]["day"] == 7 and settings["insightsConfig"]["queryInsightsEnabled"] is True


def test_database_crm_and_a_generated_secret_password(sql):
    assert sql.one("gcp:sql/database:Database")["name"] == "crm"
    user = sql.one("gcp:sql/user:User")
    assert user["name"] == "crmadmin" and is_secret(user["password"])


def test_encrypted_with_its_own_key(sql):
    assert sql.one("gcp:sql/databaseInstance:DatabaseInstance")["encryptionKeyName"] == "projects/p/keys/sql"


def _flags(result) -> dict:
    return {f["name"]: f["value"] for f in result.one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["databaseFlags"]}


def test_pgaudit_is_enabled_for_ddl_and_role_changes(sql):
    flags = _flags(sql)
    assert flags["cloudsql.enable_pgaudit"] == "on" and flags["pgaudit.log"] == "ddl,role" and flags["pgaudit.log_parameter"] == "off"


@pytest.mark.parametrize("flag", ["log_connections", "log_disconnections", "log_lock_waits", "log_checkpoints"])
def test_session_and_lock_events_are_logged(sql, flag):
    assert _flags(sql)[flag] == "on"


def test_slow_statements_are_not_logged_with_their_values_by_default(shipped):
    flags = _flags(shipped("gcp-production"))
    assert flags["log_min_duration_statement"] == "-1" and flags["log_min_error_statement"] == "panic"


def test_flags_are_only_those_cloud_sql_lists(sql):
    # log_parameter_max_length* are RDS parameters; Cloud SQL rejects flags it does not list.
    assert not {"log_parameter_max_length", "log_parameter_max_length_on_error", "shared_preload_libraries"} & set(_flags(sql))


def test_each_flag_is_set_once(sql):
    names = [f["name"] for f in sql.one("gcp:sql/databaseInstance:DatabaseInstance")["settings"]["databaseFlags"]]
    assert len(names) == len(set(names))
