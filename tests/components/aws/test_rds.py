from __future__ import annotations

import json

import pulumi
import pytest

from components.aws.rds import PostgresDatabase, PostgresDatabaseArgs
from tests.helpers import is_secret
from tools.diff import force_new


def db_args(**changes) -> PostgresDatabaseArgs:
    values = dict(
        vpc_id="vpc-1",
        subnet_ids=["data-a", "data-c"],
        app_security_group_id="sg-app",
        kms_key_arn="arn:kms:rds",
        instance_class="db.t3.large",
        allocated_storage_gb=200,
        max_allocated_storage_gb=400,
        multi_az=True,
        backup_retention_days=30,
        deletion_protection=True,
        tags={},
        logical_replication=True,
        replication_source_cidrs=["10.23.0.0/20"],
    )
    values.update(changes)
    return PostgresDatabaseArgs(**values)


@pytest.fixture
def db(run_component):
    return run_component(lambda: PostgresDatabase("db", db_args(), opts=pulumi.ResourceOptions(protect=True)))


@pytest.mark.parametrize(
    "stack,instance_class,storage,multi_az,retention,protection",
    [
        ("aws-staging", "db.t3.small", 50, True, 14, True),
        ("aws-production", "db.t3.medium", 100, True, 30, True),
        ("aws-dr", "db.t3.large", 200, True, 30, True),
    ],
)
def test_instance_matches_the_matrix(shipped, stack, instance_class, storage, multi_az, retention, protection):
    instance = shipped(stack).one("aws:rds/instance:Instance")
    assert (instance["instanceClass"], instance["allocatedStorage"], instance["multiAz"]) == (instance_class, storage, multi_az)
    assert (instance["backupRetentionPeriod"], instance["deletionProtection"]) == (retention, protection)
    assert instance.protect


def test_dev_has_no_database_by_default(shipped):
    assert shipped("aws-dev").of_type("aws:rds/instance:Instance") == []


def test_dev_database_can_be_switched_on_unprotected(run_stack):
    instance = run_stack("aws-dev", {"crm:database": {"enabled": True}}).one("aws:rds/instance:Instance")
    assert not instance.protect and instance["deletionProtection"] is False


def test_dr_database_is_crm_owned_by_crmadmin(shipped):
    instance = shipped("aws-dr").one("aws:rds/instance:Instance")
    assert (instance["dbName"], instance["username"], instance["engine"], instance["engineVersion"]) == (
        "crm",
        "crmadmin",
        "postgres",
        "15",
    )


def test_parameter_group_enables_logical_replication_at_reboot_and_forces_tls(db):
    parameters = {p["name"]: p for p in db.one("aws:rds/parameterGroup:ParameterGroup")["parameters"]}
    assert parameters["rds.logical_replication"] == {"name": "rds.logical_replication", "value": "1", "applyMethod": "pending-reboot"}
    assert parameters["rds.force_ssl"]["value"] == "1"
    assert db.one("aws:rds/parameterGroup:ParameterGroup")["family"] == "postgres15"


def test_no_logical_replication_outside_dr(shipped):
    parameters = {p["name"] for p in shipped("aws-production").one("aws:rds/parameterGroup:ParameterGroup")["parameters"]}
    assert "rds.logical_replication" not in parameters and "rds.force_ssl" in parameters


def test_storage_encrypted_private_and_tls_only(db):
    instance = db.one("aws:rds/instance:Instance")
    assert instance["storageEncrypted"] is True and instance["kmsKeyId"] == "arn:kms:rds"
    assert instance["publiclyAccessible"] is False


def test_final_snapshot_on_delete(db):
    assert db.one("aws:rds/instance:Instance")["skipFinalSnapshot"] is False


def test_final_snapshot_identifier_carries_a_suffix_drawn_for_this_instance(db):
    suffixes = db.of_type("random:index/randomString:RandomString")
    assert len(suffixes) == 2 and all(s["special"] is False and s.protect for s in suffixes)
    # By name: the two register in the order their inputs resolve, not the order they are declared.
    drawn = {s.name.rsplit("-", 1)[-1]: s.output("result") for s in suffixes}
    identifier = db.one("aws:rds/instance:Instance")["finalSnapshotIdentifier"]
    assert identifier == "db-final-" + drawn["suffix"] + drawn["incarnation"]


