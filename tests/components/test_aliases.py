"""The alias policy (docs/components.md): a rename or a move never replaces what Pulumi manages.

`released_types.txt` lists every component type token that has been deployed. A type may leave
the code only into a component's `past_types`, which registers it as an alias.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil

import pulumi

import components
from components.base import Component

RELEASED = pathlib.Path(__file__).with_name("released_types.txt")
ROOT = pathlib.Path(components.__file__).parent


def component_classes() -> list[type]:
    found = {}
    for module in pkgutil.walk_packages([str(ROOT)], "components."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__.startswith("components.") and cls is not Component:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def type_token(cls: type) -> str:
    """The type a component registers: the string its __init__ hands to super().__init__."""
    tree = ast.parse(inspect.getsource(cls))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            return node.args[0].value
    raise AssertionError(f"{cls.__qualname__} registers no literal type token")


def test_components_are_found():
    assert len(component_classes()) >= len(RELEASED.read_text().split())


def test_every_component_builds_on_the_base_that_registers_its_aliases():
    assert [c.__qualname__ for c in component_classes() if not issubclass(c, Component)] == []


def test_every_released_type_is_registered_now_or_kept_as_an_alias():
    current = {type_token(c) for c in component_classes()}
    aliased = {old for c in component_classes() for old in c.past_types}
    assert sorted(set(RELEASED.read_text().split()) - current - aliased) == []


def test_every_type_in_the_code_is_on_the_released_list():
    """A new component adds its type to released_types.txt, so a later rename cannot drop it unnoticed."""
    assert sorted({type_token(c) for c in component_classes()} - set(RELEASED.read_text().split())) == []


def test_the_link_provider_moved_to_the_program_keeps_its_old_urn(shipped):
    """The HA VPN link created its AWS provider until the gcp program did: the alias names the old parent."""
    result = shipped("gcp-dr")
    link = result.one("crm:interconnect:HaVpnLink")
    provider = result.one("pulumi:providers:aws", "crm-dr-link-aws")
    assert provider.parent != link.urn
    # The mock engine qualifies top-level URNs with the stack's type; Pulumi's engine does not.
    deployed_link_urn = link.urn.replace("pulumi:pulumi:Stack$", "")
    assert [a["spec"].get("parentUrn") for a in provider.aliases] == [deployed_link_urn]


def test_buckets_and_charts_moved_into_their_shared_components_keep_their_urns(shipped):
    """PrivateBucket and ChartRelease took over children their callers built: each child aliases the caller as parent."""
    result = shipped("aws-production")
    by_urn = {r.urn: r for r in result.resources}
    moved = [
        r
        for r in result.resources
        if r.parent in by_urn and by_urn[r.parent].type in ("crm:aws:PrivateBucket", "crm:kubernetes:ChartRelease")
    ]
    callers = {by_urn[by_urn[r.parent].parent].type for r in moved}
    assert {"crm:aws:PublicLoadBalancer", "crm:aws:ClusterAutoscaler", "crm:aws:LoadBalancerController"} <= callers
    for child in moved:
        caller = by_urn[by_urn[child.parent].parent]
        assert {"parentUrn": caller.urn} in [a.get("spec") for a in child.aliases], child.name
        assert child.name.startswith(caller.name)
