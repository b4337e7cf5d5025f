"""StackReference wiring: deploy order, values fed from the referenced stack, missing outputs."""

from __future__ import annotations

import pytest

from stacks.references import MissingStackOutput
from tests.conftest import ALL_STACKS
from tools.engine import deploy_order, preview_stack
from tools.engine.workspace import exported_for_reference


def test_deploy_order_puts_referenced_stacks_first():
    order = deploy_order(ALL_STACKS)
    assert order.index("aws-dr") < order.index("gcp-dr") < order.index("global")
    assert set(order) == set(ALL_STACKS)


def test_gcp_dr_reads_the_aws_vpn_gateway_from_aws_dr(shipped):
    aws_dr = shipped("aws-dr", preview=False)
    gcp_dr = shipped("gcp-dr", preview=False)
    vgw_id = aws_dr.one("aws:ec2/vpnGateway:VpnGateway").name + "-id"
    assert aws_dr.outputs["vpnGatewayId"] == vgw_id
    for connection in gcp_dr.of_type("aws:ec2/vpnConnection:VpnConnection"):
        assert connection["vpnGatewayId"] == vgw_id


def test_global_reads_both_origins(shipped):
    aws_dr = shipped("aws-dr", preview=False)
    gcp_dr = shipped("gcp-dr", preview=False)
    pools = {p["name"]: p for p in shipped("global", preview=False).of_type("cloudflare:index/loadBalancerPool:LoadBalancerPool")}
    assert pools["crm-global-aws"]["origins"][0]["address"] == aws_dr.outputs["albDnsName"]
    assert pools["crm-global-gcp"]["origins"][0]["address"] == gcp_dr.outputs["originIp"]


def test_stack_reference_names_follow_the_organization_and_project(shipped):
    refs = shipped("global").of_type("pulumi:pulumi:StackReference")
    assert sorted(r["name"] for r in refs) == ["organization/crm/aws-dr", "organization/crm/gcp-dr"]


def test_reading_an_output_the_other_stack_does_not_export_is_a_clear_error(shipped):
    aws_outputs, secret_names = exported_for_reference(shipped("aws-dr"))
    del aws_outputs["vpnGatewayId"]
    with pytest.raises(MissingStackOutput, match="reads output 'vpnGatewayId' of stack 'aws-dr', which does not export it"):
        preview_stack("gcp-dr", reference_outputs={"aws-dr": (aws_outputs, secret_names)})


def test_secret_outputs_stay_secret_across_stacks(shipped):
    _outputs, secret_names = exported_for_reference(shipped("aws-dr"))
    assert "databasePassword" in secret_names and "kubeconfig" in secret_names
    assert "vpcId" not in secret_names
