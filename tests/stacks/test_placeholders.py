"""Shipped placeholder values: fine for a preview, refused by `pulumi up` before anything is registered."""

from __future__ import annotations

import pulumi
import pytest

import stacks
from stacks.config import find_placeholders
from tests.conftest import stack_config
from tools.cli import main
from tools.engine import run_program

REAL_AWS_DEV = {
    "crm:publicHost": "crm.acme-corp.io",
    "crm:ingress": {"certificateArn": "arn:aws:acm:ap-northeast-2:444455556666:certificate/1f2e3d4c-aaaa-bbbb-cccc-1234567890ab"},
    "crm:monitoring": {"emails": ["oncall@acme-corp.io"]},
    "crm:dns": {"zoneId": "5a1b2c3d4e5f60718293a4b5c6d7e8f9"},
    "crm:kubernetes": {"adminPrincipals": ["arn:aws:iam::444455556666:role/github-crm-deploy"]},
}


def test_up_refuses_placeholders_before_registering_anything():
    with pytest.raises(pulumi.RunError) as caught:
        run_program("aws-dev", stack_config("aws-dev"), stacks.main, preview=False)
    message = str(caught.value)
    assert "crm:dns.zoneId: 'fedcba9876543210fedcba9876543210' is a sample Cloudflare id" in message
    assert "crm:publicHost: 'crm-dev.example.com' is an example.com name" in message
    assert caught.value.registered_resources == []


# What the bootstrap stack exports that an AWS stack reads (its roles' permissions boundary).
BOOTSTRAP = {"bootstrap": ({"awsPermissionsBoundaryArn": "arn:aws:iam::123456789012:policy/crm-permissions-boundary"}, [])}


def test_preview_with_placeholders_runs_the_program():
    result = run_program("aws-dev", stack_config("aws-dev"), stacks.main, preview=True, stack_outputs=BOOTSTRAP)
    assert result.of_type("aws:ec2/vpc:Vpc")


def test_up_with_real_values_runs_the_program():
    result = run_program("aws-dev", stack_config("aws-dev", REAL_AWS_DEV), stacks.main, preview=False, stack_outputs=BOOTSTRAP)
    assert result.one("aws:lb/listener:Listener", "crm-dev-ingress-https")["certificateArn"].endswith("1234567890ab")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("oncall@example.com", True),
        ("crm.example.com", True),
        ("203.0.113.0/24", True),
        ("198.51.100.7/32", True),
        ("0123456789abcdef0123456789abcdef", True),
        ("crm-dr-project", True),
        ("ops@acme-corp.io", False),
        ("10.30.0.0/16", False),
        ("acme-crm-dr", False),
        ("example.company.io", False),
    ],
)
def test_what_counts_as_a_placeholder(value, expected):
    assert bool(find_placeholders({"crm:x": value})) is expected


def test_offline_preview_shows_the_entry_points_placeholder_warnings(capsys):
    assert main(["preview", "global"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning (global): ")]
    assert len(warnings) == len(find_placeholders(stack_config("global")))
    assert any("crm:loadBalancer.zoneId" in w and w.endswith("`pulumi up` will refuse it)") for w in warnings)


def test_offline_runs_against_fake_providers_do_not_refuse_placeholders_but_still_warn(shipped):
    result = shipped("global", preview=False)
    assert result.of_type("cloudflare:index/loadBalancer:LoadBalancer")
    assert any("crm:loadBalancer.zoneId" in w for w in result.warnings())
