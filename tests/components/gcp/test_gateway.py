"""GCP address -> Gateway -> HTTPRoute -> Service, with its certificate map, health check and Cloud Armor policy."""

from __future__ import annotations

import pytest

from components.gcp.gateway import CERTMAP_ANNOTATION, GATEWAY_CLASS, AppGatewayArgs


@pytest.fixture(scope="module")
def gcp(run_once):
    return run_once("gcp-dr", preview=False)


def gateway(result):
    return result.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")


def route(result):
    return result.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")


def test_gateway_claims_the_reserved_address_by_name(gcp):
    address = gcp.one("gcp:compute/globalAddress:GlobalAddress", "crm-dr-origin-ip")
    assert gateway(gcp)["spec"]["addresses"] == [{"type": "NamedAddress", "value": address["name"]}]
    assert gcp.outputs["originAddressName"] == address["name"]


def test_gateway_is_the_global_external_managed_class_with_https_only(gcp):
    spec = gateway(gcp)["spec"]
    assert spec["gatewayClassName"] == GATEWAY_CLASS == "gke-l7-global-external-managed"
    assert [(listener["protocol"], listener["port"]) for listener in spec["listeners"]] == [("HTTPS", 443)]


def test_gateway_uses_the_certificate_map(gcp):
    certificate_map = gcp.one("gcp:certificatemanager/certificateMap:CertificateMap")
    assert gateway(gcp)["metadata"]["annotations"][CERTMAP_ANNOTATION] == certificate_map["name"]


def test_route_attaches_to_the_gateway_listener(gcp):
    gw, rt = gateway(gcp), route(gcp)
    assert rt["metadata"]["namespace"] == gw["metadata"]["namespace"]
    assert rt["spec"]["parentRefs"] == [{"name": gw["metadata"]["name"], "sectionName": gw["spec"]["listeners"][0]["name"]}]


def test_route_sends_to_the_app_service(gcp):
    from stacks.config import load, read_stack_file

    application = load("gcp-dr", read_stack_file("gcp-dr")).application
    service = gcp.one("kubernetes:core/v1:Service", "crm-dr-app-service")
    backends = [b for rule in route(gcp)["spec"]["rules"] for b in rule["backendRefs"]]
    assert backends == [{"name": service["metadata"]["name"], "port": service["spec"]["ports"][0]["port"]}]
    assert service["metadata"]["namespace"] == route(gcp)["metadata"]["namespace"]
    assert service["spec"]["ports"][0]["port"] == application.port


def _origin_record(result):
    return result.one("cloudflare:index/dnsRecord:DnsRecord", f"{result.stack.replace('gcp-', 'crm-')}-origin-dns-record")


def test_route_serves_the_public_host_and_the_gcp_origin_host(gcp):
    from stacks.config import load, read_stack_file

    public_host = load("gcp-dr", read_stack_file("gcp-dr")).common.public_host
    assert route(gcp)["spec"]["hostnames"] == [public_host, _origin_record(gcp)["name"]]


def test_health_check_probes_the_monitor_path_on_the_service(gcp):
    policy = gcp.one("kubernetes:networking.gke.io/v1:HealthCheckPolicy")
    backend = route(gcp)["spec"]["rules"][0]["backendRefs"][0]
    assert policy["spec"]["targetRef"] == {"group": "", "kind": "Service", "name": backend["name"]}
    deployment = gcp.one("kubernetes:apps/v1:Deployment")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]
    assert policy["spec"]["default"]["config"]["httpHealthCheck"]["requestPath"] == probe == "/health"


def test_backend_policy_attaches_the_cloud_armor_policy_to_the_service(gcp):
    policy = gcp.one("kubernetes:networking.gke.io/v1:GCPBackendPolicy")
    armor = gcp.one("gcp:compute/securityPolicy:SecurityPolicy")
    assert policy["spec"]["default"]["securityPolicy"] == armor["name"]
    assert policy["spec"]["targetRef"]["name"] == route(gcp)["spec"]["rules"][0]["backendRefs"][0]["name"]


def test_cluster_runs_the_gateway_api(gcp):
    assert gcp.one("gcp:container/cluster:Cluster")["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}


def test_gcp_origin_record_points_at_the_reserved_address_proxied(gcp):
    record = _origin_record(gcp)
    assert (record["type"], record["content"], record["proxied"]) == ("A", "198.51.100.80", True)


def test_rejects_a_relative_health_path():
    with pytest.raises(ValueError, match="health_check_path"):
        AppGatewayArgs(
            namespace="n",
            gateway_name="g",
            address_name="a",
            certificate_map="m",
            hostnames=["h.example.com"],
            service_name="s",
            service_port=80,
            security_policy="p",
            health_check_path="health",
        )
