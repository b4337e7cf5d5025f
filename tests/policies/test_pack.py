"""The pack as the CLI runs it: its own process, driven through the Analyzer gRPC interface."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from policies.rules import ALL_RULES
from tests.conftest import ALL_STACKS
from tests.policies.fixtures import GOOD
from tools import policy_check
from tools.cli import main
from tools.policy_check import from_plan_file, from_preview


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_shipped_stacks_pass_every_rule_in_process(stack, shipped):
    from policies.rules.base import Resource, plain

    resources = [
        Resource(r.type, r.name, r.urn, plain(_unwrap(r.inputs)), r.protect, r.dependencies, r.property_dependencies)
        for r in shipped(stack).resources
        if r.op != "read"
    ]
    found = {
        rule.name: msgs
        for rule in ALL_RULES
        for msgs in [rule.stack_violations(resources) if rule.stack_check else [m for r in resources for m in rule.violations(r)]]
        if msgs
    }
    assert found == {}


def _unwrap(value):
    from policies.rules.base import UNKNOWN as POLICY_UNKNOWN
    from tools.engine.engine import map_markers

    return map_markers(value, secret=lambda inner: inner, unknown=lambda: POLICY_UNKNOWN)


def test_shipped_dr_stacks_pass_through_the_analyzer(shipped):
    for stack in ("aws-dr", "gcp-dr", "global"):
        assert policy_check.check(from_preview(shipped(stack)), stack) == []


def test_a_pack_interpreter_given_relative_to_the_caller_starts_the_pack(shipped, monkeypatch):
    # .ci/run passes `--pack-python build/policy-pack-venv/bin/python`; the pack process runs in policies/.
    interpreter = Path(sys.executable)  # <dir>/.venv/bin/python: called as .venv/bin/python from <dir>, as CI does
    monkeypatch.chdir(interpreter.parents[2])
    relative = interpreter.relative_to(interpreter.parents[2])
    violations, policies = policy_check.evaluate(from_preview(shipped("global")), "global", python=relative)
    assert violations == [] and policies > 0


def write_plan(tmp_path, resources):
    steps = [
        {
            "op": "create",
            "urn": f"urn:pulumi:aws-production::crm::{t}::{n}",
            "newState": {"type": t, "urn": f"urn:pulumi:aws-production::crm::{t}::{n}", "inputs": i, "protect": True},
        }
        for t, n, i in resources
    ]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"steps": steps}))
    return path


def test_an_insecure_plan_fails_with_a_clear_message(tmp_path, capsys):
    inputs = {**GOOD["aws:rds/instance:Instance"], "publiclyAccessible": True}
    plan = write_plan(tmp_path, [("aws:rds/instance:Instance", "orders", inputs)])
    assert main(["check", "--plan", str(plan)]) == 1
    out = capsys.readouterr().out
    assert "[mandatory] rds-not-public: Instance 'orders': publiclyAccessible must not be true" in out


def test_plan_values_marked_secret_or_unknown_reach_the_pack_as_such(tmp_path):
    inputs = {**GOOD["aws:elasticache/replicationGroup:ReplicationGroup"], "authToken": "[secret]", "kmsKeyId": "[unknown]"}
    violations = policy_check.check(
        from_plan_file(write_plan(tmp_path, [("aws:elasticache/replicationGroup:ReplicationGroup", "cache", inputs)]))
    )
    assert [v.policy for v in violations] == ["secrets-are-generated"]
    assert "[secret]" not in violations[0].message


def test_check_of_a_shipped_stack_exits_zero(capsys):
    # The smallest stack: the DR stacks' own pass through the pack is test_shipped_dr_stacks_pass_through_the_analyzer's.
    assert main(["check", "global"]) == 0
    assert "Policy check of global: 0 mandatory" in capsys.readouterr().out


def test_violations_are_grouped_by_severity(tmp_path, capsys):
    rds = {**GOOD["aws:rds/instance:Instance"], "publiclyAccessible": True, "performanceInsightsEnabled": False}
    main(["check", "--plan", str(write_plan(tmp_path, [("aws:rds/instance:Instance", "orders", rds)]))])
    out = capsys.readouterr().out
    assert out.index("CRITICAL") < out.index("LOW")
    assert "[advisory] rds-performance-insights" in out


def test_the_shipped_fis_roles_are_judged_once_their_policies_are_known(shipped):
    # In a preview the roles' policies are unknown (they name the targets' ARNs); resolved, the rule reads them.
    from policies.rules import RULES_BY_NAME
    from policies.rules.base import Resource, plain
    from policies.rules.fault_injection import _role_of

    result = shipped("aws-dr", preview=False)
    resources = [
        Resource(r.type, r.name, r.urn, plain(_unwrap(r.inputs)), r.protect, r.dependencies, r.property_dependencies)
        for r in result.resources
        if r.op != "read"
    ]
    by_urn = {r.urn: r for r in resources}
    templates = [r for r in resources if r.type == "aws:fis/experimentTemplate:ExperimentTemplate"]
    policies = [r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name.startswith("crm-dr-gameday-")]
    assert len(templates) == 3 and all(_role_of(t, by_urn) is not None for t in templates)
    assert len(policies) == 3 and all(isinstance(json.loads(p.props["policy"]), dict) for p in policies)
    assert RULES_BY_NAME["fis-role-scoped"].stack_violations(resources) == []
