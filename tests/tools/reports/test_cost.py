"""`python -m tools cost`: the estimate, its price table, the budget gate and the seeds' comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks.config import ConfigValidationError, load, read_stack_file
from stacks.config.cost import cost_settings
from tests.conftest import ALL_STACKS, stack_config
from tools.cli import main
from tools.engine.engine import PreviewResult, RegisteredResource
from tools.reports import cost

PROJECT = Path(__file__).resolve().parents[3]
TABLE = cost.load_prices()


def estimate_of(result: PreviewResult, changes=None) -> cost.Estimate:
    return cost.estimate(result, cost_settings(result.stack, stack_config(result.stack, changes)), TABLE)


def items_of(e: cost.Estimate, resource: str, entry_prefix: str) -> list[cost.Item]:
    return [i for i in e.items if i.resource == resource and i.price_entry.startswith(entry_prefix)]


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_resource_type_is_priced_or_listed_as_free(stack, shipped):
    result = shipped(stack)
    types = {r.type for r in result.resources if r.custom}
    assert types, "the preview registered nothing"
    assert [t for t in sorted(types) if cost.billing_status(t, TABLE) is None] == []
    assert estimate_of(result).unpriced == []


def test_a_type_with_no_price_entry_makes_the_estimate_incomplete(shipped):
    result = shipped("aws-dev")
    result.resources.append(RegisteredResource("aws:newservice/thing:Thing", "crm-dev-thing", "urn:x::thing", True, "", False, [], {}))
    assert any(p.startswith("aws:newservice/thing:Thing") for p in estimate_of(result).unpriced)


def test_a_size_missing_from_the_table_makes_the_estimate_incomplete(run_stack):
    result = run_stack("aws-dev", {"crm:kubernetes": {"instanceType": "m7i.large"}})
    assert any("aws.ec2.m7i.large" in p for p in estimate_of(result).unpriced)


def test_eks_node_cost_is_hourly_price_times_hours_times_desired_nodes(shipped):
    result = shipped("aws-dr")
    group = result.one("aws:eks/nodeGroup:NodeGroup")
    instance = group["instanceTypes"][0]
    expected = TABLE.prices[f"aws.ec2.{instance}"].usd * TABLE.hours_per_month * group["scalingConfig"]["desiredSize"]
    [item] = items_of(estimate_of(result), group.name, "aws.ec2.")
    assert item.monthly_usd == pytest.approx(expected)
    assert expected > 0


def test_rds_multi_az_pays_two_instances_and_twice_the_storage(shipped):
    result = shipped("aws-dr")
    db = result.one("aws:rds/instance:Instance")
    assert db["multiAz"] is True
    factor = TABLE.prices["aws.rds.multi-az-factor"].usd
    instance = TABLE.prices[f"aws.rds.postgres.{db['instanceClass']}"].usd * TABLE.hours_per_month * factor
    storage = TABLE.prices[f"aws.rds.storage.{db['storageType']}"].usd * db["allocatedStorage"] * factor
    e = estimate_of(result)
    assert [i.monthly_usd for i in items_of(e, db.name, "aws.rds.postgres.")] == [pytest.approx(instance)]
    assert [i.monthly_usd for i in items_of(e, db.name, "aws.rds.storage.")] == [pytest.approx(storage)]


def test_cloud_sql_regional_pays_twice_the_vcpus_and_memory_of_its_tier(shipped):
    result = shipped("gcp-dr")
    sql = result.one("gcp:sql/databaseInstance:DatabaseInstance")
    _, _, vcpus, memory_mb = sql["settings"]["tier"].split("-")
    factor = TABLE.prices["gcp.sql.regional-factor"].usd if sql["settings"]["availabilityType"] == "REGIONAL" else 1
    hours = TABLE.hours_per_month
    e = estimate_of(result)
    assert items_of(e, sql.name, "gcp.sql.vcpu")[0].monthly_usd == pytest.approx(
        TABLE.prices["gcp.sql.vcpu"].usd * int(vcpus) * factor * hours
    )
    assert items_of(e, sql.name, "gcp.sql.memory")[0].monthly_usd == pytest.approx(
        TABLE.prices["gcp.sql.memory"].usd * int(memory_mb) / 1024 * factor * hours
    )


def test_each_ha_vpn_tunnel_and_aws_vpn_connection_is_billed_hourly(shipped):
    result = shipped("gcp-dr")
    e = estimate_of(result)
    tunnels = [i for i in e.items if i.type == "gcp:compute/vPNTunnel:VPNTunnel"]
    connections = [i for i in e.items if i.type == "aws:ec2/vpnConnection:VpnConnection"]
    assert len(tunnels) == len(result.of_type("gcp:compute/vPNTunnel:VPNTunnel")) == 4
    assert len(connections) == len(result.of_type("aws:ec2/vpnConnection:VpnConnection")) == 2
    assert sum(i.monthly_usd for i in tunnels) == pytest.approx(4 * TABLE.prices["gcp.vpn.tunnel"].usd * TABLE.hours_per_month)


def test_nat_data_follows_the_configured_assumption(shipped):
    result = shipped("aws-dr")
    gateways = result.of_type("aws:ec2/natGateway:NatGateway")
    e = estimate_of(result, {"crm:costAssumptions": {"natDataGb": 1000}})
    data = [i for i in e.items if i.price_entry == "aws.vpc.nat-gateway.data"]
    assert sum(i.quantity for i in data) == pytest.approx(1000)
    assert len(data) == len(gateways) == 2
    assert e.settings.assumptions["natDataGb"].default is False


def test_assumptions_not_set_take_the_environment_default():
    dev = cost_settings("aws-dev", read_stack_file("aws-dev"))
    dr = cost_settings("aws-dr", read_stack_file("aws-dr"))
    assert dev.assumptions["interCloudEgressGb"].default and dr.assumptions["interCloudEgressGb"].default
    assert dev.value("natDataGb") < dr.value("natDataGb")


def test_budget_and_assumption_errors_name_each_key():
    raw = stack_config(
        "aws-dev", {"crm:budget": {"monthlyUsd": -5, "monthlyEur": 3}, "crm:costAssumptions": {"natDataGB": 1, "logIngestionGb": "lots"}}
    )
    with pytest.raises(ConfigValidationError) as error:
        load("aws-dev", raw)
    keys = {p.key for p in error.value.problems}
    assert keys == {"crm:budget.monthlyUsd", "crm:budget.monthlyEur", "crm:costAssumptions.natDataGB", "crm:costAssumptions.logIngestionGb"}


@pytest.mark.parametrize("stack", ["global", "aws-dev"])
def test_a_stack_without_a_monthly_budget_is_an_error(stack):
    raw = stack_config(stack, {"crm:budget": None})
    with pytest.raises(ConfigValidationError) as error:
        load(stack, raw)
    assert [p.key for p in error.value.problems] == ["crm:budget.monthlyUsd"]


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_shipped_stack_sets_a_budget_whose_first_alert_is_above_its_estimate(stack, shipped):
    e = estimate_of(shipped(stack))
    assert e.settings.budget is not None
    assert e.monthly_usd < e.settings.budget.first_alert_usd
    assert not e.over_budget


def _watched_spend(shipped) -> tuple[dict, dict]:
    """What each cloud budget counts, from every shipped stack's estimate: AWS Budgets filter on the
    `environment` cost-allocation tag (every stack of an environment, whichever program created the
    resource), the GCP budget on the stack's project."""
    aws_by_environment: dict[str, float] = {}
    gcp_by_project: dict[str, float] = {}
    for stack in ALL_STACKS:
        raw = read_stack_file(stack)
        environment = load(stack, raw).common.environment
        for item in estimate_of(shipped(stack)).items:
            if item.cloud == "aws":
                aws_by_environment[environment] = aws_by_environment.get(environment, 0.0) + item.monthly_usd
            elif item.cloud == "gcp":
                gcp_by_project[raw["gcp:project"]] = gcp_by_project.get(raw["gcp:project"], 0.0) + item.monthly_usd
    return aws_by_environment, gcp_by_project


