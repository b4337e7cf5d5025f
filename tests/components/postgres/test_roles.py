from __future__ import annotations

import pytest

from components.postgres.roles import DatabaseRoles, DatabaseRolesArgs, roles_sql
from components.postgres.scram import scram_sha_256
from tests.helpers import is_secret


def build(mode="read-write", replication="crm_replication", app_password=None):
    return lambda: DatabaseRoles(
        "roles",
        DatabaseRolesArgs(
            namespace="crm-db-roles",
            image="postgres:15-alpine",
            mode=mode,
            host="db.internal",
            database="crm",
            admin_username="crmadmin",
            admin_password="admin-secret-value",
            app_username="crm_app",
            app_password=app_password,
            replication_username=replication,
        ),
    )


@pytest.fixture
def writer(run_component):
    return run_component(build())


def test_read_only_mode_grants_no_writes():
    sql = roles_sql("read-only", "crm", "crmadmin", "crm_app")
    assert 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "crm_app";' in sql
    assert not any(word in sql for word in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "CREATE ON SCHEMA"))


def test_read_only_mode_revokes_nothing_so_a_rerun_after_promotion_keeps_writes():
    assert "REVOKE" not in roles_sql("read-only", "crm", "crmadmin", "crm_app")


def test_read_write_mode_grants_dml_on_present_and_future_tables():
    sql = roles_sql("read-write", "crm", "crmadmin", "crm_app")
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "crm_app";' in sql
    assert (
        'ALTER DEFAULT PRIVILEGES FOR ROLE "crmadmin" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "crm_app";' in sql
    )


def test_replication_role_gets_rds_replication_and_select_only():
    sql = roles_sql("read-write", "crm", "crmadmin", "crm_app", "crm_replication")
    grants = [
        line for line in sql.splitlines() if line.startswith(("GRANT", "ALTER DEFAULT")) and line.rstrip(";").endswith('"crm_replication"')
    ]
    assert 'GRANT rds_replication TO "crm_replication";' in grants
    assert all(("SELECT" in g or "rds_replication" in g or "CONNECT" in g or "USAGE ON SCHEMA" in g) for g in grants)
    assert not any(w in g for g in grants for w in ("INSERT", "UPDATE", "DELETE", "CREATE"))


def test_roles_are_created_only_when_missing():
    sql = roles_sql("read-write", "crm", "crmadmin", "crm_app", "crm_replication")
    assert sql.count("WHERE NOT EXISTS (SELECT FROM pg_roles") == 2 and "\\gexec" in sql


def test_passwords_come_from_the_environment_not_the_script(writer):
    script = writer.one("kubernetes:core/v1:ConfigMap")["data"]["roles.sql"]
    assert "\\getenv app_password APP_PASSWORD_VERIFIER" in script and "PASSWORD :'app_password'" in script
    assert "admin-secret-value" not in script


def test_only_the_reader_may_be_read_only():
    with pytest.raises(ValueError, match="replication"):
        roles_sql("read-only", "crm", "crmadmin", "crm_app", "crm_replication")


def test_rejects_a_role_that_is_not_a_plain_identifier():
    with pytest.raises(ValueError, match="identifier"):
        roles_sql("read-write", "crm", "crmadmin", 'app"; DROP TABLE x; --')


def test_rejects_the_admin_user_as_the_app_role():
    with pytest.raises(ValueError, match="admin"):
        DatabaseRolesArgs(
            namespace="n",
            image="i",
            mode="read-write",
            host="h",
            database="crm",
            admin_username="crmadmin",
            admin_password="p",
            app_username="crmadmin",
        )


def test_credentials_reach_the_job_through_a_secret_never_argv(writer, plain):
    job = writer.one("kubernetes:batch/v1:Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": writer.one("kubernetes:core/v1:Secret")["metadata"]["name"]}}]
    assert "env" not in container
    secret = writer.one("kubernetes:core/v1:Secret")["stringData"]
    assert is_secret(secret)
    values = plain(secret)
    assert values["PGUSER"] == "crmadmin" and values["PGSSLMODE"] == "require"
    argv = " ".join(container["command"] + container.get("args", []))
    assert not any(v and v in argv for k, v in values.items() if "PASSWORD" in k)


