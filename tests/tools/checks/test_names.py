"""The names check: every name a stack would send fits its cloud's rules, and the rules match their sources."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
from importlib import resources as package_files

import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from tests.conftest import ALL_STACKS
from tools.checks import names
from tools.cli import main


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_name_a_shipped_stack_sends_fits_its_cloud(stack, shipped):
    assert [p.message for p in names.problems(shipped(stack).resources)] == []


def test_every_aws_and_gcp_type_the_estate_creates_has_a_rule_or_a_reason_for_none(shipped):
    created = {r.type for stack in ALL_STACKS for r in shipped(stack).resources if r.custom and r.op != "read"}
    unclassified = sorted(t for t in created if t.split(":")[0] in ("aws", "gcp") and t not in names.RULES and t not in names.UNNAMED)
    assert unclassified == []


def test_a_33_character_autoname_fails_naming_resource_name_limit_and_source(run_component):
    logical = "crm-production-ingress-tg"  # 25 characters; the provider appends '-' and 7 more: 33
    result = run_component(lambda: aws.lb.TargetGroup(logical, port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1"))
    [problem] = names.problems(result.resources)
    assert len(problem.name) == 33 and problem.name.startswith(logical + "-") and problem.how == "autonamed"
    for part in (
        "aws:lb/targetGroup:TargetGroup",
        f"'{logical}'",
        "33 characters",
        "limit of 32",
        "botocore model elbv2 CreateTargetGroup.Name",
    ):
        assert part in problem.message


def test_an_explicit_name_over_the_limit_fails(run_component):
    result = run_component(
        lambda: gcp.container.Cluster("gke", name="crm-production-with-a-long-suffix-cluster", location="asia-northeast3")
    )
    [problem] = names.problems(result.resources)
    assert problem.how == "set" and "limit of 40" in problem.message and "container.v1 Cluster.name" in problem.message


def test_a_prefix_counts_the_characters_the_provider_appends(run_component):
    result = run_component(
        lambda: aws.lb.TargetGroup("app", name_prefix="crm-ap", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1")
    )
    assert names.problems(result.resources) == []
    result = run_component(
        lambda: aws.lb.TargetGroup("app", name_prefix="crm-app", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1")
    )
    [problem] = names.problems(result.resources)
    assert problem.how == "prefixed" and len(problem.name) == 7 + names.PREFIX_RANDOM


def test_characters_outside_the_rule_fail(run_component):
    result = run_component(lambda: aws.rds.Instance("db", identifier="crm--db", instance_class="db.t3.small", engine="postgres"))
    [problem] = names.problems(result.resources)
    assert "character rule" in problem.message and "crm--db" in problem.message


def test_an_msk_topic_name_is_held_to_kafkas_rule(run_component):
    result = run_component(lambda: aws.msk.Topic("t", cluster_arn="arn:msk", name="crm.orders/v2", partition_count=1, replication_factor=2))
    [problem] = names.problems(result.resources)
    assert "character rule" in problem.message and "aws:msk/topic:Topic" in problem.message


def test_a_forbidden_beginning_fails(run_component):
    result = run_component(lambda: aws.lb.LoadBalancer("lb", name="internal-crm"))
    [problem] = names.problems(result.resources)
    assert "must not begin with 'internal-'" in problem.message


def test_names_known_only_after_deploy_are_not_judged(run_component):
    def build():
        group = aws.lb.TargetGroup("app", name_prefix="app-", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1")
        # Were the unknown name taken for absent, the 30-character logical name would be autonamed past 32.
        aws.lb.LoadBalancer("crm-production-public-balancer", name=group.arn.apply(lambda arn: arn + "-" * 40))

    assert names.problems(run_component(build, preview=True).resources) == []


def test_check_command_fails_a_plan_with_a_33_character_autoname(tmp_path, capsys):
    logical = "crm-production-public-alb"  # 25 characters
    urn = f"urn:pulumi:aws-production::crm::aws:lb/loadBalancer:LoadBalancer::{logical}"
    inputs = {
        "loadBalancerType": "application",
        "internal": False,
        "dropInvalidHeaderFields": True,
        "enableDeletionProtection": True,
        "accessLogs": {"bucket": "logs", "enabled": True},
        "subnets": ["a", "b"],
        "securityGroups": ["sg"],
    }
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "steps": [
                    {"op": "create", "urn": urn, "newState": {"type": "aws:lb/loadBalancer:LoadBalancer", "urn": urn, "inputs": inputs}}
                ]
            }
        )
    )
    assert main(["check", "--plan", str(plan)]) == 1
    out = capsys.readouterr().out
    assert f"[mandatory] {names.POLICY}: aws:lb/loadBalancer:LoadBalancer '{logical}': name '{logical}-" in out
    assert "(33 characters, autonamed" in out and "limit of 32 characters" in out and "botocore model elbv2 CreateLoadBalancer.Name" in out


# ---------------------------------------------------------------- each limit against its source


def _text(value: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", value)).strip()


@functools.cache
def _botocore_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@functools.cache
def _discovery_text(api: str) -> str:
    document = json.loads((package_files.files("googleapiclient") / "discovery_cache" / "documents" / f"{api}.json").read_text())
    strings = []

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            strings.append(value)

    walk(document)
    return _text(" \n ".join(strings))


RULES = [(type_, rule) for type_, rules in names.RULES.items() for rule in rules]


@pytest.mark.parametrize("type_,rule", [(t, r) for t, r in RULES if r.source.kind == "botocore"], ids=lambda v: getattr(v, "field", v))
def test_aws_limit_is_what_botocore_states(type_, rule):
    service, ref = rule.source.ref.split(" ", 1)
    model = _botocore_model(service)
    if "." in ref:
        operation, member = ref.split(".")
        shape = model.operation_model(operation).input_shape.members[member]
    else:
        shape = model.shape_for(ref)
    assert shape.metadata.get("max", rule.max_length) == rule.max_length
    assert shape.metadata.get("min", rule.min_length) == rule.min_length
    assert "max" in shape.metadata or rule.source.quote, f"{type_}: botocore states no maximum; quote where it does"
    if rule.source.quote:
        assert rule.source.quote in _text(shape.documentation)
    if "max" not in shape.metadata:
        assert str(rule.max_length) in rule.source.quote or str(rule.max_length) in _text(shape.documentation)


@pytest.mark.parametrize(
    "type_,rule", [(t, r) for t, r in RULES if r.source.kind == "google-discovery"], ids=lambda v: getattr(v, "field", v)
)
def test_gcp_limit_is_what_googles_discovery_document_states(type_, rule):
    api = rule.source.ref.split(" ", 1)[0]
    assert rule.source.quote in _discovery_text(api)
    numbers = set(map(int, re.findall(r"\d+", rule.source.quote)))
    assert rule.max_length in numbers or str(rule.max_length) in rule.source.quote, f"{type_}: the quote does not state {rule.max_length}"


@pytest.mark.parametrize("type_,rule", [(t, r) for t, r in RULES if r.source.kind == "pulumi-sdk"], ids=lambda v: getattr(v, "field", v))
def test_limit_is_what_the_provider_sdk_states(type_, rule):
    path, _ = rule.source.ref.split(" ", 1)
    package, *modules, class_name = path.split(".")
    module = importlib.import_module(".".join([{"aws": "pulumi_aws", "gcp": "pulumi_gcp"}[package], *modules]))
    assert rule.source.quote in _text(inspect.getsource(getattr(module, class_name)))
    assert str(rule.max_length) in rule.source.quote


def test_every_rule_names_its_source():
    assert RULES and all(
        rule.source.kind in ("botocore", "google-discovery", "pulumi-sdk", "docs") and rule.source.ref for _, rule in RULES
    )
    assert all(rule.source.ref.startswith("https://") for _, rule in RULES if rule.source.kind == "docs")
