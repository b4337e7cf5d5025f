"""components/base.py: how every component reads Pulumi's resource options."""

from __future__ import annotations

import pulumi
import pulumi_random as random
import pytest

from components.aws.elasticache import RedisCache
from components.base import Component
from components.gcp.cloudsql import CloudSqlPostgres
from tests.components.aws.test_elasticache import cache_args
from tests.components.gcp.test_cloudsql import sql_args

# The replication group and the suffix of its final snapshot; its AUTH token is replaced on rotation (crm:rotation),
# so it stays unprotected.
STATEFUL_CACHE_CHILDREN = {"c-redis", "c-final-snapshot-suffix"}


class Renamed(Component):
    """A component whose type was renamed from crm:test:OldName."""

    past_types = ("crm:test:OldName",)

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:test:NewName", name, None, opts)
        random.RandomPassword(f"{name}-secret", length=16, opts=self.stateful())
        self.register_outputs({})


def test_opts_protect_protects_the_stateful_children_only(run_component):
    result = run_component(lambda: RedisCache("c", cache_args(), opts=pulumi.ResourceOptions(protect=True)))
    assert {r.name for r in result.resources if r.protect} == STATEFUL_CACHE_CHILDREN


def test_the_component_itself_stays_unprotected_so_its_stateless_children_can_change(run_component):
    result = run_component(lambda: RedisCache("c", cache_args(), opts=pulumi.ResourceOptions(protect=True)))
    assert result.one("crm:aws:RedisCache").protect is False
    assert result.one("aws:elasticache/subnetGroup:SubnetGroup").protect is False


def test_without_opts_protect_nothing_is_protected(run_component):
    result = run_component(lambda: RedisCache("c", cache_args()))
    assert not [r.name for r in result.resources if r.protect]


def test_children_that_must_wait_take_the_components_depends_on(run_component):
    def build():
        grant = random.RandomString("grant", length=8)
        CloudSqlPostgres("sql", sql_args(), opts=pulumi.ResourceOptions(depends_on=[grant]))
        return True

    result = run_component(build)
    grant = result.one("random:index/randomString:RandomString", "grant")
    assert grant.urn in result.one("gcp:sql/databaseInstance:DatabaseInstance").dependencies


def test_past_types_are_registered_as_aliases(run_component):
    result = run_component(lambda: Renamed("thing"))
    assert [alias["spec"]["type"] for alias in result.one("crm:test:NewName").aliases] == ["crm:test:OldName"]


def test_a_component_without_past_types_registers_no_alias(run_component):
    result = run_component(lambda: RedisCache("c", cache_args()))
    assert result.one("crm:aws:RedisCache").aliases == []


def test_the_caller_keeps_its_options_untouched(run_component):
    options = pulumi.ResourceOptions(protect=True)
    run_component(lambda: Renamed("thing", opts=options))
    assert options.protect is True and options.aliases is None


def test_a_component_refuses_to_fall_back_to_an_ambient_provider(run_component):
    class OnCluster(Component):
        def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
            super().__init__("crm:test:OnCluster", name, None, opts)
            self.require_provider("kubernetes")

    with pytest.raises(Exception, match=r"pass the kubernetes provider in opts.providers"):
        run_component(lambda: OnCluster("x"))


def test_a_component_inside_a_protected_component_protects_its_stateful_children(run_component):
    class Outer(Component):
        def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
            super().__init__("crm:test:Outer", name, None, opts)
            Renamed(f"{name}-inner", opts=pulumi.ResourceOptions(parent=self))

    result = run_component(lambda: Outer("outer", opts=pulumi.ResourceOptions(protect=True)))
    assert [r.name for r in result.resources if r.protect] == ["outer-inner-secret"]
