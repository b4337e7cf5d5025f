from __future__ import annotations

import pytest

from components.gcp.network import GOOGLE_HEALTH_CHECK_RANGES, GcpNetwork, GcpNetworkArgs


def network_args(**changes) -> GcpNetworkArgs:
    values = dict(
        network_name="crm-dr",
        project="p",
        region="asia-northeast3",
        subnet_cidr="10.20.0.0/20",
        pods_cidr="10.21.0.0/16",
        services_cidr="10.22.0.0/20",
        private_services_cidr="10.23.0.0/20",
        labels={},
        peer_cidrs=["10.30.0.0/16"],
    )
    values.update(changes)
    return GcpNetworkArgs(**values)


@pytest.fixture
def network(run_component):
    return run_component(lambda: GcpNetwork("net", network_args()))


def firewalls(result) -> dict:
    return {f["name"]: f for f in result.of_type("gcp:compute/firewall:Firewall")}


def test_dr_network_matches_the_plan(shipped):
    result = shipped("gcp-dr")
    assert result.one("gcp:compute/network:Network")["name"] == "crm-dr"
    subnet = result.one("gcp:compute/subnetwork:Subnetwork")
    assert (subnet["ipCidrRange"], subnet["region"]) == ("10.20.0.0/20", "asia-northeast3")
    assert {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]} == {"pods": "10.21.0.0/16", "services": "10.22.0.0/20"}


def test_custom_mode_vpc(network):
    assert network.one("gcp:compute/network:Network")["autoCreateSubnetworks"] is False


def test_private_google_access_and_flow_logs(network):
    subnet = network.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet["privateIpGoogleAccess"] is True
    assert subnet["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"


def test_cloud_nat_logs_errors(network):
    nat = network.one("gcp:compute/routerNat:RouterNat")
    assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}


def test_private_services_access_is_abandoned_not_deleted(network):
    address = network.one("gcp:compute/globalAddress:GlobalAddress")
    assert (address["purpose"], address["address"], address["prefixLength"]) == ("VPC_PEERING", "10.23.0.0", 20)
    connection = network.one("gcp:servicenetworking/connection:Connection")
    assert connection["deletionPolicy"] == "ABANDON" and connection["service"] == "servicenetworking.googleapis.com"


def test_managed_services_learn_routes_from_the_vpn(network):
    routes = network.one("gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig")
    assert routes["exportCustomRoutes"] is True and routes["importCustomRoutes"] is True


def test_ingress_denied_by_default(network):
    deny = firewalls(network)["crm-dr-deny-ingress"]
    assert deny["denies"] == [{"protocol": "all"}] and deny["sourceRanges"] == ["0.0.0.0/0"] and deny["priority"] == 65534


def test_health_checkers_reach_only_the_application_port(network):
    rule = firewalls(network)["crm-dr-allow-health-checks"]
    assert rule["sourceRanges"] == GOOGLE_HEALTH_CHECK_RANGES and rule["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]


def test_aws_ranges_cross_only_on_the_ports_that_must(network):
    rules = firewalls(network)
    assert rules["crm-dr-allow-peer-app"]["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]
    assert rules["crm-dr-allow-egress-peer"]["allows"] == [{"protocol": "tcp", "ports": ["5432", "8080"]}]
    assert rules["crm-dr-deny-egress-peer"]["denies"] == [{"protocol": "all"}]
    assert rules["crm-dr-deny-egress-peer"]["priority"] > rules["crm-dr-allow-egress-peer"]["priority"]


def test_no_peer_rules_outside_dr(shipped):
    names = {f["name"] for f in shipped("gcp-production").of_type("gcp:compute/firewall:Firewall")}
    assert names and not any("peer" in n for n in names)
    assert any("peer" in f["name"] for f in shipped("gcp-dr").of_type("gcp:compute/firewall:Firewall"))  # what the check looks for


def test_no_firewall_opens_all_ports_to_the_world(shipped):
    for stack in ("gcp-dev", "gcp-dr"):
        for rule in shipped(stack).of_type("gcp:compute/firewall:Firewall"):
            if "0.0.0.0/0" in (rule.get("sourceRanges") or []):
                assert rule.get("allows") is None, rule["name"]


def test_cloud_sql_and_memorystore_attach_only_once_private_services_are_connected(shipped):
    result = shipped("gcp-production")
    connection = result.one("gcp:servicenetworking/connection:Connection").urn
    sql = result.one("gcp:sql/databaseInstance:DatabaseInstance")
    redis = result.one("gcp:redis/instance:Instance")
    assert connection in sql.property_dependencies["settings"]
    assert connection in redis.property_dependencies["authorizedNetwork"]
    assert connection in redis.property_dependencies["reservedIpRange"]