def test_final_snapshot_suffix_is_drawn_again_by_every_input_that_replaces_the_instance(db):
    # After a delete-first replacement the new instance must name another final snapshot (names stay taken):
    # every input the provider replaces the instance on, as the instance sets it, is a keeper of a suffix.
    replacing = force_new.rules("aws:rds/instance:Instance").replace_on
    instance = db.one("aws:rds/instance:Instance")
    keepers = {k: v for s in db.of_type("random:index/randomString:RandomString") for k, v in (s["keepers"] or {}).items()}
    set_here = [path for path in replacing if instance.get(path) is not None]
    assert {"dbName", "kmsKeyId", "username"} <= set(set_here)
    for path in set_here:
        assert str(keepers.get(path)).lower() == str(instance[path]).lower(), path
    assert keepers["identifier"] == instance["identifier"]


def test_log_groups_exist_before_the_instance_with_the_logs_key_and_retention(run_component):
    result = run_component(lambda: PostgresDatabase("db", db_args(logs_kms_key_arn="arn:kms:logs", log_retention_days=365)))
    groups = {g["name"]: g for g in result.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {"/aws/rds/instance/db/postgresql", "/aws/rds/instance/db/upgrade"}
    assert all(g["kmsKeyId"] == "arn:kms:logs" and g["retentionInDays"] == 365 for g in groups.values())
    dependencies = result.one("aws:rds/instance:Instance").dependencies
    assert all(g.urn in dependencies for g in groups.values())


def test_stack_log_groups_use_the_logs_key_and_configured_retention(run_stack):
    result = run_stack("aws-production", {"crm:database": {"logRetentionDays": 731}})
    groups = [g for g in result.of_type("aws:cloudwatch/logGroup:LogGroup") if g["name"].startswith("/aws/rds/instance/crm-production-db/")]
    logs_key = result.one("aws:kms/key:Key", "crm-production-keys-logs")
    assert len(groups) == 2 and all(g["retentionInDays"] == 731 for g in groups)
    assert all(logs_key.urn in g.property_dependencies.get("kmsKeyId", []) for g in groups)


def test_monitoring_role_is_assumable_only_for_this_accounts_instance(db):
    role = db.one("aws:iam/role:Role", "db-monitoring-role")
    statement = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:rds:ap-northeast-2:123456789012:db:db"},
    }