def test_every_cloud_budget_alerts_only_above_the_spend_it_watches(shipped):
    """The budget resources' amounts and thresholds are read from the registered resources, the spend from the estimate:
    an alert at or below what the stack is expected to cost would fire every month."""
    aws_watched, gcp_watched = _watched_spend(shipped)
    checked = []
    for stack in ALL_STACKS:
        result = shipped(stack)
        environment = load(stack, read_stack_file(stack)).common.environment
        for budget in result.of_type("aws:budgets/budget:Budget"):
            amount = float(budget["limitAmount"])
            thresholds = [n["threshold"] for n in budget["notifications"] if n["thresholdType"] == "PERCENTAGE"]
            lowest = amount * min(thresholds) / 100
            assert lowest > aws_watched[environment], (
                f"{stack}: AWS budget alerts at ${lowest:,.0f}, spend ${aws_watched[environment]:,.0f}"
            )
            checked.append(stack)
        for budget in result.of_type("gcp:billing/budget:Budget"):
            amount = float(budget["amount"]["specifiedAmount"]["units"])
            lowest = amount * min(rule["thresholdPercent"] for rule in budget["thresholdRules"])
            spend = gcp_watched[read_stack_file(stack)["gcp:project"]]
            assert lowest > spend, f"{stack}: GCP budget alerts at ${lowest:,.0f}, spend ${spend:,.0f}"
            checked.append(stack)
    assert sorted(checked) == sorted(s for s in ALL_STACKS if s.startswith(("aws-", "gcp-")))


