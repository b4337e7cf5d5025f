"""components/endpoints.py: both clouds' databases and caches present one shape, built from what they created."""

from __future__ import annotations

import pulumi
import pytest

from components.aws.elasticache import RedisCache
from components.aws.rds import PostgresDatabase
from components.endpoints import CacheEndpoint, DatabaseEndpoint, DatabaseUser
from components.gcp.cloudsql import CloudSqlPostgres
from components.gcp.memorystore import MemorystoreRedis
from tests.components.aws.test_elasticache import cache_args
from tests.components.aws.test_rds import db_args
from tests.components.gcp.test_cloudsql import sql_args
from tests.components.gcp.test_memorystore import redis_args
from tests.helpers import is_secret


def export_database(endpoint: DatabaseEndpoint) -> None:
    pulumi.export("host", endpoint.host)
    pulumi.export("port", endpoint.port)
    pulumi.export("database", endpoint.database)
    pulumi.export("username", endpoint.user.username)
    pulumi.export("password", endpoint.user.password)


def export_cache(endpoint: CacheEndpoint) -> None:
    pulumi.export("host", endpoint.host)
    pulumi.export("port", endpoint.port)
    pulumi.export("token", endpoint.auth_token)
    pulumi.export("tls", endpoint.tls)
    pulumi.export("cluster", endpoint.cluster)
    pulumi.export("hasCa", endpoint.ca_certificate is not None)


@pytest.fixture
def rds(run_component):
    return run_component(lambda: export_database(PostgresDatabase("db", db_args()).endpoint) or True)


@pytest.fixture
def cloudsql(run_component):
    return run_component(lambda: export_database(CloudSqlPostgres("sql", sql_args()).endpoint) or True)


def test_rds_endpoint_signs_in_as_the_admin_the_instance_was_created_with(rds):
    instance = rds.one("aws:rds/instance:Instance")
    assert (rds.outputs["username"], rds.outputs["password"]) == (instance["username"], instance["password"])
    assert (rds.outputs["database"], rds.outputs["port"]) == (instance["dbName"], instance["port"])


def test_cloudsql_endpoint_signs_in_as_the_user_created_on_the_instance(cloudsql):
    user = cloudsql.one("gcp:sql/user:User")
    assert (cloudsql.outputs["username"], cloudsql.outputs["password"]) == (user["name"], user["password"])
    assert cloudsql.outputs["database"] == cloudsql.one("gcp:sql/database:Database")["name"]


@pytest.mark.parametrize("database", ["rds", "cloudsql"])
def test_database_passwords_leave_the_endpoint_as_secrets(database, request):
    assert is_secret(request.getfixturevalue(database).outputs["password"])


def test_elasticache_endpoint_carries_the_groups_auth_token_over_tls(run_component):
    result = run_component(lambda: export_cache(RedisCache("c", cache_args()).endpoint) or True)
    group = result.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert result.outputs["token"] == group["authToken"] and is_secret(result.outputs["token"])
    assert result.outputs["tls"] is group["transitEncryptionEnabled"] is True
    assert result.outputs["port"] == group["port"]


def test_elasticache_endpoint_marks_cluster_mode_and_hands_out_no_ca(run_component):
    result = run_component(lambda: export_cache(RedisCache("c", cache_args(cluster_mode=True, shards=2)).endpoint) or True)
    assert result.one("aws:elasticache/replicationGroup:ReplicationGroup")["clusterMode"] == "enabled"
    assert result.outputs["cluster"] is True and result.outputs["hasCa"] is False


def test_memorystore_endpoint_is_tls_with_the_instances_ca_and_a_secret_token(run_component):
    result = run_component(lambda: export_cache(MemorystoreRedis("r", redis_args()).endpoint) or True)
    assert result.one("gcp:redis/instance:Instance")["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert result.outputs["tls"] is True and result.outputs["hasCa"] is True
    assert is_secret(result.outputs["token"])


def test_a_plain_password_handed_to_a_user_becomes_a_secret(run_component):
    result = run_component(lambda: pulumi.export("password", DatabaseUser("app", "not-yet-secret").password) or True)
    assert is_secret(result.outputs["password"])


def test_signed_in_as_keeps_the_server_and_changes_only_the_user(run_component):
    def build():
        server = PostgresDatabase("db", db_args()).endpoint
        app = server.signed_in_as(DatabaseUser("crm_app", "app-password"))
        pulumi.export("same", [app.host is server.host, app.port == server.port, app.database == server.database])
        pulumi.export("username", app.user.username)
        return True

    result = run_component(build)
    assert result.outputs["same"] == [True, True, True] and result.outputs["username"] == "crm_app"
