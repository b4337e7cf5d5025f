"""The Terraform plan export (tools/reports/terraform_plan.py) and its type table (terraform_types.py)."""

from __future__ import annotations

import copy
import functools
import json

import pytest

from tests.conftest import ALL_STACKS, _shipped
from tools import cli
from tools.engine.engine import PreviewResult, Secret
from tools.reports import terraform_types
from tools.reports.terraform_plan import export


@functools.cache
def _plan(stack: str) -> dict:
    return export(_shipped(stack, True)).plan


def plan_of(stack: str) -> dict:
    return copy.deepcopy(_plan(stack))


def planned(plan: dict, address: str) -> dict:
    return next(r for r in plan["planned_values"]["root_module"]["resources"] if r["address"] == address)


def configured(plan: dict, address: str) -> dict:
    return next(r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address)


def change(plan: dict, address: str) -> dict:
    return next(r for r in plan["resource_changes"] if r["address"] == address)


def first_of_type(plan: dict, tf_type: str) -> dict:
    return next(r for r in plan["planned_values"]["root_module"]["resources"] if r["type"] == tf_type)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_cloud_resource_type_a_stack_creates_has_a_terraform_type(stack):
    tokens = {r.type for r in _shipped(stack, True).resources if r.custom and not terraform_types.skipped(r.type)}
    unmapped = []
    for token in sorted(tokens):
        try:
            terraform_types.terraform_type(token)
        except terraform_types.UnmappedType:
            unmapped.append(token)
    assert unmapped == []


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_the_export_holds_every_aws_gcp_and_cloudflare_resource_of_the_stack_once(stack):
    result = _shipped(stack, True)
    wanted = sorted(r.urn for r in result.resources if r.custom and r.op != "read" and not terraform_types.skipped(r.type))
    plan = _plan(stack)
    addresses = [r["address"] for r in plan["planned_values"]["root_module"]["resources"]]
    assert sorted(plan["pulumi"]["urns"].values()) == wanted
    assert len(addresses) == len(set(addresses)) == len(wanted)
    assert [r["address"] for r in plan["resource_changes"]] == addresses
    assert [r["address"] for r in plan["configuration"]["root_module"]["resources"]] == addresses


def test_kubernetes_random_and_engine_resources_are_counted_as_skipped():
    result = _shipped("aws-staging", True)
    skipped = {t: n for t, n in _plan("aws-staging")["pulumi"]["skipped"].items()}
    expected: dict[str, int] = {}
    for r in result.resources:
        if r.custom and r.op != "read" and terraform_types.skipped(r.type):
            expected[r.type] = expected.get(r.type, 0) + 1
    assert skipped == expected
    assert any(t.startswith("kubernetes:") for t in skipped) and any(t.startswith("random:") for t in skipped)


def test_resource_types_follow_the_bridged_provider_names():
    plan = _plan("aws-staging")
    types = {r["type"] for r in plan["planned_values"]["root_module"]["resources"]}
    assert {"aws_db_instance", "aws_lb", "aws_s3_bucket", "aws_vpc_security_group_ingress_rule"} <= types
    assert first_of_type(plan, "aws_db_instance")["provider_name"] == "registry.terraform.io/hashicorp/aws"
    gcp = first_of_type(_plan("gcp-staging"), "google_sql_database_instance")
    assert gcp["provider_name"] == "registry.terraform.io/hashicorp/google"


def test_a_renamed_token_is_found_through_the_alias_its_sdk_class_declares():
    # aws:s3/bucket:Bucket was aws:s3/bucketV2:BucketV2; the table holds the old token.
    assert "aws:s3/bucket:Bucket" not in terraform_types.table()["resources"]
    assert terraform_types.terraform_type("aws:s3/bucket:Bucket") == "aws_s3_bucket"


def test_an_unknown_token_is_an_error_naming_it():
    with pytest.raises(terraform_types.UnmappedType, match="aws:newservice/thing:Thing"):
        terraform_types.terraform_type("aws:newservice/thing:Thing")


def test_camel_case_inputs_become_snake_case_attributes():
    db = first_of_type(_plan("aws-staging"), "aws_db_instance")["values"]
    assert db["storage_encrypted"] is True
    assert "storageEncrypted" not in db and "enabled_cloudwatch_logs_exports" in db


def test_a_pluralised_pulumi_list_takes_the_providers_block_name():
    listener = next(
        r
        for r in _plan("aws-staging")["planned_values"]["root_module"]["resources"]
        if r["type"] == "aws_lb_listener" and r["values"].get("protocol") == "HTTP"
    )
    assert "default_actions" not in listener["values"]
    assert listener["values"]["default_action"][0]["type"] == "redirect"
    firewall = first_of_type(_plan("gcp-staging"), "google_compute_firewall")["values"]
    assert "allows" not in firewall and isinstance(firewall.get("allow", firewall.get("deny")), list)


