"""The config schema: one error per wrong value, misspelt keys named with the nearest key, YAML errors located."""

from __future__ import annotations

import pytest

from stacks.config import ConfigValidationError, load, read_stack_file, schema
from stacks.config.reader import Problems
from tests.conftest import stack_config
from tests.stacks.test_config import problems_of

# ---------------------------------------------------------------- no cascades


@pytest.mark.parametrize(
    "stack,changes,key",
    [
        # an invalid subnet is not also a subnet missing from its zone's count
        ("aws-dr", {"crm:network": {"privateSubnets": ["10.30.10.0/33", "10.30.11.0/24"]}}, "crm:network.privateSubnets[0]"),
        # zones of the wrong type are not also "fewer zones than subnets" three times over
        ("aws-dr", {"crm:network": {"zones": "ap-northeast-2a"}}, "crm:network.zones"),
        # an invalid VPC range is not also every subnet "outside" it
        ("aws-staging", {"crm:network": {"cidr": "10.11.0.0/33"}}, "crm:network.cidr"),
        # a wrong host name is not also wrong in every name derived from it (mail domain, webhook and origin hosts)
        ("aws-dr", {"crm:publicHost": "Not A Host"}, "crm:publicHost"),
        # the storage that other defaults derive from (autoscaling ceiling, slot WAL) is reported once
        ("aws-dr", {"crm:database": {"allocatedStorage": "lots"}}, "crm:database.allocatedStorage"),
        # a GCP range that is not a CIDR does not take part in the overlap checks
        ("gcp-dr", {"crm:network": {"subnetCidr": "10.20.0.0/99"}}, "crm:network.subnetCidr"),
        # a repository list entry that is wrong is not also an application image "not in the list"
        ("aws-dr", {"crm:registry": {"repositories": ["Bad Name"]}}, "crm:registry.repositories[0]"),
        # a wrong monitor value is not also a detection-time or overlapping-checks error
        ("global", {"crm:loadBalancer": {"monitor": {"intervalSeconds": "often"}}}, "crm:loadBalancer.monitor.intervalSeconds"),
    ],
)
def test_one_wrong_value_gives_exactly_one_error(stack, changes, key):
    found = problems_of(stack, changes)
    assert len(found) == 1 and found[0].startswith(key + ":"), found


@pytest.mark.parametrize(
    "stack,changes",
    [
        ("aws-dev", {"crm:application": {"minReplicas": 1}}),  # "at least 2 outside dev" judged against no environment
        (
            "aws-dev",
            {"crm:database": {"backupRetentionDays": 0, "enabled": True}, "crm:redis": {"clusterMode": True, "replicasPerShard": 0}},
        ),
        ("gcp-dev", {"crm:platform": {"kafkaBrokers": 1}}),
    ],
)
def test_an_invalid_environment_is_one_error_not_every_rule_that_depends_on_it(stack, changes):
    found = problems_of(stack, {"crm:environment": "develop", **changes})
    assert found == ["crm:environment: must be one of dev, staging, production, dr; got 'develop'"]


def test_an_invalid_environment_still_reports_wrong_values_of_their_own():
    found = problems_of("aws-dev", {"crm:environment": "develop", "crm:redis": {"nodes": 9}})
    assert sorted(p.split(":")[0] + ":" + p.split(":")[1] for p in found) == ["crm:environment", "crm:redis.nodes"]


def test_an_unknown_cloud_is_one_error():
    assert problems_of("aws-dr", {"crm:cloud": "azure"}) == ["crm:cloud: must be one of aws, gcp, cloudflare, bootstrap; got 'azure'"]


def test_a_relation_between_valid_values_is_still_checked_beside_a_wrong_value():
    found = problems_of("aws-production", {"crm:kubernetes": {"minSize": 4, "desiredSize": 3, "diskSizeGb": "big"}})
    keys = sorted(p.split(": ")[0] for p in found)
    assert keys == ["crm:kubernetes", "crm:kubernetes.diskSizeGb"], found


# ---------------------------------------------------------------- misspelt keys


def test_misspelt_provider_key_is_reported_as_misspelt_not_as_the_key_missing():
    found = problems_of("aws-dev", {"aws:region": None, "aws:regin": "ap-northeast-2"})
    assert found == ["aws:regin: is not a setting this stack reads; did you mean aws:region?"]


def test_misspelt_gcp_provider_key_names_the_key_it_resembles():
    found = problems_of("gcp-dev", {"gcp:project": None, "gcp:projet": "crm-dev-project"})
    assert found == ["gcp:projet: is not a setting this stack reads; did you mean gcp:project?"]


