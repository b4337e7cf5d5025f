"""The game day's FIS experiment templates: targets, stop conditions, bounded durations, roles scoped to the targets."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from components.aws import fault_injection
from components.aws.experiments import MAX_ACTION_MINUTES, SCENARIOS, action_minutes, duration_seconds
from components.aws.fault_injection import FaultInjectionArgs
from tests.stacks.test_config import one_problem

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
ROLE, POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture
def dr(shipped):
    return shipped("aws-dr", preview=False)


def template(result, scenario):
    return result.one(TEMPLATE, f"crm-dr-gameday-{scenario}")


def policy_of(result, scenario) -> list[dict]:
    return json.loads(result.one(POLICY, f"crm-dr-gameday-{scenario}")["policy"])["Statement"]


def parameters(action) -> dict:
    return {p["key"]: p["value"] for p in action["parameters"]}


def test_dr_has_one_template_per_scenario(dr):
    assert sorted(t["tags"]["scenario"] for t in dr.of_type(TEMPLATE)) == sorted(SCENARIOS)


def test_production_has_no_templates_unless_enabled(shipped, run_stack):
    assert shipped("aws-production").of_type(TEMPLATE) == []
    enabled = run_stack("aws-production", {"crm:faultInjection": {"enabled": True}})
    assert len(enabled.of_type(TEMPLATE)) == len(SCENARIOS)


def test_each_action_is_the_scenarios_fis_action_on_its_target(dr):
    for name, scenario in SCENARIOS.items():
        [action] = template(dr, name)["actions"]
        [target] = template(dr, name)["targets"]
        assert action["actionId"] == scenario.action_id and action["target"] == {"key": scenario.target_key, "value": target["name"]}
        assert target["resourceType"] == scenario.resource_type and target["selectionMode"] == "ALL"


def test_the_outage_cuts_the_application_subnets_off_for_the_configured_minutes(dr, run_stack):
    subnets = sorted(s.output("arn") for s in dr.of_type("aws:ec2/subnet:Subnet") if s["tags"]["tier"] == "private")
    outage = template(dr, "aws-outage")
    assert sorted(outage["targets"][0]["resourceArns"]) == subnets and subnets
    assert parameters(outage["actions"][0]) == {"duration": "PT10M", "scope": "all"}
    shorter = run_stack("aws-dr", {"crm:faultInjection": {"networkCutMinutes": 4}})
    assert parameters(shorter.one(TEMPLATE, "crm-dr-gameday-aws-outage")["actions"][0])["duration"] == "PT4M"


def test_the_writer_fails_over_and_nodes_go_in_the_configured_share(dr):
    rds = template(dr, "rds-failover")
    assert rds["targets"][0]["resourceArns"] == [dr.one("aws:rds/instance:Instance").output("arn")]
    assert parameters(rds["actions"][0]) == {"forceFailover": "true"}
    nodes = template(dr, "eks-nodes")
    assert nodes["targets"][0]["resourceArns"] == [dr.one("aws:eks/nodeGroup:NodeGroup").output("arn")]
    assert parameters(nodes["actions"][0]) == {"instanceTerminationPercentage": "34"}


def test_no_failover_template_without_a_standby(run_stack):
    single = run_stack("aws-dr", {"crm:database": {"multiAz": False}})
    assert sorted(t.name for t in single.of_type(TEMPLATE)) == ["crm-dr-gameday-aws-outage", "crm-dr-gameday-eks-nodes"]


def test_every_template_stops_on_the_guard_alarm_and_the_outage_also_on_replication_lag(dr):
    guard = dr.one(ALARM, "crm-dr-gameday-guard")
    slot_lag = dr.one(ALARM, "crm-dr-monitoring-db-slot-lag")
    for name in SCENARIOS:
        stops = [c["value"] for c in template(dr, name)["stopConditions"]]
        assert all(c["source"] == "aws:cloudwatch:alarm" for c in template(dr, name)["stopConditions"])
        assert guard.output("arn") in stops
    assert slot_lag.output("arn") in [c["value"] for c in template(dr, "aws-outage")["stopConditions"]]


def test_the_guard_alarm_stops_experiments_within_seconds_and_not_for_missing_data(dr):
    guard = dr.one(ALARM, "crm-dr-gameday-guard")
    assert (guard["namespace"], guard["metricName"], guard["dimensions"]) == ("CRM/GameDay", "Abort", {"Environment": "dr"})
    assert guard["period"] == 10 and guard["threshold"] == 1 and guard["treatMissingData"] == "notBreaching"
    assert guard["alarmActions"] == [dr.one("aws:sns/topic:Topic", "crm-dr-monitoring-alarms").output("arn")]


def test_each_role_trusts_only_fis_for_this_accounts_experiments(dr):
    for name in SCENARIOS:
        role = dr.one(ROLE, f"crm-dr-gameday-{name}-role")
        assert template(dr, name)["roleArn"] == role.output("arn")
        [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "fis.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":123456789012:experiment/*")


def test_roles_change_only_their_own_targets(dr):
    subnets = {s.output("arn") for s in dr.of_type("aws:ec2/subnet:Subnet") if s["tags"]["tier"] == "private"}
    for name in SCENARIOS:
        for statement in policy_of(dr, name):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            reads = all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in actions)
            assert reads or statement["Resource"] != "*", (name, statement)
    swap = next(s for s in policy_of(dr, "aws-outage") if s["Action"] == "ec2:ReplaceNetworkAclAssociation")
    assert set(swap["Resource"]) - {r for r in swap["Resource"] if r.endswith(":network-acl/*")} == subnets
    terminate = next(s for s in policy_of(dr, "eks-nodes") if s["Action"] == "ec2:TerminateInstances")
    assert terminate["Condition"] == {"StringEquals": {"aws:ResourceTag/eks:cluster-name": dr.one("aws:eks/cluster:Cluster")["name"]}}
    reboot = next(s for s in policy_of(dr, "rds-failover") if s["Action"] == "rds:RebootDBInstance")
    assert reboot["Resource"] == dr.one("aws:rds/instance:Instance").output("arn")


def test_acls_are_changed_only_when_fis_tagged_them(dr):
    statements = {s["Sid"]: s for s in policy_of(dr, "aws-outage")}
    assert statements["ChangeOnlyFisAcls"]["Condition"] == {"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}}
    assert statements["CreateFisAcl"]["Condition"] == {"StringEquals": {"aws:RequestTag/managedByFIS": "true"}}
    assert statements["CreateFisAclInThisVpc"]["Resource"].endswith(f":vpc/{dr.one('aws:ec2/vpc:Vpc').output('id')}")


def test_roles_are_made_by_the_projects_iam_helper(run_stack):
    # Whatever the helper gives every role of the estate (a permissions boundary, tags), these roles get too.
    with mock.patch.object(fault_injection, "service_role_with_policies", wraps=fault_injection.service_role_with_policies) as helper:
        run_stack("aws-dr", fresh=True)
    assert sorted(call.args[0] for call in helper.call_args_list) == sorted(f"crm-dr-gameday-{s}" for s in SCENARIOS)
    assert {call.args[1] for call in helper.call_args_list} == {"fis.amazonaws.com"}


def test_the_plan_output_names_each_template_for_the_game_day(dr):
    plan = dr.outputs["faultInjection"]
    assert plan["guard"] == {
        "namespace": "CRM/GameDay",
        "metric": "Abort",
        "dimensions": {"Environment": "dr"},
        "alarmName": "crm-dr-gameday-guard",
    }
    for name in SCENARIOS:
        assert plan["scenarios"][name]["templateId"] == template(dr, name).output("id")
    assert plan["scenarios"]["aws-outage"]["durationSeconds"] == 600 and plan["scenarios"]["aws-outage"]["expectsFailover"] is True


@pytest.mark.parametrize(
    "key,value", [("networkCutMinutes", MAX_ACTION_MINUTES + 1), ("networkCutMinutes", 0), ("nodeTerminationPercent", 101)]
)
def test_bounds_are_config_errors_naming_the_key(key, value):
    assert "crm:faultInjection." + key in one_problem("aws-dr", {"crm:faultInjection": {key: value}}, f"crm:faultInjection.{key}")


def test_args_refuse_an_unbounded_cut_and_no_subnets():
    with pytest.raises(ValueError, match="network_cut_minutes must be 1-30") as error:
        FaultInjectionArgs("dr", "vpc", [], "c", "ng", "topic", {}, network_cut_minutes=90)
    assert "subnets are needed" in str(error.value)


@pytest.mark.parametrize("value,seconds", [("PT10M", 600), ("PT1H30M", 5400), ("PT45S", 45), ("PT", None), ("10M", None), (None, None)])
def test_iso_durations(value, seconds):
    assert duration_seconds(value) == seconds


def test_billed_minutes_per_action():
    assert action_minutes("aws:network:disrupt-connectivity", {"duration": "PT10M"}) == 10
    assert action_minutes("aws:rds:reboot-db-instances", {}) == 1
    assert action_minutes("aws:ssm:send-command", {}) is None