def test_the_cloud_budget_carries_the_amount_the_cost_gate_reads(run_stack):
    changes = {"crm:budget": {"monthlyUsd": 4321, "alertPercents": [90, 60]}}
    aws = run_stack("aws-dev", changes).one("aws:budgets/budget:Budget")
    gcp = run_stack("gcp-dev", changes).one("gcp:billing/budget:Budget")
    assert float(aws["limitAmount"]) == 4321 and gcp["amount"]["specifiedAmount"]["units"] == "4321"
    assert sorted(n["threshold"] for n in aws["notifications"] if n["notificationType"] == "ACTUAL") == [60, 90]
    assert sorted(r["thresholdPercent"] for r in gcp["thresholdRules"] if r["spendBasis"] == "CURRENT_SPEND") == [0.6, 0.9]
    settings = cost_settings("aws-dev", stack_config("aws-dev", changes))
    assert settings.budget is not None and settings.budget.first_alert_usd == pytest.approx(4321 * 0.6)


def test_cost_json_lists_items_that_add_up_to_the_total(capsys):
    assert main(["cost", "aws-dev", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stack"] == "aws-dev"
    assert document["items"]
    for item in document["items"]:
        assert {"resource", "type", "price_entry", "monthly_usd"} <= set(item)
        assert item["price_entry"] in TABLE.prices
    assert sum(i["monthly_usd"] for i in document["items"]) == pytest.approx(document["monthly_usd"], abs=0.05)
    assert document["assumptions"]["natDataGb"]["value"] > 0


def test_cost_over_budget_exits_non_zero_naming_the_budget(capsys, monkeypatch):
    import tools.reports.cli as estate_cli

    assert read_stack_file("aws-dev")["crm:budget"]["monthlyUsd"] == 440  # the edit below is to the shipped file's budget
    monkeypatch.setattr(estate_cli, "read_stack_file", lambda stack: stack_config(stack, {"crm:budget": {"monthlyUsd": 10}}))
    assert main(["cost", "aws-dev"]) == 1
    out, err = capsys.readouterr()
    assert "at or above its budget's first alert (80 % of crm:budget.monthlyUsd $10 = $8.00)" in err
    assert out.startswith("Stack aws-dev: $")


def test_cost_gate_fails_between_the_first_alert_and_the_budget(capsys, monkeypatch):
    """An estimate below the budget but above its first alert would alert every month: the gate refuses it."""
    import tools.reports.cli as estate_cli

    e = estimate_of(estate_cli.preview_stack("aws-dev"))
    budget = {"crm:budget": {"monthlyUsd": int(e.monthly_usd / 0.9)}}  # the estimate is ~90 % of it
    monkeypatch.setattr(estate_cli, "read_stack_file", lambda stack: stack_config(stack, budget))
    assert main(["cost", "aws-dev"]) == 1
    assert "the cloud's budget would alert every month" in capsys.readouterr().err


def test_every_price_entry_names_its_source():
    for key, price in TABLE.prices.items():
        assert price.source.startswith("https://"), key
        assert price.usd > 0, key
    assert TABLE.read


def test_seed_comparison_in_docs_is_what_the_tool_prints(shipped):
    estimates = [estimate_of(shipped(stack)) for stack in cost.DR_STACKS]
    table = cost.seeds_comparison(estimates)
    assert "| aws | kubernetes | 473 |" in table
    assert table in (PROJECT / "docs" / "cost.md").read_text()


def _with(result: PreviewResult, type_: str, inputs: dict) -> PreviewResult:
    result.resources.append(RegisteredResource(type_, "crm-extra", f"urn:x::{type_}::crm-extra", True, "", False, [], inputs))
    return result


def test_a_loadbalancer_service_is_priced_and_a_clusterip_one_is_not(shipped):
    priced = estimate_of(_with(shipped("gcp-dev"), "kubernetes:core/v1:Service", {"spec": {"type": "LoadBalancer"}}))
    free = estimate_of(_with(shipped("gcp-dev"), "kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP"}}))
    assert [i.price_entry for i in priced.items if i.resource == "crm-extra"] == ["gcp.lb.forwarding-rule"]
    assert [i for i in free.items if i.resource == "crm-extra"] == []


