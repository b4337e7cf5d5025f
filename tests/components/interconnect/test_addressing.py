from __future__ import annotations

import ipaddress

import pytest

from components.interconnect import addressing

net = ipaddress.IPv4Network


def test_four_tunnel_cidrs_from_a_block():
    assert addressing.plan_inside_cidrs(net("169.254.10.0/28")) == [
        net("169.254.10.0/30"),
        net("169.254.10.4/30"),
        net("169.254.10.8/30"),
        net("169.254.10.12/30"),
    ]


def test_planned_cidrs_are_valid():
    assert addressing.inside_cidr_problems(addressing.plan_inside_cidrs(net("169.254.10.0/28"))) == []


@pytest.mark.parametrize(
    "reserved",
    ["169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30", "169.254.5.0/30", "169.254.169.252/30"],
)
def test_every_aws_reserved_range_is_refused(reserved):
    cidrs = [net(reserved), net("169.254.10.4/30"), net("169.254.10.8/30"), net("169.254.10.12/30")]
    assert addressing.inside_cidr_problems(cidrs) == [f"{reserved} is reserved by AWS ({reserved})"]


def test_duplicates_wrong_size_and_outside_link_local_are_refused():
    problems = addressing.inside_cidr_problems([net("169.254.10.0/30"), net("169.254.10.0/30"), net("169.254.10.8/29"), net("10.0.0.0/30")])
    assert "169.254.10.8/29 is not a /30" in problems
    assert "10.0.0.0/30 is not inside 169.254.0.0/16" in problems
    assert "lists the same /30 twice; every tunnel needs its own" in problems


def test_exactly_four_are_needed():
    assert addressing.inside_cidr_problems([net("169.254.10.0/30")]) == ["needs exactly 4 /30 ranges (one per tunnel), got 1"]


def test_aws_takes_the_first_host_and_gcp_the_second():
    assert addressing.tunnel_addresses(net("169.254.10.4/30")) == ("169.254.10.5", "169.254.10.6")


@pytest.mark.parametrize(
    "asn,expected",
    [
        (64512, []),
        (65534, []),
        (4200000000, []),
        (4294967294, []),
        (65535, ["Cloud Router ASN 65535 is not a private ASN (64512-65534 or 4200000000-4294967294)"]),
        (
            7224,
            [
                "Cloud Router ASN 7224 is not a private ASN (64512-65534 or 4200000000-4294967294)",
                "Cloud Router ASN 7224 is reserved by AWS (all regions)",
            ],
        ),
        (
            10124,
            [
                "Cloud Router ASN 10124 is not a private ASN (64512-65534 or 4200000000-4294967294)",
                "Cloud Router ASN 10124 is reserved by AWS (ap-northeast-1)",
            ],
        ),
    ],
)
def test_asn_rules(asn, expected):
    assert addressing.asn_problems(asn, role="Cloud Router") == expected


def test_tunnel_to_interface_mapping():
    # HA interface 0 carries connection A (peer interfaces 0, 1); interface 1 carries connection B (2, 3).
    assert addressing.tunnel_interface_map() == [(0, 0, 0), (1, 0, 1), (2, 1, 2), (3, 1, 3)]
