from __future__ import annotations

import json

import pytest

from components.aws.network import AwsNetwork, AwsNetworkArgs

TAGS = {"project": "crm", "environment": "test", "managed-by": "pulumi", "role": "network"}


def network_args(**changes) -> AwsNetworkArgs:
    values = dict(
        cidr="10.30.0.0/16",
        zones=["ap-northeast-2a", "ap-northeast-2c"],
        region="ap-northeast-2",
        public_subnets=["10.30.0.0/24", "10.30.1.0/24"],
        private_subnets=["10.30.10.0/24", "10.30.11.0/24"],
        data_subnets=["10.30.20.0/24", "10.30.21.0/24"],
        tags=TAGS,
    )
    values.update(changes)
    return AwsNetworkArgs(**values)


@pytest.fixture
def network(run_component):
    return run_component(lambda: AwsNetwork("net", network_args()))


def test_dr_vpc_matches_the_network_plan(shipped):
    result = shipped("aws-dr")
    assert result.one("aws:ec2/vpc:Vpc")["cidrBlock"] == "10.30.0.0/16"
    subnets = {s["cidrBlock"]: s["availabilityZone"] for s in result.of_type("aws:ec2/subnet:Subnet")}
    assert subnets["10.30.0.0/24"] == "ap-northeast-2a" and subnets["10.30.1.0/24"] == "ap-northeast-2c"
    assert subnets["10.30.10.0/24"] == "ap-northeast-2a" and subnets["10.30.11.0/24"] == "ap-northeast-2c"


def test_one_nat_gateway_per_zone(network):
    assert len(network.of_type("aws:ec2/natGateway:NatGateway")) == 2


def test_single_nat_gateway_for_dev(run_component):
    result = run_component(lambda: AwsNetwork("net", network_args(single_nat_gateway=True)))
    assert len(result.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(result.of_type("aws:ec2/route:Route")) == 3  # public default + one per private table, all to the one NAT


def test_data_subnets_have_no_route_to_the_internet(network):
    data_table = network.one("aws:ec2/routeTable:RouteTable", "net-data-rt")
    routes = [r for r in network.of_type("aws:ec2/route:Route") if r["routeTableId"] == data_table.name + "-id"]
    assert routes == []
    data_subnets = {s.name + "-id" for s in network.of_type("aws:ec2/subnet:Subnet") if s["tags"]["tier"] == "data"}
    associated = {
        a["subnetId"]
        for a in network.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if a["routeTableId"] == data_table.name + "-id"
    }
    assert associated == data_subnets


def test_private_subnets_route_out_through_their_zone_nat(network):
    routes = {r["routeTableId"]: r["natGatewayId"] for r in network.of_type("aws:ec2/route:Route") if r.get("natGatewayId")}
    assert routes == {"net-private-rt-a-id": "net-nat-a-id", "net-private-rt-c-id": "net-nat-c-id"}


def test_no_subnet_hands_out_public_ips(network):
    subnets = network.of_type("aws:ec2/subnet:Subnet")
    assert subnets and all(s["mapPublicIpOnLaunch"] is False for s in subnets)


def test_default_security_group_is_emptied(network):
    group = network.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.get("ingress") in (None, []) and group.get("egress") in (None, [])
    assert "ingress" in group.inputs and "egress" in group.inputs


def test_flow_logs_capture_all_traffic(network):
    flow_log = network.one("aws:ec2/flowLog:FlowLog")
    assert flow_log["trafficType"] == "ALL" and flow_log["logDestinationType"] == "cloud-watch-logs"


def test_s3_gateway_endpoint_serves_private_and_data_tables(network):
    endpoint = network.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint["serviceName"] == "com.amazonaws.ap-northeast-2.s3" and endpoint["vpcEndpointType"] == "Gateway"
    assert sorted(endpoint["routeTableIds"]) == ["net-data-rt-id", "net-private-rt-a-id", "net-private-rt-c-id"]


def test_eks_load_balancer_subnet_tags(network):
    tags = {s.name: s["tags"] for s in network.of_type("aws:ec2/subnet:Subnet")}
    assert tags["net-public-a"]["kubernetes.io/role/elb"] == "1"
    assert tags["net-private-a"]["kubernetes.io/role/internal-elb"] == "1"


def test_route_tables_are_exported_for_the_vpn(shipped):
    outputs = shipped("aws-dr").outputs
    assert len(outputs["privateRouteTableIds"]) == 2 and len(outputs["dataRouteTableIds"]) == 1


def test_mismatched_subnet_counts_are_refused():
    with pytest.raises(ValueError, match="one public, private and data subnet per zone"):
        network_args(data_subnets=["10.30.20.0/24"])


def test_flow_log_role_is_assumable_only_for_this_accounts_flow_logs(network):
    role = network.one("aws:iam/role:Role", "net-flow-logs-role")
    statement = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:ec2:ap-northeast-2:123456789012:vpc-flow-log/*"},
    }