def test_a_kubernetes_kind_that_creates_cloud_resources_needs_a_rule(shipped):
    ingress = estimate_of(_with(shipped("gcp-dev"), "kubernetes:networking.k8s.io/v1:Ingress", {}))
    deployment = estimate_of(_with(shipped("gcp-dev"), "kubernetes:apps/v1:Deployment", {}))
    assert any(p.startswith("kubernetes:networking.k8s.io/v1:Ingress") for p in ingress.unpriced)
    assert deployment.unpriced == []


def test_a_gateway_is_priced_as_the_load_balancer_it_makes(shipped):
    gateways = [i for i in estimate_of(shipped("gcp-dr")).items if i.type == "kubernetes:gateway.networking.k8s.io/v1:Gateway"]
    assert [i.price_entry for i in gateways] == ["gcp.lb.forwarding-rule"]
    assert gateways[0].monthly_usd == pytest.approx(gateways[0].unit_usd * gateways[0].quantity)
    assert gateways[0].unit_usd == TABLE.prices["gcp.lb.forwarding-rule"].usd


def test_usage_only_types_are_listed_as_not_estimated(shipped):
    e = estimate_of(shipped("aws-dr"))
    assert "aws:sqs/queue:Queue" in {t for _, t, _ in e.usage_only}
    assert not [i for i in e.items if i.type == "aws:sqs/queue:Queue"]


def test_the_origin_address_a_gateway_claims_is_billed_as_in_use(shipped):
    result = shipped("gcp-dr")
    (address,) = [a for a in result.of_type("gcp:compute/globalAddress:GlobalAddress") if a.get("addressType", "EXTERNAL") == "EXTERNAL"]
    gateway = result.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert {"type": "NamedAddress", "value": address["name"]} in gateway["spec"]["addresses"]
    lines = items_of(estimate_of(result), address.name, "gcp.")
    assert [i.price_entry for i in lines] == ["gcp.transfer.internet-out"]  # what the origin sends, not an idle address
    result.resources = [r for r in result.resources if r is not gateway]
    assert "gcp.ip.static-unused" in [i.price_entry for i in items_of(estimate_of(result), address.name, "gcp.")]


def test_the_pricing_rules_table_lists_every_priced_type_once(shipped):
    table = cost.pricing_rules([estimate_of(shipped("aws-dr"))])
    listed = [token for line in table.splitlines()[2:] for token in line.split(" | ")[0].strip("| ").replace("`", "").split(", ")]
    assert listed and sorted(listed) == sorted(cost.RULES)


def test_the_pricing_rules_table_names_the_entry_a_shipped_node_group_draws(shipped):
    result = shipped("aws-dr")
    instance = result.one("aws:eks/nodeGroup:NodeGroup")["instanceTypes"][0]
    [row] = [line for line in cost.pricing_rules([estimate_of(result)]).splitlines() if line.startswith("| `aws:eks/nodeGroup:NodeGroup`")]
    assert f"`aws.ec2.{instance}`" in row


def test_a_price_rule_that_does_not_say_how_it_prices_is_refused(monkeypatch):
    def _undocumented(r, ctx):
        return []

    monkeypatch.setitem(cost.RULES, "aws:new/thing:Thing", _undocumented)
    with pytest.raises(ValueError, match="_undocumented"):
        cost.pricing_rules([])


def test_the_price_table_summary_and_the_usage_only_list_are_read_from_the_file(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(
        'read: "2030-01-02"\ncurrency: USD\nhoursPerMonth: 720\nregions: {aws: eu-west-1}\nprices: {}\n'
        'usageOnly:\n  aws:sqs/queue:Queue: "requests; not estimated"\n'
    )
    table = cost.load_prices(path)
    summary = cost.price_table_summary(table)
    assert "AWS eu-west-1" in summary and "720 hours a month" in summary and "read 2030-01-02" in summary
    assert cost.usage_only_table(table).splitlines()[2:] == ["| `aws:sqs/queue:Queue` | requests |"]
