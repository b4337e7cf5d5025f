"""The app_env secret of each cloud: its keys, and that each value comes from the resource it should."""

from __future__ import annotations

import json
import subprocess

import pytest

from components.postgres.scram import scram_sha_256
from tests.helpers import is_secret, secret_value

COMMON = {
    "DATABASE_URL",
    "DATABASE_READER_URL",
    "DATABASE_CA_CERT",
    "DATABASE_READER_CA_CERT",
    "DATABASE_USERNAME",
    "DATABASE_PASSWORD",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD",
    "REDIS_NODES",
    "REDIS_MAX_REDIRECTS",
    "REDIS_SSL",
    "SCHEDULER_PROVIDER",
    "MESSAGE_PROVIDER",
    "APP_PUBLIC_HOST",
    "AWS_REGION",
    "AWS_CONFIGURATION_SET",
    "AWS_SCHEDULE_ROLE_ARN",
    "AWS_SCHEDULE_SQS_ARN",
    "AWS_SCHEDULE_SQS_URL",
    "AWS_SCHEDULE_GROUP_NAME",
    "CLOUD_PROVIDER",
}


def app_env(result, type_):
    version = result.one(type_)
    payload = version["secretString"] if "secretString" in version.inputs else version["secretData"]
    assert is_secret(payload)
    return json.loads(secret_value(payload))


@pytest.fixture
def aws_env(shipped):
    return app_env(shipped("aws-dr", preview=False), "aws:secretsmanager/secretVersion:SecretVersion")


@pytest.fixture
def gcp_env(shipped):
    return app_env(shipped("gcp-dr", preview=False), "gcp:secretmanager/secretVersion:SecretVersion")


# The DR sizes run Redis replicas on both clouds, and the application reads from them (tests/stacks/test_paid_capacity.py).
READ_REPLICAS = {"REDIS_READ_HOST", "REDIS_READ_PORT"}


def test_aws_key_set(aws_env):
    assert set(aws_env) == COMMON | READ_REPLICAS


