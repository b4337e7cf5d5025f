from __future__ import annotations

import pytest

from components.aws.vpn_gateway import VpnGateway, VpnGatewayArgs


def test_gateway_with_its_asn_propagates_into_every_route_table(run_component):
    result = run_component(
        lambda: VpnGateway(
            "vpn", VpnGatewayArgs(vpc_id="vpc-1", amazon_side_asn=64512, route_table_ids=["rt-a", "rt-c", "rt-data"], tags={})
        )
    )
    assert result.one("aws:ec2/vpnGateway:VpnGateway")["amazonSideAsn"] == "64512"
    propagated = sorted(p["routeTableId"] for p in result.of_type("aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"))
    assert propagated == ["rt-a", "rt-c", "rt-data"]


def test_public_asn_is_refused():
    with pytest.raises(ValueError, match="not a private ASN"):
        VpnGatewayArgs(vpc_id="v", amazon_side_asn=16509, route_table_ids=[], tags={})


def test_only_the_dr_stack_has_a_vpn_gateway(shipped):
    assert len(shipped("aws-dr").of_type("aws:ec2/vpnGateway:VpnGateway")) == 1
    assert shipped("aws-production").of_type("aws:ec2/vpnGateway:VpnGateway") == []


def test_dr_propagates_into_private_and_data_tables(shipped):
    assert len(shipped("aws-dr").of_type("aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation")) == 3
