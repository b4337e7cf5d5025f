"""`python -m tools rebuild-time`: the critical path of a from-scratch deploy."""

from __future__ import annotations

import json

import pytest

from tools.cli import main
from tools.reports import rebuild
from tools.reports.rebuild import Node


def test_critical_path_takes_the_longest_chain_of_a_hand_made_graph():
    nodes = {
        "vpc": Node("vpc", "t", 1),
        "subnet": Node("subnet", "t", 1, ("vpc",)),
        "cluster": Node("cluster", "t", 12, ("subnet",)),
        "nodes": Node("nodes", "t", 4, ("cluster",)),
        "db": Node("db", "t", 20, ("subnet",)),
        "secret": Node("secret", "t", 0.5, ("db", "nodes")),
    }
    path = rebuild.critical_path(nodes)
    assert path.minutes == pytest.approx(22.5)
    assert [step.name for step in path.path] == ["vpc", "subnet", "db", "secret"]
    assert [step.finish for step in path.path] == pytest.approx([1, 2, 22, 22.5])


def test_depending_on_a_component_waits_for_all_its_children():
    nodes = {
        "component": Node("component", "c", 0, component=True),
        "slow": Node("slow", "t", 30, parent="component"),
        "fast": Node("fast", "t", 1, parent="component"),
        "user": Node("user", "t", 2, ("component",)),
    }
    path = rebuild.critical_path(nodes)
    assert path.minutes == pytest.approx(32)
    assert [step.name for step in path.path] == ["slow", "user"]


def test_children_start_after_their_parents_dependencies():
    nodes = {
        "network": Node("network", "t", 5),
        "component": Node("component", "c", 0, ("network",), component=True),
        "child": Node("child", "t", 3, parent="component"),
    }
    assert rebuild.critical_path(nodes).minutes == pytest.approx(8)


def test_a_dependency_cycle_is_an_error():
    nodes = {"a": Node("a", "t", 1, ("b",)), "b": Node("b", "t", 1, ("a",))}
    with pytest.raises(ValueError, match="cycle"):
        rebuild.critical_path(nodes)


def test_gcp_dr_path_is_a_chain_of_its_own_resources_ending_at_the_total(shipped):
    result = shipped("gcp-dr")
    path = rebuild.rebuild_time(result)
    names = {r.name for r in result.resources}
    assert all(step.name in names for step in path.path)
    assert path.path[-1].finish == pytest.approx(path.minutes)
    finishes = [step.finish for step in path.path]
    assert finishes == sorted(finishes)
    slowest = max(path.path, key=lambda step: step.minutes)
    assert slowest.type in ("gcp:redis/instance:Instance", "gcp:sql/databaseInstance:DatabaseInstance", "gcp:container/cluster:Cluster")


def test_regional_cloud_sql_takes_longer_than_zonal(run_stack, shipped):
    table = rebuild.load_times()
    regional = shipped("gcp-staging").one("gcp:sql/databaseInstance:DatabaseInstance")
    zonal = run_stack("gcp-staging", {"crm:database": {"availability": "ZONAL"}}).one("gcp:sql/databaseInstance:DatabaseInstance")
    assert rebuild.creation_minutes(regional, table) > rebuild.creation_minutes(zonal, table)


def test_rebuild_time_json_gives_minutes_path_and_the_chain_from_nothing(capsys):
    assert main(["rebuild-time", "gcp-dr", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stack"] == "gcp-dr"
    assert document["minutes"] > 10
    assert document["path"] and {"resource", "type", "minutes", "finish"} <= set(document["path"][0])
    assert document["stacks_chain"] == ["aws-dr", "gcp-dr"]
    assert document["from_nothing_minutes"] > document["minutes"]