def test_job_container_is_unprivileged_with_limits(writer):
    pod = writer.one("kubernetes:batch/v1:Job")["spec"]["template"]["spec"]
    context = pod["containers"][0]["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False and context["capabilities"] == {"drop": ["ALL"]}
    assert set(pod["containers"][0]["resources"]["limits"]) == {"cpu", "memory"}


def test_job_namespace_egress_is_postgres_and_dns_only(writer):
    policy = writer.one("kubernetes:networking.k8s.io/v1:NetworkPolicy")["spec"]
    ports = sorted((p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 5432), ("UDP", 53)]
    assert policy["ingress"] == [] and set(policy["policyTypes"]) == {"Ingress", "Egress"}


def test_generated_passwords_when_none_is_given(writer):
    names = sorted(r.name for r in writer.of_type("random:index/randomPassword:RandomPassword"))
    assert names == ["roles-app-password", "roles-replication-password"]


def test_a_given_app_password_is_used_instead_of_a_new_one(run_component, plain):
    result = run_component(build(mode="read-only", replication=None, app_password="shared-writer-password"))
    assert not result.of_type("random:index/randomPassword:RandomPassword")
    assert plain(result.one("kubernetes:core/v1:Secret")["stringData"])["APP_PASSWORD_VERIFIER"] == scram_sha_256("shared-writer-password")


def test_gcp_dr_roles_are_read_only_and_aws_dr_read_write(shipped):
    gcp_sql = shipped("gcp-dr").one("kubernetes:core/v1:ConfigMap", "crm-dr-db-roles-sql")["data"]["roles.sql"]
    aws_sql = shipped("aws-dr").one("kubernetes:core/v1:ConfigMap", "crm-dr-db-roles-sql")["data"]["roles.sql"]
    assert "INSERT" not in gcp_sql and "INSERT" in aws_sql and "rds_replication" in aws_sql


def test_gcp_without_an_aws_writer_owns_its_writes(shipped):
    sql = shipped("gcp-production").one("kubernetes:core/v1:ConfigMap", "crm-production-db-roles-sql")["data"]["roles.sql"]
    assert "INSERT" in sql


def test_job_image_comes_from_config(run_stack):
    result = run_stack("aws-staging", {"crm:database": {"clientImage": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/psql:15.8"}})
    container = result.one("kubernetes:batch/v1:Job")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/psql:15.8"


def test_script_creates_pgaudit_before_any_role_change_and_tolerates_its_absence():
    sql = roles_sql("read-write", "crm", "crmadmin", "crm_app")
    extension = sql.index("CREATE EXTENSION IF NOT EXISTS pgaudit")
    assert extension < sql.index("CREATE ROLE") and "EXCEPTION WHEN OTHERS" in sql[extension : sql.index("CREATE ROLE")]


def test_script_without_audit_has_no_extension():
    assert "pgaudit" not in roles_sql("read-write", "crm", "crmadmin", "crm_app", audit=False)


@pytest.mark.parametrize(("stack", "mode"), [("aws-dr", "verify-full"), ("gcp-dr", "verify-ca")])
def test_the_roles_job_verifies_the_servers_certificate_with_its_ca(stack, mode, shipped, plain):
    result = shipped(stack, preview=False)
    env = plain(result.one("kubernetes:core/v1:Secret", "crm-dr-db-roles-credentials")["stringData"])
    files = result.one("kubernetes:core/v1:ConfigMap", "crm-dr-db-roles-sql")["data"]
    [mount] = result.one("kubernetes:batch/v1:Job", "crm-dr-db-roles-job")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    directory, name = env["PGSSLROOTCERT"].rsplit("/", 1)
    assert env["PGSSLMODE"] == mode and directory == mount["mountPath"]
    if stack == "aws-dr":  # the region's RDS root CAs, what the endpoint carries
        assert files[name].count("BEGIN CERTIFICATE") == 3 and files[name] == result.outputs["databaseCaCertificate"]
    else:  # every server CA of the Cloud SQL instance
        instance = result.one("gcp:sql/databaseInstance:DatabaseInstance")
        assert files[name].splitlines() == [f"{instance.name}-ca-current", f"{instance.name}-ca-next"]


def test_the_monitor_role_gets_connect_and_pg_monitor_only():
    sql = roles_sql("read-only", "crm", "crmadmin", "crm_app", monitor="crm_monitor")
    grants = [line for line in sql.splitlines() if line.startswith("GRANT") and line.rstrip(";").endswith('"crm_monitor"')]
    assert grants == ['GRANT CONNECT ON DATABASE "crm" TO "crm_monitor";', 'GRANT pg_monitor TO "crm_monitor";']
    assert "\\getenv monitor_password MONITOR_PASSWORD_VERIFIER" in sql
