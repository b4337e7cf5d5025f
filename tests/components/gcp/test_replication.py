"""The replication setup Job and the lag CronJob in gcp-dr: image, command, credentials and identity from the stack."""

from __future__ import annotations

import pytest

from components.postgres.scram import scram_sha_256
from stacks.config import load
from tests.components.gcp.test_monitoring import CHANGED as MONITORING_CHANGED
from tests.conftest import stack_config
from tests.helpers import is_secret, provider_value

# These tests read the monitoring tests' gcp-dr runs: on their worker, so that no two compute the same run at once.
pytestmark = pytest.mark.xdist_group("gcp-dr-monitoring")

CRON, JOB = "kubernetes:batch/v1:CronJob", "kubernetes:batch/v1:Job"


@pytest.fixture(scope="module")
def dr(run_once):
    return run_once("gcp-dr", preview=False), load("gcp-dr", stack_config("gcp-dr"))


def container(resource):
    spec = resource["spec"]
    pod = spec["jobTemplate"]["spec"]["template"]["spec"] if "jobTemplate" in spec else spec["template"]["spec"]
    return pod, pod["containers"][0]


def test_setup_job_runs_dr_setup_from_the_configured_image(dr):
    result, config = dr
    _, setup = container(result.one(JOB, "crm-dr-replication-setup"))
    assert setup["command"] == ["python", "-m", "dr", "setup"]
    assert setup["image"] == config.replication.tool_image


def test_lag_cronjob_measures_every_minute_against_the_lag_threshold(dr):
    result, config = dr
    cron = result.one(CRON)
    pod, lag = container(cron)
    assert cron["spec"]["schedule"] == "* * * * *" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert lag["command"] == [
        "python",
        "-m",
        "dr.metrics",
        "--max-seconds",
        str(config.monitoring.replication_lag_seconds),
        "--project",
        config.project_id,
    ]
    assert pod["serviceAccountName"] == result.one("kubernetes:core/v1:ServiceAccount", "crm-dr-replication-ksa")["metadata"]["name"]


def test_lag_threshold_follows_config(dr, run_once):
    # The monitoring tests' changed config moves crm:monitoring.replicationLagSeconds: one run serves both.
    result, changed = run_once("gcp-dr", MONITORING_CHANGED, preview=False), load("gcp-dr", stack_config("gcp-dr", MONITORING_CHANGED))
    _, lag = container(result.one(CRON))
    _, shipped_lag = container(dr[0].one(CRON))
    max_seconds = lag["command"].index("--max-seconds") + 1
    assert lag["command"][max_seconds] == str(changed.monitoring.replication_lag_seconds) != shipped_lag["command"][max_seconds]