def test_other_keys_of_a_provider_are_the_provider_s_own():
    config = load("aws-dev", stack_config("aws-dev", {"aws:profile": "operations", "aws:skipMetadataApiCheck": "false"}))
    assert config.region == "ap-northeast-2"


def test_a_provider_key_missing_without_a_near_miss_is_required():
    assert problems_of("aws-dev", {"aws:region": None}) == ["aws:region: is required but not set"]


def test_a_provider_value_of_the_wrong_type_is_one_error():
    assert problems_of("aws-dr", {"aws:region": ["ap-northeast-2"]}) == ["aws:region: must be a string, got ['ap-northeast-2']"]


@pytest.mark.parametrize(
    "stack,changes,expected",
    [
        (
            "aws-dev",
            {"crm:database": {"instanceClas": "db.t3.small"}},
            "crm:database.instanceClas: is not a known setting; did you mean crm:database.instanceClass?",
        ),
        ("aws-dev", {"crm:databse": {"enabled": True}}, "crm:databse: is not a setting of a aws stack; did you mean crm:database?"),
        (
            "gcp-dev",
            {"crm:redis": {"memorySizeGB": 2}},
            "crm:redis.memorySizeGB: is not a known setting; did you mean crm:redis.memorySizeGb?",
        ),
        (
            "global",
            {"crm:loadBalancer": {"monitor": {"timeout": 5}}},
            "crm:loadBalancer.monitor.timeout: is not a known setting; did you mean crm:loadBalancer.monitor.timeoutSeconds?",
        ),
        (
            "aws-dev",
            {"crm:application": {"imageTagg": "1.0.0"}},
            "crm:application.imageTagg: is not a known setting; did you mean crm:application.imageTag?",
        ),
    ],
)
def test_misspelt_crm_key_suggests_the_nearest_known_key(stack, changes, expected):
    assert expected in problems_of(stack, changes)


def test_a_key_like_none_known_says_it_may_be_misspelt():
    assert problems_of("aws-dev", {"crm:redis": {"zzz": 1}}) == ["crm:redis.zzz: is not a known setting (misspelt?)"]


def test_a_misspelt_section_is_one_error_not_its_settings_missing():
    found = problems_of("aws-dr", {"crm:network": None, "crm:netwrk": read_stack_file("aws-dr")["crm:network"]})
    assert found == ["crm:netwrk: is not a setting of a aws stack; did you mean crm:network?"]


def test_aws_key_on_the_application_of_gcp_only_is_unknown():
    # healthCheckPath is an application key on GCP only; AWS takes it from crm:ingress.healthCheckPath
    assert any(
        p.startswith("crm:application.healthCheckPath: is not a known setting")
        for p in problems_of("aws-dev", {"crm:application": {"healthCheckPath": "/x"}})
    )


# ---------------------------------------------------------------- malformed stack files