def test_a_nested_args_input_is_a_list_of_blocks_and_a_mapping_input_stays_a_map():
    cluster = first_of_type(_plan("aws-staging"), "aws_eks_cluster")["values"]
    assert isinstance(cluster["vpc_config"], list) and isinstance(cluster["vpc_config"][0], dict)
    assert cluster["vpc_config"][0]["endpoint_public_access"] is False
    assert isinstance(cluster["tags"], dict) and cluster["tags"]["environment"] == "staging"
    sql = first_of_type(_plan("gcp-staging"), "google_sql_database_instance")["values"]
    assert isinstance(sql["settings"][0]["ip_configuration"], list)
    assert isinstance(sql["settings"][0]["user_labels"], dict)


def test_a_value_known_only_after_deploy_is_a_reference_to_the_resource_it_comes_from():
    plan = _plan("aws-staging")
    cluster = first_of_type(plan, "aws_eks_cluster")
    address = cluster["address"]
    provider = cluster["values"]["encryption_config"][0]["provider"][0]
    assert "key_arn" not in provider
    unknown = change(plan, address)["change"]["after_unknown"]
    assert unknown["encryption_config"][0]["provider"][0]["key_arn"] is True
    refs = configured(plan, address)["expressions"]["encryption_config"][0]["provider"][0]["key_arn"]["references"]
    assert len(refs) == 1 and refs[0].startswith("aws_kms_key.")
    assert refs[0] in {r["address"] for r in plan["planned_values"]["root_module"]["resources"]}


def test_a_secret_is_marked_sensitive_and_its_value_never_written():
    plan = _plan("aws-staging")
    version = first_of_type(plan, "aws_secretsmanager_secret_version")
    assert "secret_string" not in version["values"]
    assert version["sensitive_values"]["secret_string"] is True
    assert change(plan, version["address"])["change"]["after_sensitive"]["secret_string"] is True


@pytest.mark.parametrize("stack", [s for s in ALL_STACKS if s not in ("bootstrap", "global")])  # the two without secrets
def test_no_secret_of_the_preview_appears_in_the_export(stack):
    from tools.engine.engine import map_markers

    secrets: list[str] = []
    public: set[str] = set()  # a secret may repeat text the stack also uses openly (the public host name)

    for r in _shipped(stack, True).resources:
        map_markers(r.inputs, secret=lambda inner: secrets.append(inner) or inner, unknown=lambda: None)
        map_markers(r.inputs, secret=lambda inner: None, unknown=lambda: None, other=lambda v: public.add(v) if isinstance(v, str) else v)
    assert secrets, "the preview holds no secret to look for"
    text = json.dumps(_plan(stack))
    leaked = [s for s in secrets if isinstance(s, str) and len(s) >= 8 and s not in public and s in text]
    assert leaked == []


def test_a_known_secret_input_is_left_out_of_values():
    result = copy.deepcopy(_shipped("aws-staging", True))
    db = next(r for r in result.resources if r.type == "aws:rds/instance:Instance")
    db.inputs["password"] = Secret("correct-horse-battery-staple")
    plan = export(PreviewResult(result.stack, result.resources, {}, True)).plan
    assert "correct-horse-battery-staple" not in json.dumps(plan)
    assert first_of_type(plan, "aws_db_instance")["sensitive_values"]["password"] is True


def test_tfplan_writes_the_stacks_plan_to_the_named_file(tmp_path, capsys):
    assert cli.main(["tfplan", "global", "-o", str(tmp_path / "global.json")]) == 0
    document = json.loads((tmp_path / "global.json").read_text())
    assert document["format_version"] and document["planned_values"]["root_module"]["resources"]
    assert "resources exported" in capsys.readouterr().err


def test_tfplan_all_without_a_directory_is_a_usage_error(capsys):
    assert cli.main(["tfplan", "--all"]) == 2
    assert "-o DIRECTORY" in capsys.readouterr().err


def test_a_cloudflare_nested_input_is_an_object_not_a_list_of_blocks():
    # The Cloudflare provider is written on the plugin framework: nested attributes, no blocks.
    lb = first_of_type(_plan("global"), "cloudflare_load_balancer")["values"]
    assert isinstance(lb["session_affinity_attributes"], dict)
    pool = first_of_type(_plan("global"), "cloudflare_load_balancer_pool")["values"]
    assert isinstance(pool["origins"], list) and isinstance(pool["origins"][0]["header"], dict)


def test_an_output_another_stack_knows_only_after_deploy_is_unknown_not_text():
    plan = _plan("global")
    pool = first_of_type(plan, "cloudflare_load_balancer_pool")
    assert "address" not in pool["values"]["origins"][0]
    assert change(plan, pool["address"])["change"]["after_unknown"]["origins"][0]["address"] is True
    assert "[unknown]" not in json.dumps(plan)