def test_credentials_come_from_a_secret_built_from_stack_outputs(dr, plain, shipped):
    result, _ = dr
    secret = result.one("kubernetes:core/v1:Secret", "crm-dr-replication-endpoints")
    assert is_secret(secret["stringData"])
    values = plain(secret["stringData"])
    assert values["PUBLISHER_HOST"] == provider_value(shipped("aws-dr", preview=False).one("aws:rds/instance:Instance"), "address")
    assert values["SUBSCRIBER_HOST"] == provider_value(result.one("gcp:sql/databaseInstance:DatabaseInstance"), "privateIpAddress")
    assert values["SUBSCRIBER_PASSWORD"] == plain(result.one("gcp:sql/user:User")["password"])
    _, setup = container(result.one(JOB, "crm-dr-replication-setup"))
    assert setup["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    for resource in (result.one(JOB, "crm-dr-replication-setup"), result.one(CRON)):
        assert "PASSWORD" not in " ".join(container(resource)[1]["command"])


def test_lag_exporter_writes_metrics_only_through_workload_identity(dr, shipped):
    result, config = dr
    assert result.of_type("gcp:serviceaccount/account:Account") == []  # bootstrap's account, not one of the stack's
    email = shipped("bootstrap", preview=False).outputs["gcpServiceAccounts"][config.project_id]["replicationLag"]["email"]
    assert result.outputs["replicationLagAccount"] == email
    grants = [m for m in result.of_type("gcp:projects/iAMMember:IAMMember") if m["member"] == f"serviceAccount:{email}"]
    assert [g["role"] for g in grants] == ["roles/monitoring.metricWriter"]
    ksa = result.one("kubernetes:core/v1:ServiceAccount", "crm-dr-replication-ksa")
    assert ksa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == email
    binding = result.one("gcp:serviceaccount/iAMMember:IAMMember", "crm-dr-replication-wi")
    assert binding["member"] == f"serviceAccount:{config.project_id}.svc.id.goog[{config.replication.namespace}/{ksa['metadata']['name']}]"
    assert binding["serviceAccountId"] == f"projects/{config.project_id}/serviceAccounts/{email}"


def test_jobs_run_on_the_gke_cluster_after_the_vpn_link(dr):
    result, _ = dr
    job = result.one(JOB, "crm-dr-replication-setup")
    assert "::crm-dr-gke-k8s::" in job.provider
    peers = {p.urn for p in result.of_type("gcp:compute/routerPeer:RouterPeer")}
    assert len(peers) == 4 and peers <= set(job.dependencies)


def test_containers_run_unprivileged(dr):
    for resource in (dr[0].one(JOB, "crm-dr-replication-setup"), dr[0].one(CRON)):
        _, c = container(resource)
        assert c["securityContext"]["runAsNonRoot"] is True and c["securityContext"]["allowPrivilegeEscalation"] is False


def test_replication_can_be_switched_off(run_stack):
    result = run_stack("gcp-dr", {"crm:replication": {"enabled": False}})
    assert [j for j in result.of_type(JOB) if "replication" in j.name] == [] and result.of_type(CRON) == []
    assert not [p for p in result.of_type("gcp:monitoring/alertPolicy:AlertPolicy") if "replication-lag" in p.name]


def test_no_replication_jobs_outside_dr(shipped):
    assert [j for j in shipped("gcp-production").of_type(JOB) if "replication" in j.name] == []


def test_lag_exporter_binding_waits_for_the_cluster_that_creates_the_identity_pool(shipped):
    result = shipped("gcp-dr")
    binding = result.one("gcp:serviceaccount/iAMMember:IAMMember", "crm-dr-replication-wi")
    cluster = result.one("gcp:container/cluster:Cluster")
    assert cluster.parent in binding.dependencies or cluster.urn in binding.dependencies


def test_subscription_signs_in_as_the_replication_role_not_the_admin(shipped, plain):
    gcp, aws = shipped("gcp-dr", preview=False), shipped("aws-dr", preview=False)
    values = plain(gcp.one("kubernetes:core/v1:Secret", "crm-dr-replication-endpoints")["stringData"])
    assert values["REPLICATION_USER"] == aws.outputs["databaseReplicationUsername"] != aws.outputs["databaseUsername"]
    assert values["REPLICATION_PASSWORD"] == plain(aws.outputs["databaseReplicationPassword"])


def test_ports_read_from_the_aws_stack_are_integers_for_libpq(shipped, plain):
    values = plain(shipped("gcp-dr", preview=False).one("kubernetes:core/v1:Secret", "crm-dr-replication-endpoints")["stringData"])
    assert values["PUBLISHER_PORT"].isdigit() and values["SUBSCRIBER_PORT"].isdigit()


def test_the_lag_cronjob_signs_in_as_each_sides_monitor_role_and_never_sees_an_admin_password(dr, shipped, plain):
    result, config = dr
    aws = shipped("aws-dr", preview=False)
    _, lag = container(result.one(CRON))
    [source] = lag["envFrom"]
    lag_secret = result.one("kubernetes:core/v1:Secret", source["secretRef"]["name"])
    values = plain(lag_secret["stringData"])
    assert values["PUBLISHER_USER"] == aws.outputs["databaseMonitorUsername"] != aws.outputs["databaseUsername"]
    assert values["PUBLISHER_PASSWORD"] == plain(aws.outputs["databaseMonitorPassword"])
    assert values["SUBSCRIBER_USER"] == config.database.monitor_username
    admins = {plain(aws.outputs["databasePassword"]), plain(result.one("gcp:sql/user:User")["password"])}
    assert not admins & set(values.values()) and "REPLICATION_PASSWORD" not in values
    # The monitor role on Cloud SQL is the gcp-dr roles Job's, with its own generated password.
    roles = result.one("kubernetes:core/v1:Secret", "crm-dr-db-roles-credentials")
    assert plain(roles["stringData"])["MONITOR_PASSWORD_VERIFIER"] == scram_sha_256(values["SUBSCRIBER_PASSWORD"])
    assert "GRANT pg_monitor TO" in result.one("kubernetes:core/v1:ConfigMap", "crm-dr-db-roles-sql")["data"]["roles.sql"]
    # Only the setup Job mounts the admin Secret.
    mounts = [
        r.name
        for r in result.of_type(JOB) + result.of_type(CRON)
        if {"secretRef": {"name": "crm-dr-replication-endpoints"}} in container(r)[1].get("envFrom", [])
    ]
    assert mounts == ["crm-dr-replication-setup"]


def test_the_replication_namespace_admits_nothing_and_reaches_only_the_databases_dns_and_googles_apis(dr):
    result, config = dr
    policies = [
        p
        for p in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p["metadata"]["namespace"] == config.replication.namespace
    ]
    assert len(policies) == 2
    every = next(p for p in policies if p["spec"]["podSelector"] == {})
    assert every["spec"]["ingress"] == [] and set(every["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    postgres = next(e for e in every["spec"]["egress"] if e["ports"] == [{"protocol": "TCP", "port": 5432}])
    assert {b["ipBlock"]["cidr"] for b in postgres["to"]} == {
        str(config.interconnect.peer_vpc_cidr),
        str(config.network.private_services_cidr),
    }
    lag = next(p for p in policies if p["spec"]["podSelector"])
    pod_labels = result.one(CRON)["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert lag["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    https = next(e for e in lag["spec"]["egress"] if e["ports"] == [{"protocol": "TCP", "port": 443}])
    assert https["to"] == [{"ipBlock": {"cidr": "199.36.153.8/30"}}]  # private.googleapis.com, not the internet
    setup_labels = result.one(JOB, "crm-dr-replication-setup")["spec"]["template"]["metadata"]["labels"]
    assert not lag["spec"]["podSelector"]["matchLabels"].items() <= setup_labels.items()  # the setup Job gets no HTTPS


def test_the_jobs_verify_both_servers_certificates(dr, shipped, plain):
    result, _ = dr
    aws = shipped("aws-dr", preview=False)
    values = plain(result.one("kubernetes:core/v1:Secret", "crm-dr-replication-endpoints")["stringData"])
    assert (values["PUBLISHER_SSLMODE"], values["SUBSCRIBER_SSLMODE"]) == ("verify-full", "verify-ca")
    tls = result.one("kubernetes:core/v1:ConfigMap", "crm-dr-replication-tls")["data"]
    assert tls[values["PUBLISHER_SSLROOTCERT"].rsplit("/", 1)[1]] == aws.outputs["databaseCaCertificate"]
    instance = result.one("gcp:sql/databaseInstance:DatabaseInstance")
    assert tls[values["SUBSCRIBER_SSLROOTCERT"].rsplit("/", 1)[1]].splitlines() == [
        f"{instance.name}-ca-current",
        f"{instance.name}-ca-next",
    ]
    for resource in (result.one(JOB, "crm-dr-replication-setup"), result.one(CRON)):
        pod, c = container(resource)
        mount = next(m for m in c["volumeMounts"] if m["name"] == "tls")
        assert values["PUBLISHER_SSLROOTCERT"].startswith(mount["mountPath"] + "/")
        assert {"name": "tls", "configMap": {"name": "crm-dr-replication-tls"}} in pod["volumes"]


def test_the_lag_job_reaches_the_google_apis_it_calls_through_private_google_access(dr):
    """Its HTTPS egress admits private.googleapis.com alone: every API host dr.metrics calls must resolve there in the
    pod, and the subnet must carry Private Google Access over a VPC that keeps its default route."""
    import ipaddress
    import re

    from dr.metrics import API

    result, _ = dr
    pod, _ = container(result.one(CRON))
    https = next(
        e
        for p in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p["spec"]["podSelector"]
        for e in p["spec"]["egress"]
        if e["ports"] == [{"protocol": "TCP", "port": 443}]
    )
    allowed = ipaddress.ip_network(https["to"][0]["ipBlock"]["cidr"])
    called = set(re.findall(r"https://([^/]+)/", API))
    assert called
    resolved = {host for alias in pod["hostAliases"] for host in alias["hostnames"]}
    assert called <= resolved
    assert all(ipaddress.ip_address(alias["ip"]) in allowed for alias in pod["hostAliases"])
    subnet = result.one("gcp:compute/subnetwork:Subnetwork")
    network = result.one("gcp:compute/network:Network")
    assert subnet["privateIpGoogleAccess"] is True
    assert not network.get("deleteDefaultRoutesOnCreate")  # the route private.googleapis.com is reached by
    blocked = [
        f
        for f in result.of_type("gcp:compute/firewall:Firewall")
        if f.get("direction") == "EGRESS"
        and f.get("denies")
        and any(ipaddress.ip_network(r).overlaps(allowed) for r in f.get("destinationRanges") or [])
    ]
    assert blocked == []