def test_malformed_yaml_gives_file_line_and_column(tmp_path):
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  crm:cloud: aws\n  crm:environment: [dev\n  crm:project: crm\n")
    with pytest.raises(ConfigValidationError) as caught:
        read_stack_file("broken", tmp_path)
    (problem,) = caught.value.problems
    assert problem.key.startswith("Pulumi.broken.yaml:") and problem.message.startswith("is not valid YAML")
    line, column = map(int, problem.key.split(":")[1:3])
    assert (line, column) == (4, 14)  # where the parser found the flow sequence unclosed


def test_preview_of_a_malformed_stack_file_exits_2_with_the_location_and_no_traceback(tmp_path, monkeypatch, capsys):
    from tools import cli
    from tools.engine import workspace

    (tmp_path / "Pulumi.aws-dev.yaml").write_text("config:\n  crm:cloud: aws\n  crm:network: {cidr: 10.0.0.0/16\n")
    from tests.conftest import _real_preview_stack, _real_preview_stacks

    monkeypatch.setattr(workspace, "read_stack_file", lambda stack, *args: read_stack_file(stack, tmp_path))
    for module in (cli, workspace):  # past the session's preview cache: this file is not the shipped one
        monkeypatch.setattr(module, "preview_stack", _real_preview_stack, raising=False)
        monkeypatch.setattr(module, "preview_stacks", _real_preview_stacks, raising=False)
    assert cli.main(["preview", "aws-dev"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.aws-dev.yaml:4:1: is not valid YAML" in err and "Traceback" not in err


def test_a_stack_file_without_a_config_mapping_is_an_error(tmp_path):
    (tmp_path / "Pulumi.odd.yaml").write_text("config: [1, 2]\n")
    with pytest.raises(ConfigValidationError) as caught:
        read_stack_file("odd", tmp_path)
    assert caught.value.problems[0].key == "Pulumi.odd.yaml"


# ---------------------------------------------------------------- the schema itself


class _Example(schema.Section):
    size: int = schema.setting("size", "how big", by_env={"dev": 1, "staging": 2, "production": 3, "dr": 4}, ge=1, le=10)
    ceiling: int = schema.setting("ceiling", "twice the size", derive=lambda c: c["size"] * 2)
    name: str = schema.setting(
        "name", "what it is called", default="thing", check=lambda v: None if v.islower() else f"'{v}' is not lower-case"
    )


class _Common:
    cloud, project, public_host = "aws", "crm", "crm.test"

    def __init__(self, environment: str):
        self.environment = environment


def test_a_setting_declared_in_one_line_gets_its_environment_default():
    parsed = schema.read(Problems(), "crm:example", {}, _Example, schema.Context(_Common("staging")))
    assert parsed.build() == _Example(size=2, ceiling=4, name="thing")


def test_a_derived_default_follows_the_value_it_derives_from():
    parsed = schema.read(Problems(), "crm:example", {"size": 5}, _Example, schema.Context(_Common("dev")))
    assert parsed.ceiling == 10


def test_a_setting_s_limits_and_rule_are_enforced_with_its_key():
    problems = Problems()
    schema.read(problems, "crm:example", {"size": 11, "name": "Thing"}, _Example, schema.Context(_Common("dev")))
    assert [str(p) for p in problems.items] == [
        "crm:example.size: must be between 1 and 10, got 11",
        "crm:example.name: 'Thing' is not lower-case",
    ]


def test_a_default_derived_from_a_wrong_value_is_not_reported_twice():
    problems = Problems()
    parsed = schema.read(problems, "crm:example", {"size": "big"}, _Example, schema.Context(_Common("dev")))
    assert [p.key for p in problems.items] == ["crm:example.size"] and not parsed.complete


def test_a_common_setting_set_in_the_stack_file_reaches_the_typed_config():
    config = load("aws-dev", stack_config("aws-dev", {"crm:bootstrapStack": "bootstrap-eu"}), check_peer=False)
    assert config.common.bootstrap_stack == "bootstrap-eu"
    assert config.references == ["bootstrap-eu"]  # the stack its roles read the permissions boundary from


def test_cost_assumptions_are_read_with_the_rest_of_the_config():
    config = load("gcp-dev", stack_config("gcp-dev", {"crm:costAssumptions": {"natDataGb": 75}}), check_peer=False)
    assumptions = config.common.cost_assumptions
    assert (assumptions["natDataGb"].value, assumptions["natDataGb"].default) == (75, False)
    assert assumptions["logIngestionGb"].default is True and "albLcu" not in assumptions


def test_a_boolean_where_a_decimal_number_belongs_is_called_not_a_number():
    found = problems_of("aws-dev", {"crm:costAssumptions": {"albLcu": True}, "crm:monitoring": {"availabilityPercent": False}})
    assert "crm:costAssumptions.albLcu: must be a number, got True" in found
    assert "crm:monitoring.availabilityPercent: must be a number, got False" in found


# ---------------------------------------------------------------- models read in one pass


@pytest.mark.parametrize("stack", ["aws-dr", "gcp-dr", "global", "bootstrap"])
def test_a_stack_file_is_read_by_one_validation_of_its_typed_config(stack, monkeypatch):
    config_type = type(load(stack, read_stack_file(stack), check_peer=False))
    validated: list[type] = []
    validate = config_type.model_validate.__func__

    def counted(cls, *args, **kwargs):
        validated.append(cls)
        return validate(cls, *args, **kwargs)

    monkeypatch.setattr(config_type, "model_validate", classmethod(counted))
    config = load(stack, read_stack_file(stack), check_peer=False)
    assert validated == [config_type]
    sections = [value for _, value in config if isinstance(value, schema.Section)]
    assert len(sections) >= 2 and config.common in sections


def test_each_setting_is_a_pydantic_field_aliased_to_its_key():
    from stacks import config as config_layer

    fields = [
        (cls.model_fields[declared.name], spec)
        for sections in config_layer.SECTIONS.values()
        for cls in sections.values()
        for declared, spec in schema.settings_of(cls)
    ]
    assert fields and all(field.alias == spec.key and field.description == spec.description for field, spec in fields)