def test_gcp_key_set_adds_the_redis_ca_and_kafka(gcp_env):
    kafka = {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME", "KAFKA_PASSWORD"}
    assert set(gcp_env) == COMMON | READ_REPLICAS | {"REDIS_CA_CERT"} | kafka


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_no_aws_key_or_mail_password_in_app_env(cloud, aws_env, gcp_env):
    # EKS pods send with their IRSA role, GKE pods with a role they assume as their Google identity.
    env = {"aws": aws_env, "gcp": gcp_env}[cloud]
    assert not {k for k in env if k.startswith(("AWS_ACCESS", "AWS_SECRET", "MAIL_"))}


def test_each_cloud_names_itself_for_the_x_cloud_provider_header(aws_env, gcp_env):
    assert (aws_env["CLOUD_PROVIDER"], gcp_env["CLOUD_PROVIDER"]) == ("aws", "gcp")


def test_provider_switches(aws_env, gcp_env):
    assert (aws_env["SCHEDULER_PROVIDER"], aws_env["MESSAGE_PROVIDER"]) == ("aws", "aws")
    assert (gcp_env["SCHEDULER_PROVIDER"], gcp_env["MESSAGE_PROVIDER"]) == ("redis-kafka", "kafka")


def test_aws_values_come_from_aws_resources(aws_env, shipped):
    result = shipped("aws-dr", preview=False)
    assert aws_env["DATABASE_URL"] == (
        "jdbc:postgresql://crm-dr-db-postgres.rds.example.internal:5432/crm?sslmode=verify-full&sslrootcert=/etc/crm/database-tls/writer-ca.pem"
    )
    assert aws_env["REDIS_HOST"] == "crm-dr-cache-redis.cache.example.internal"
    assert aws_env["AWS_SCHEDULE_SQS_ARN"] == result.one("aws:sqs/queue:Queue", "crm-dr-tasks-queue").output("arn")
    assert aws_env["AWS_SCHEDULE_ROLE_ARN"] == result.one("aws:iam/role:Role", "crm-dr-tasks-scheduler").output("arn")
    assert aws_env["AWS_SCHEDULE_GROUP_NAME"] == result.one("aws:scheduler/scheduleGroup:ScheduleGroup")["name"]
    assert aws_env["AWS_CONFIGURATION_SET"] == result.one("aws:sesv2/configurationSet:ConfigurationSet")["configurationSetName"]


def test_aws_secrets_are_the_generated_ones(aws_env, shipped, plain):
    result = shipped("aws-dr", preview=False)
    assert aws_env["DATABASE_PASSWORD"] == plain(result.outputs["databaseAppPassword"])
    assert aws_env["REDIS_PASSWORD"] == plain(result.one("aws:elasticache/replicationGroup:ReplicationGroup")["authToken"])


def test_gcp_values_come_from_gcp_resources_and_aws_dr_outputs(gcp_env, shipped, plain):
    aws_outputs = shipped("aws-dr", preview=False).outputs
    assert gcp_env["REDIS_HOST"] == "10.23.1.4" and gcp_env["REDIS_PASSWORD"] == "crm-dr-redis-redis-auth-string"
    assert gcp_env["KAFKA_BOOTSTRAP_SERVERS"] == "crm-kafka-bootstrap.kafka.svc.cluster.local:9093"
    assert gcp_env["AWS_SCHEDULE_SQS_ARN"] == aws_outputs["scheduleQueueArn"]
    assert gcp_env["AWS_CONFIGURATION_SET"] == aws_outputs["sesConfigurationSet"]


def test_payloads_print_as_secret_in_the_preview(shipped):
    assert is_secret(shipped("aws-dr").one("aws:secretsmanager/secretVersion:SecretVersion")["secretString"])
    assert is_secret(shipped("gcp-dr").one("gcp:secretmanager/secretVersion:SecretVersion")["secretData"])


def test_aws_dr_preview_shows_the_platform(shipped):
    counts = shipped("aws-dr").count_by_type()
    assert counts["aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination"] == 1
    webhooks = [s for s in shipped("aws-dr").of_type("aws:sns/topicSubscription:TopicSubscription") if s["protocol"] == "https"]
    assert len(webhooks) == 1  # its own origin host; gcp-dr subscribes its own
    assert counts["aws:scheduler/scheduleGroup:ScheduleGroup"] == 1
    assert counts["aws:sqs/queue:Queue"] == 2
    assert counts["crm:aws:ApplicationRole"] == 1


def test_gcp_redis_ca_bundle_holds_every_ca_of_the_instance(gcp_env, shipped):
    redis = shipped("gcp-dr").one("gcp:redis/instance:Instance")
    assert gcp_env["REDIS_CA_CERT"].splitlines() == [f"{redis.name}-ca-current", f"{redis.name}-ca-next"]


def test_aws_redis_has_no_ca_bundle_amazon_certificates_are_publicly_trusted(aws_env):
    assert "REDIS_CA_CERT" not in aws_env


def test_aws_app_gets_the_task_queue_url_from_the_queue(aws_env, shipped):
    queue = next(q for q in shipped("aws-dr", preview=False).of_type("aws:sqs/queue:Queue") if q.name == "crm-dr-tasks-queue")
    assert aws_env["AWS_SCHEDULE_SQS_URL"] == f"https://sqs.ap-northeast-2.amazonaws.com/123456789012/{queue.name}"


def test_gcp_app_gets_the_same_task_queue_url_as_aws(aws_env, gcp_env):
    assert gcp_env["AWS_SCHEDULE_SQS_URL"] == aws_env["AWS_SCHEDULE_SQS_URL"]


# ---- the data path: RDS is the only writer until failover


def test_aws_reads_and_writes_rds(aws_env, shipped):
    address = shipped("aws-dr", preview=False).one("aws:rds/instance:Instance")
    rds = f"jdbc:postgresql://{address.name}.rds.example.internal:5432/crm?sslmode=verify-full&sslrootcert="
    assert aws_env["DATABASE_URL"].startswith(rds) and aws_env["DATABASE_READER_URL"].startswith(rds)


def test_gcp_writer_url_is_rds_private_address_from_aws_dr_outputs(gcp_env, shipped):
    aws_outputs = shipped("aws-dr", preview=False).outputs
    assert aws_outputs["databaseAddress"].endswith(".rds.example.internal")
    expected = (
        f"jdbc:postgresql://{aws_outputs['databaseAddress']}:{aws_outputs['databasePort']}/{aws_outputs['databaseName']}"
        "?sslmode=verify-full&sslrootcert=/etc/crm/database-tls/writer-ca.pem"
    )
    assert gcp_env["DATABASE_URL"] == expected
    assert gcp_env["DATABASE_CA_CERT"] == aws_outputs["databaseCaCertificate"]


def test_gcp_reader_url_is_cloud_sql_private_ip(gcp_env, shipped):
    gcp = shipped("gcp-dr", preview=False)
    # Cloud SQL's certificate does not name its private IP: the CA is verified, not the host name.
    assert gcp_env["DATABASE_READER_URL"] == (
        f"jdbc:postgresql://{gcp.outputs['databasePrivateIp']}:5432/crm?sslmode=verify-ca&sslrootcert=/etc/crm/database-tls/reader-ca.pem"
    )
    assert gcp.outputs["databasePrivateIp"] == "10.23.0.5"


def test_app_users_are_not_the_admin_users(aws_env, gcp_env, shipped):
    aws_outputs = shipped("aws-dr", preview=False).outputs
    admins = {aws_outputs["databaseUsername"], shipped("gcp-dr", preview=False).one("gcp:sql/user:User")["name"]}
    assert aws_env["DATABASE_USERNAME"] == gcp_env["DATABASE_USERNAME"] == "crm_app"
    assert not admins & {aws_env["DATABASE_USERNAME"], gcp_env["DATABASE_USERNAME"]}


def test_app_password_is_generated_not_the_master_password(aws_env, shipped, plain):
    result = shipped("aws-dr", preview=False)
    assert aws_env["DATABASE_PASSWORD"] == plain(result.outputs["databaseAppPassword"])
    assert aws_env["DATABASE_PASSWORD"] != plain(result.one("aws:rds/instance:Instance")["password"])


def test_gcp_app_signs_in_to_both_databases_with_the_writer_role_password(gcp_env, shipped, plain):
    aws_outputs = shipped("aws-dr", preview=False).outputs
    assert gcp_env["DATABASE_PASSWORD"] == plain(aws_outputs["databaseAppPassword"])
    roles_secret = shipped("gcp-dr", preview=False).one("kubernetes:core/v1:Secret", "crm-dr-db-roles-credentials")
    assert plain(roles_secret["stringData"])["APP_PASSWORD_VERIFIER"] == scram_sha_256(gcp_env["DATABASE_PASSWORD"])


def test_database_app_password_outputs_are_secret(shipped):
    assert is_secret(shipped("aws-dr", preview=False).outputs["databaseAppPassword"])
    assert is_secret(shipped("aws-dr", preview=False).outputs["databaseReplicationPassword"])


def test_rds_admits_the_gcp_pods_range_for_the_writer_path(shipped):
    from stacks.config import load, read_stack_file

    pods = str(load("gcp-dr", read_stack_file("gcp-dr")).network.pods_cidr)
    rules = [
        r
        for r in shipped("aws-dr").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "from-peer" in r.name and "-db-" in r.name
    ]
    assert any(r["cidrIpv4"] == pods and r["fromPort"] == 5432 for r in rules)


def test_gcp_kafka_client_uses_scram_over_tls_as_the_kafka_user(gcp_env, shipped, plain):
    gcp = shipped("gcp-dr", preview=False)
    user = gcp.one("kubernetes:kafka.strimzi.io/v1:KafkaUser")
    password_secret = gcp.one("kubernetes:core/v1:Secret", "crm-dr-kafka-app-password")
    assert (gcp_env["KAFKA_SECURITY_PROTOCOL"], gcp_env["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert gcp_env["KAFKA_USERNAME"] == user["metadata"]["name"]
    assert gcp_env["KAFKA_PASSWORD"] == plain(password_secret["stringData"])["password"]


def test_rds_is_verified_with_the_regions_rds_root_cas(aws_env, shipped):
    region = shipped("aws-dr", preview=False).outputs["region"]
    bundle = aws_env["DATABASE_CA_CERT"]
    assert bundle.count("-----BEGIN CERTIFICATE-----") == 3
    subjects = subprocess.run(
        ["openssl", "crl2pkcs7", "-nocrl", "-certfile", "/dev/stdin"], input=bundle, capture_output=True, text=True, check=True
    ).stdout
    printed = subprocess.run(
        ["openssl", "pkcs7", "-print_certs", "-noout"], input=subjects, capture_output=True, text=True, check=True
    ).stdout
    assert sorted(line.split("CN = ")[1].split(",")[0] for line in printed.splitlines() if line.startswith("subject")) == [
        f"Amazon RDS {region} Root CA {kind} G1" for kind in ("ECC384", "RSA2048", "RSA4096")
    ]


def test_gcp_reader_is_verified_with_every_server_ca_of_the_cloud_sql_instance(gcp_env, shipped):
    instance = shipped("gcp-dr").one("gcp:sql/databaseInstance:DatabaseInstance")
    assert gcp_env["DATABASE_READER_CA_CERT"].splitlines() == [f"{instance.name}-ca-current", f"{instance.name}-ca-next"]


@pytest.mark.parametrize("stack", ["aws-dr", "gcp-dr"])
def test_the_pods_mount_the_ca_files_the_urls_name(stack, shipped):
    deployment = next(d for d in shipped(stack).of_type("kubernetes:apps/v1:Deployment") if d["metadata"]["name"] == "crm")
    pod = deployment["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "database-tls"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "database-tls"]
    files = {f"{mount['mountPath']}/{item['path']}": item["key"] for item in volume["secret"]["items"]}
    assert volume["secret"]["secretName"] == "app-env"
    env = app_env(
        shipped(stack, preview=False),
        "aws:secretsmanager/secretVersion:SecretVersion" if stack == "aws-dr" else "gcp:secretmanager/secretVersion:SecretVersion",
    )
    for url_key, ca_key in (("DATABASE_URL", "DATABASE_CA_CERT"), ("DATABASE_READER_URL", "DATABASE_READER_CA_CERT")):
        path = env[url_key].split("sslrootcert=")[1]
        assert files[path] == ca_key and env[ca_key]
