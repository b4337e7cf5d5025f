"""The application's pods reach only what they use: the AWS APIs through VPC endpoints, never the whole internet
except where a service offers no private path (SES's sending API; AWS from GKE)."""

from __future__ import annotations

import pytest

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _egress(result) -> list[tuple[str, int]]:
    (policy,) = [p for p in result.of_type(POLICY) if p.name.endswith("-app-allow")]
    return [
        (peer.get("ipBlock", {}).get("cidr", "namespace"), port["port"])
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
        for port in rule["ports"]
    ]


def _world(result) -> list[tuple[str, int]]:
    return [(cidr, port) for cidr, port in _egress(result) if cidr == "0.0.0.0/0"]


@pytest.mark.parametrize("stack", ["aws-dev", "aws-production"])
def test_aws_pods_reach_the_aws_apis_through_endpoints_and_nothing_on_the_internet(shipped, stack):
    result = shipped(stack)
    assert _world(result) == []
    https = {cidr for cidr, port in _egress(result) if port == 443}
    data_subnets = {s["cidrBlock"] for s in result.of_type("aws:ec2/subnet:Subnet") if s["tags"].get("tier") == "data"}
    assert https == data_subnets and len(data_subnets) == 2


def test_the_app_apis_have_private_endpoints_in_the_data_subnets(shipped):
    result = shipped("aws-dev")
    endpoints = {
        e["serviceName"].rsplit(".", 1)[-1]: e
        for e in result.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e["vpcEndpointType"] == "Interface"
    }
    assert sorted(endpoints) == ["scheduler", "secretsmanager", "sqs", "sts"]
    assert all(e["privateDnsEnabled"] is True and len(e["subnetIds"]) == 2 for e in endpoints.values())
    (rule,) = [
        r for r in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.name.endswith("-endpoints-https")
    ]
    assert (rule["fromPort"], rule["toPort"], rule["cidrIpv4"]) == (443, 443, result.one("aws:ec2/vpc:Vpc")["cidrBlock"])


def test_with_mail_only_the_ses_api_leaves_the_vpc(shipped):
    result = shipped("aws-dr")
    assert _world(result) == [("0.0.0.0/0", 443)]
    assert "sns" in {e["serviceName"].rsplit(".", 1)[-1] for e in result.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}


def test_gcp_pods_without_aws_mail_have_no_internet_egress(shipped):
    assert _world(shipped("gcp-dev")) == []
    assert _world(shipped("gcp-production")) == []


def test_gcp_pods_with_aws_mail_reach_the_internet_on_https_only(shipped):
    assert _world(shipped("gcp-dr")) == [("0.0.0.0/0", 443)]


def test_the_gcp_subnet_keeps_private_google_access(shipped):
    assert shipped("gcp-dr").one("gcp:compute/subnetwork:Subnetwork")["privateIpGoogleAccess"] is True