def test_monitoring_logs_insights_and_iam_auth(db):
    instance = db.one("aws:rds/instance:Instance")
    assert instance["performanceInsightsEnabled"] is True and instance["monitoringInterval"] == 60
    assert instance["monitoringRoleArn"] == db.one("aws:iam/role:Role", "db-monitoring-role").output("arn")
    assert instance["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert instance["iamDatabaseAuthenticationEnabled"] is True


def test_master_password_is_generated_and_secret(db):
    instance = db.one("aws:rds/instance:Instance")
    assert is_secret(instance["password"])
    password = db.one("random:index/randomPassword:RandomPassword")
    assert password["length"] >= 32 and not set(password["overrideSpecial"]) & set('/@" ')


def test_security_group_admits_only_the_application_and_the_peer(db):
    rules = db.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rules
    assert all(r["fromPort"] == r["toPort"] == 5432 for r in rules)
    sources = sorted((r.get("referencedSecurityGroupId") or r.get("cidrIpv4")) for r in rules)
    assert sources == ["10.23.0.0/20", "sg-app"]


def test_dr_database_admits_the_gcp_dr_ranges(shipped):
    cidrs = {
        r.get("cidrIpv4")
        for r in shipped("aws-dr").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.get("fromPort") == 5432
    }
    assert {"10.20.0.0/20", "10.21.0.0/16", "10.23.0.0/20"} <= cidrs


def test_subnet_group_in_the_data_subnets(db):
    assert db.one("aws:rds/subnetGroup:SubnetGroup")["subnetIds"] == ["data-a", "data-c"]


def test_slot_wal_is_bounded_from_config_and_applied_without_reboot(shipped):
    from stacks.config import load, read_stack_file

    config = load("aws-dr", read_stack_file("aws-dr"))
    parameters = {p["name"]: p for p in shipped("aws-dr").one("aws:rds/parameterGroup:ParameterGroup")["parameters"]}
    assert parameters["max_slot_wal_keep_size"] == {
        "name": "max_slot_wal_keep_size",
        "value": str(config.database.max_slot_wal_keep_size_gb * 1024),
        "applyMethod": "immediate",
    }
    assert 0 < config.database.max_slot_wal_keep_size_gb < config.database.allocated_storage_gb


def test_slot_wal_bound_follows_config(run_stack):
    parameters = run_stack("aws-dr", {"crm:database": {"maxSlotWalKeepSizeGb": 7}}).one("aws:rds/parameterGroup:ParameterGroup")[
        "parameters"
    ]
    assert {p["name"]: p["value"] for p in parameters}["max_slot_wal_keep_size"] == str(7 * 1024)


def test_slot_wal_bound_must_fit_in_storage():
    with pytest.raises(ValueError, match="must be below the allocated storage"):
        db_args(allocated_storage_gb=20, max_slot_wal_keep_size_mb=20 * 1024)


def test_instance_id_output_is_the_identifier(run_component):
    result = run_component(lambda: PostgresDatabase("db", db_args()))
    assert result.one("aws:rds/instance:Instance")["identifier"] == "db"


def _parameters(result) -> dict:
    return {p["name"]: p for p in result.one("aws:rds/parameterGroup:ParameterGroup")["parameters"]}


def test_pgaudit_is_preloaded_next_to_pg_stat_statements_at_reboot(db):
    preload = _parameters(db)["shared_preload_libraries"]
    assert preload["value"].split(",") == ["pg_stat_statements", "pgaudit"] and preload["applyMethod"] == "pending-reboot"


def test_pgaudit_logs_ddl_and_role_changes_without_parameters(db):
    parameters = _parameters(db)
    assert parameters["pgaudit.log"]["value"] == "ddl,role"
    assert parameters["pgaudit.log_parameter"]["value"] == "0"


@pytest.mark.parametrize("name", ["log_connections", "log_disconnections", "log_lock_waits", "log_checkpoints"])
def test_session_and_lock_events_are_logged_immediately(db, name):
    assert (_parameters(db)[name]["value"], _parameters(db)[name]["applyMethod"]) == ("1", "immediate")


def test_no_statement_text_or_bind_values_are_logged_by_default(db):
    parameters = _parameters(db)
    assert parameters["log_min_duration_statement"]["value"] == "-1"
    assert parameters["log_min_error_statement"]["value"] == "panic"
    assert parameters["log_parameter_max_length"]["value"] == "0" and parameters["log_parameter_max_length_on_error"]["value"] == "0"


def test_slow_statement_logging_is_an_explicit_opt_in(run_component):
    result = run_component(lambda: PostgresDatabase("db", db_args(slow_statement_ms=2000)))
    assert _parameters(result)["log_min_duration_statement"]["value"] == "2000"


def test_unknown_audit_class_is_refused():
    with pytest.raises(ValueError, match=r"pgaudit.log classes"):
        db_args(audit_classes="ddl,everything")


def test_shipped_rds_audits_like_the_component(shipped):
    assert _parameters(shipped("aws-dr"))["pgaudit.log"]["value"] == "ddl,role"


@pytest.mark.parametrize("store,port", [("crm-dr-db-from-app", 5432), ("crm-dr-cache-from-app", 6379), ("crm-dr-kafka-from-app", 9098)])
def test_data_stores_admit_only_the_application_pods_group(run_stack, store, port):
    result = run_stack("aws-dr", {"crm:platform": {"msk": True}})  # MSK is off by default
    pods = result.one("aws:ec2/securityGroup:SecurityGroup", "crm-dr-eks-app-pods")
    rule = result.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", store)
    assert rule["fromPort"] == port and pods.urn in rule.property_dependencies["referencedSecurityGroupId"]


def test_app_pods_and_the_role_job_get_the_pod_group(shipped):
    result = shipped("aws-dr")
    pods = result.one("aws:ec2/securityGroup:SecurityGroup", "crm-dr-eks-app-pods")
    policies = {p["metadata"]["namespace"]: p for p in result.of_type("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy")}
    assert sorted(policies) == ["crm", "crm-db-roles"]
    assert policies["crm"]["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "crm"
    assert all(pods.urn in p.property_dependencies["spec"] for p in policies.values())


def test_the_pod_group_policy_exists_before_the_pods(shipped):
    result = shipped("aws-dr")
    policy = result.one("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "crm-dr-app-pod-sg")
    assert policy.urn in result.one("kubernetes:apps/v1:Deployment").dependencies
    job_policy = result.one("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "crm-dr-db-roles-pod-sg")
    assert job_policy.urn in result.one("kubernetes:batch/v1:Job").dependencies


def test_burstable_nodes_with_pod_security_groups_are_refused():
    from tests.stacks.test_config import one_problem

    assert "no trunk ENI" in one_problem("aws-production", {"crm:kubernetes": {"instanceType": "t3.xlarge"}}, "crm:kubernetes.instanceType")
