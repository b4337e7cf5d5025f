"""Every validation rule of the typed config layer, with bad input, and several errors at once."""

from __future__ import annotations

import pytest

import stacks
from stacks.config import ConfigValidationError, GcpStackConfig, load, read_stack_file
from tests.conftest import ALL_STACKS, stack_config
from tools.engine import run_program


def problems_of(stack: str, changes: dict, peer_changes: dict | None = None) -> list[str]:
    def peer_loader(name: str) -> dict:
        return stack_config(name, peer_changes) if peer_changes is not None else read_stack_file(name)

    with pytest.raises(ConfigValidationError) as caught:
        load(stack, stack_config(stack, changes), peer_loader=peer_loader)
    return [str(p) for p in caught.value.problems]


def one_problem(stack: str, changes: dict, key: str) -> str:
    found = problems_of(stack, changes)
    matching = [p for p in found if p.startswith(key + ":") or p.startswith(key + " ")]
    assert matching, f"no problem for {key} in {found}"
    return matching[0]


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_shipped_stack_file_is_valid(stack):
    config = load(stack, read_stack_file(stack))
    assert config.common.stack == stack


def test_invalid_cidr_is_quoted_with_its_key():
    message = one_problem(
        "aws-dr", {"crm:network": {"privateSubnets": ["10.30.10.0/33", "10.30.11.0/24"]}}, "crm:network.privateSubnets[0]"
    )
    assert "'10.30.10.0/33'" in message and "not a valid IPv4 CIDR" in message


def test_subnet_outside_the_vpc():
    message = one_problem("aws-dr", {"crm:network": {"dataSubnets": ["10.99.20.0/24", "10.30.21.0/24"]}}, "crm:network.dataSubnets[0]")
    assert "not inside crm:network.cidr" in message


def test_overlapping_subnets_inside_a_stack():
    message = one_problem(
        "aws-staging", {"crm:network": {"dataSubnets": ["10.11.10.0/24", "10.11.21.0/24"]}}, "crm:network.privateSubnets[0]"
    )
    assert "overlaps crm:network.dataSubnets[0]" in message


def test_gcp_ranges_must_not_overlap_each_other():
    message = one_problem("gcp-staging", {"crm:network": {"servicesCidr": "10.45.16.0/20"}}, "crm:network.podsCidr")
    assert "overlaps crm:network.servicesCidr" in message


def test_zone_outside_the_region():
    message = one_problem("aws-dev", {"crm:network": {"zones": ["ap-northeast-2a", "us-east-1c"]}}, "crm:network.zones[1]")
    assert "'us-east-1c' is not in region ap-northeast-2" in message


def test_gcp_zone_outside_the_region():
    message = one_problem("gcp-dev", {"crm:network": {"zones": ["asia-northeast1-a"]}}, "crm:network.zones[0]")
    assert "not in region asia-northeast3" in message


def test_one_subnet_per_zone():
    message = one_problem("aws-dev", {"crm:network": {"publicSubnets": ["10.10.0.0/24"]}}, "crm:network.publicSubnets")
    assert "one subnet per zone (2), got 1" in message


@pytest.mark.parametrize(
    "stack,changes,key",
    [
        ("aws-production", {"crm:kubernetes": {"minSize": 4, "desiredSize": 3}}, "crm:kubernetes"),
        ("aws-production", {"crm:kubernetes": {"desiredSize": 11}}, "crm:kubernetes"),
        ("gcp-dr", {"crm:kubernetes": {"initialNodes": 2}}, "crm:kubernetes"),
    ],
)
def test_node_counts_must_be_ordered(stack, changes, key):
    assert "<=" in one_problem(stack, changes, key)


@pytest.mark.parametrize(
    "stack,changes,key,fragment",
    [
        ("aws-dr", {"crm:database": {"backupRetentionDays": 40}}, "crm:database.backupRetentionDays", "between 0 and 35"),
        ("aws-dr", {"crm:database": {"allocatedStorage": 10}}, "crm:database.allocatedStorage", "between 20 and 65536"),
        ("aws-dr", {"crm:redis": {"nodes": 7}}, "crm:redis.nodes", "between 1 and 6"),
        ("aws-dr", {"crm:redis": {"snapshotRetentionDays": 36}}, "crm:redis.snapshotRetentionDays", "between 0 and 35"),
        ("gcp-dr", {"crm:redis": {"memorySizeGb": 301}}, "crm:redis.memorySizeGb", "between 1 and 300"),
        ("gcp-dr", {"crm:database": {"backupRetentionCount": 0}}, "crm:database.backupRetentionCount", "between 1 and 365"),
        ("aws-dr", {"crm:database": {"maxAllocatedStorage": 100}}, "crm:database.maxAllocatedStorage", "at least allocatedStorage"),
        ("aws-staging", {"crm:database": {"backupRetentionDays": 0}}, "crm:database.backupRetentionDays", "at least 1 outside dev"),
        ("aws-dr", {"crm:database": {"instanceClass": "t3.large"}}, "crm:database.instanceClass", "RDS class"),
        ("aws-dr", {"crm:database": {"engineVersion": "16.2"}}, "crm:database.engineVersion", "PostgreSQL 15"),
        ("aws-dr", {"crm:database": {"username": "postgres"}}, "crm:database.username", "reserved"),
        ("aws-dr", {"crm:redis": {"engineVersion": "6.2"}}, "crm:redis.engineVersion", "Redis 7"),
        ("gcp-dr", {"crm:database": {"tier": "db-n1-standard-4"}}, "crm:database.tier", "not a Cloud SQL"),
        ("gcp-dr", {"crm:kubernetes": {"releaseChannel": "FAST"}}, "crm:kubernetes.releaseChannel", "one of RAPID"),
        ("gcp-dr", {"crm:network": {"masterCidr": "172.16.0.0/24"}}, "crm:network.masterCidr", "/28"),
        ("aws-dr", {"crm:kubernetes": {"version": "latest"}}, "crm:kubernetes.version", "Kubernetes minor"),
    ],
)
def test_values_within_provider_limits(stack, changes, key, fragment):
    assert fragment in one_problem(stack, changes, key)


def test_memorystore_read_replicas_need_five_gigabytes():
    message = one_problem("gcp-staging", {"crm:redis": {"readReplicas": True, "replicaCount": 2}}, "crm:redis.readReplicas")
    assert "at least 5 GB" in message


def test_standard_ha_without_read_replicas_keeps_one_replica():
    assert "exactly one standby" in one_problem("gcp-staging", {"crm:redis": {"replicaCount": 2}}, "crm:redis.replicaCount")


def test_misspelt_top_level_key_is_reported():
    assert "not a setting of a aws stack" in one_problem("aws-dev", {"crm:databse": {"enabled": True}}, "crm:databse")


def test_misspelt_nested_key_is_reported():
    assert "not a known setting" in one_problem("aws-dev", {"crm:database": {"instanceClas": "db.t3.small"}}, "crm:database.instanceClas")


@pytest.mark.parametrize(
    "stack,key",
    [
        ("aws-dev", "aws:region"),
        ("gcp-dev", "gcp:project"),
        ("aws-dev", "crm:publicHost"),
        ("aws-dev", "crm:cloud"),
    ],
)
def test_required_keys(stack, key):
    assert "required" in one_problem(stack, {key: None}, key)


def test_required_nested_key():
    assert "required" in one_problem("aws-dev", {"crm:dns": {"zoneId": None}}, "crm:dns.zoneId")


def test_public_eks_endpoint_needs_an_allow_list():
    assert "must list" in one_problem("aws-dev", {"crm:kubernetes": {"publicEndpoint": True}}, "crm:kubernetes.publicAccessCidrs")


def test_eks_endpoint_never_open_to_the_world():
    changes = {"crm:kubernetes": {"publicEndpoint": True, "publicAccessCidrs": ["0.0.0.0/0"]}}
    assert "never open to the world" in one_problem("aws-dev", changes, "crm:kubernetes.publicAccessCidrs[0]")


def test_gke_control_plane_never_open_to_the_world():
    assert "never open to the world" in one_problem(
        "gcp-dev", {"crm:kubernetes": {"authorizedNetworks": ["0.0.0.0/0"]}}, "crm:kubernetes.authorizedNetworks[0]"
    )


def test_alb_never_admits_the_world():
    assert "admits only Cloudflare" in one_problem(
        "aws-dev", {"crm:ingress": {"allowedCidrs": ["0.0.0.0/0"]}}, "crm:ingress.allowedCidrs[0]"
    )


def test_a_range_listed_twice_is_refused():
    # Each range names its own security-group rules, so a repeated one would be two resources of one name.
    changes = {"crm:ingress": {"allowedCidrs": ["192.0.2.0/24", "198.51.100.0/24", "192.0.2.0/24"]}}
    assert "192.0.2.0/24 more than once" in one_problem("aws-dev", changes, "crm:ingress.allowedCidrs")


def test_a_topic_listed_twice_is_refused():
    changes = {"crm:platform": {"kafkaTopics": ["crm.a", "crm.a"]}}
    assert "crm.a more than once" in one_problem("gcp-dev", changes, "crm:platform.kafkaTopics")


def test_wrong_types_are_reported():
    found = problems_of("aws-dev", {"crm:kubernetes": {"minSize": "three", "publicEndpoint": "maybe"}})
    assert any(p.startswith("crm:kubernetes.minSize: must be a whole number, got 'three'") for p in found)
    assert any(p.startswith("crm:kubernetes.publicEndpoint: must be true or false") for p in found)


def test_several_errors_are_reported_at_once():
    found = problems_of(
        "aws-dr",
        {
            "crm:network": {"cidr": "10.30.0.0/33"},
            "crm:database": {"backupRetentionDays": 99},
            "crm:redis": {"nodes": 0},
            "crm:kubernetes": {"minSize": 6, "desiredSize": 5},
        },
    )
    keys = {p.split(":")[0] + ":" + p.split(":")[1] for p in found}
    assert {"crm:network.cidr", "crm:database.backupRetentionDays", "crm:redis.nodes", "crm:kubernetes"} <= keys
    assert len(found) >= 4


def test_error_message_is_one_line_per_problem():
    with pytest.raises(ConfigValidationError) as caught:
        load("aws-dr", stack_config("aws-dr", {"crm:redis": {"nodes": 0}, "crm:database": {"backupRetentionDays": 99}}))
    lines = str(caught.value).splitlines()
    assert lines[0] == "stack 'aws-dr' has 2 config error(s):"
    assert all(line.startswith("  - crm:") for line in lines[1:]) and len(lines) == 3


def test_aws_dr_vpc_overlapping_gcp_dr_is_refused():
    found = problems_of(
        "aws-dr",
        {
            "crm:network": {
                "cidr": "10.20.0.0/16",
                "publicSubnets": ["10.20.0.0/24", "10.20.1.0/24"],
                "privateSubnets": ["10.20.10.0/24", "10.20.11.0/24"],
                "dataSubnets": ["10.20.20.0/24", "10.20.21.0/24"],
            }
        },
    )
    assert any("overlaps gcp-dr's crm:network.subnetCidr" in p for p in found)


def test_gcp_dr_sees_an_overlap_with_aws_dr_too():
    found = problems_of("gcp-dr", {}, peer_changes={"crm:network": {"cidr": "10.16.0.0/12"}})
    assert any(p.startswith("crm:network.subnetCidr") and "overlaps aws-dr's crm:network.cidr (10.16.0.0/12)" in p for p in found)


def test_bgp_sides_need_distinct_asns():
    found = problems_of("gcp-dr", {"crm:interconnect": {"routerAsn": 64512}})
    assert any(p.startswith("crm:interconnect.routerAsn") and "distinct ASNs" in p for p in found)


@pytest.mark.parametrize("asn,fragment", [(65535, "not a private ASN"), (7224, "not a private ASN"), (100, "not a private ASN")])
def test_router_asn_must_be_private(asn, fragment):
    assert fragment in one_problem("gcp-dr", {"crm:interconnect": {"routerAsn": asn}}, "crm:interconnect.routerAsn")


def test_amazon_side_asn_must_be_private():
    assert "not a private ASN" in one_problem("aws-dr", {"crm:interconnect": {"amazonSideAsn": 7224}}, "crm:interconnect.amazonSideAsn")


@pytest.mark.parametrize(
    "block,fragment",
    [
        ("169.254.0.0/28", "reserved by AWS (169.254.0.0/30)"),
        ("169.254.169.240/28", "reserved by AWS (169.254.169.252/30)"),
        ("10.0.0.0/28", "not inside 169.254.0.0/16"),
        ("169.254.10.0/29", "a /28 or larger"),
    ],
)
def test_tunnel_inside_block_is_checked(block, fragment):
    assert fragment in one_problem("gcp-dr", {"crm:interconnect": {"insideCidrBlock": block}}, "crm:interconnect.insideCidrBlock")


def test_peer_must_point_back():
    assert "not the other cloud's end" in one_problem(
        "gcp-dr", {"crm:interconnect": {"peerStack": "aws-staging"}}, "crm:interconnect.peerStack"
    )


def test_missing_peer_stack_file():
    assert "has no Pulumi.aws-nowhere.yaml" in one_problem(
        "gcp-dr", {"crm:interconnect": {"peerStack": "aws-nowhere"}}, "crm:interconnect.peerStack"
    )


def test_detection_budget_is_enforced_naming_the_keys():
    message = one_problem("global", {"crm:loadBalancer": {"detectionBudgetSeconds": 60}}, "crm:loadBalancer.monitor")
    assert "worst-case detection is 75 s" in message and "crm:loadBalancer.detectionBudgetSeconds (60 s)" in message


def test_monitor_retries_must_fit_in_the_interval():
    changes = {"crm:loadBalancer": {"monitor": {"intervalSeconds": 10, "timeoutSeconds": 5, "retries": 2}}}
    assert "checks overlap" in one_problem("global", changes, "crm:loadBalancer.monitor.timeoutSeconds")


@pytest.mark.parametrize(
    "key,value,fragment",
    [
        ("accountId", "not-an-id", "32-character"),
        ("notificationEmail", "oncall", "not an e-mail"),
        ("steering", "geo", "one of dynamic_latency, failover, random"),
    ],
)
def test_global_settings(key, value, fragment):
    assert fragment in one_problem("global", {"crm:loadBalancer": {key: value}}, f"crm:loadBalancer.{key}")


def test_dev_turns_databases_off_by_default():
    config = load("aws-dev", stack_config("aws-dev", {"crm:database": None, "crm:redis": None}))
    assert not config.database.enabled and not config.redis.enabled
    assert not load("gcp-dev", stack_config("gcp-dev", {"crm:database": None})).database.enabled


def test_defaults_come_from_the_environment_row():
    config = load("gcp-dr", stack_config("gcp-dr", {"crm:kubernetes": {"machineType": None, "maxNodes": None}}))
    assert isinstance(config, GcpStackConfig)
    assert (config.kubernetes.machine_type, config.kubernetes.max_nodes) == ("n2-standard-16", 10)


def test_config_errors_stop_the_program_before_any_resource():
    with pytest.raises(ConfigValidationError) as caught:
        run_program("aws-dr", stack_config("aws-dr", {"crm:redis": {"nodes": 0}}), stacks.run)
    assert caught.value.registered_resources == []


def test_under_the_pulumi_cli_config_errors_end_cleanly():
    import pulumi

    with pytest.raises(pulumi.RunError) as caught:
        run_program("aws-dr", stack_config("aws-dr", {"crm:redis": {"nodes": 0}}), stacks.main)
    assert "crm:redis.nodes: must be between 1 and 6, got 0" in str(caught.value)
    assert caught.value.registered_resources == []


def test_gke_deploys_without_authorized_networks_through_its_dns_endpoint():
    config = load("gcp-dr", stack_config("gcp-dr", {"crm:kubernetes": {"authorizedNetworks": []}}), peer_loader=read_stack_file)
    assert config.kubernetes.authorized_networks == []


def test_kafka_version_must_be_one_the_pinned_strimzi_runs():
    assert "Strimzi 1.2.0 runs Kafka" in one_problem("gcp-dr", {"crm:platform": {"kafkaVersion": "3.9.0"}}, "crm:platform.kafkaVersion")


def test_strimzi_release_must_be_one_the_program_knows():
    assert "must be one of 1.2.0" in one_problem(
        "gcp-dr", {"crm:platform": {"strimziChartVersion": "0.45.0"}}, "crm:platform.strimziChartVersion"
    )


def test_strimzi_kafka_version_table_matches_the_release_s_kafka_versions_file():
    from pathlib import Path

    import yaml

    from stacks.config.rules import STRIMZI_KAFKA_VERSIONS

    for release, versions in STRIMZI_KAFKA_VERSIONS.items():
        shipped = yaml.safe_load(
            (Path(__file__).resolve().parents[2] / "tools/checks/schemas" / f"strimzi-{release}" / "kafka-versions.yaml").read_text()
        )
        assert versions == tuple(v["version"] for v in shipped if v.get("supported")), release


def test_database_log_retention_must_be_one_cloudwatch_offers():
    assert "731" in one_problem("aws-production", {"crm:database": {"logRetentionDays": 100}}, "crm:database.logRetentionDays")


def test_control_plane_log_retention_must_be_one_cloudwatch_offers():
    assert "365" in one_problem("aws-production", {"crm:kubernetes": {"logRetentionDays": 300}}, "crm:kubernetes.logRetentionDays")


@pytest.mark.parametrize("stack", ["aws-dr", "gcp-dr"])
def test_kafka_topic_outside_the_app_prefix_is_refused(stack):
    assert "must start with 'crm.'" in one_problem(
        stack, {"crm:platform": {"kafkaTopics": ["crm.ok", "billing"]}}, "crm:platform.kafkaTopics[1]"
    )


def test_project_name_that_would_overrun_the_load_balancer_name_is_refused():
    assert "at most 13 characters" in one_problem("aws-production", {"crm:project": "customer-relations"}, "crm:project")


def test_app_role_must_not_be_the_admin_user():
    assert "admin user" in one_problem("aws-dev", {"crm:database": {"appUsername": "crmadmin"}}, "crm:database.appUsername")


def test_replication_role_must_differ_from_the_app_role():
    assert "each role has one purpose" in one_problem(
        "aws-dev", {"crm:database": {"replicationUsername": "crm_app"}}, "crm:database.replicationUsername"
    )


def test_origin_host_must_not_be_the_public_host():
    assert "global stack" in one_problem("gcp-dev", {"crm:dns": {"originHost": "crm-dev.example.com"}}, "crm:dns.originHost")


def test_dns_zone_id_is_a_cloudflare_id():
    assert "32-character" in one_problem("gcp-dev", {"crm:dns": {"zoneId": "my-zone"}}, "crm:dns.zoneId")


def test_gcp_armor_ranges_refuse_the_whole_internet():
    assert "only Cloudflare" in one_problem("gcp-dev", {"crm:ingress": {"allowedCidrs": ["0.0.0.0/0"]}}, "crm:ingress.allowedCidrs[0]")


def test_application_image_tag_latest_is_refused():
    from stacks.config import ConfigValidationError, load
    from tests.conftest import stack_config

    with pytest.raises(ConfigValidationError) as error:
        load("aws-dev", stack_config("aws-dev", {"crm:application": {"imageTag": "latest"}}))
    assert any(p.key == "crm:application.imageTag" for p in error.value.problems)


def test_application_problems_are_reported_together():
    from stacks.config import ConfigValidationError, load
    from tests.conftest import stack_config

    bad = {"crm:application": {"imageTag": "-x", "imageRepository": "nope", "minReplicas": 1, "cpuRequest": "2", "cpuLimit": "1"}}
    with pytest.raises(ConfigValidationError) as error:
        load("gcp-production", stack_config("gcp-production", bad))
    keys = {p.key for p in error.value.problems}
    assert {
        "crm:application.imageTag",
        "crm:application.imageRepository",
        "crm:application.minReplicas",
        "crm:application.cpuRequest",
    } <= keys


def test_aws_probes_use_the_target_group_health_path():
    from stacks.config import load
    from tests.conftest import stack_config

    config = load("aws-dev", stack_config("aws-dev", {"crm:ingress": {"healthCheckPath": "/status"}}))
    assert config.application.health_path == "/status"


def test_eks_admins_are_required_since_no_identity_has_implicit_access():
    assert "not even the identity that creates the cluster" in one_problem(
        "aws-dev", {"crm:kubernetes": {"adminPrincipals": []}}, "crm:kubernetes.adminPrincipals"
    )


def test_eks_admin_listed_twice_is_refused():
    role = "arn:aws:iam::123456789012:role/github-crm-deploy"
    assert "twice" in one_problem("aws-dev", {"crm:kubernetes": {"adminPrincipals": [role, role]}}, "crm:kubernetes.adminPrincipals")


def test_eks_admin_must_be_an_iam_role_not_a_session():
    session = "arn:aws:sts::123456789012:assumed-role/github-crm-deploy/run-1"
    assert "not an IAM role or user ARN" in one_problem(
        "aws-dev", {"crm:kubernetes": {"adminPrincipals": [session]}}, "crm:kubernetes.adminPrincipals[0]"
    )


def test_aws_stacks_sharing_a_certificate_name_in_one_zone_are_refused():
    # One account's ACM certificates for one name share their validation record: the second stack could not write it.
    message = one_problem("aws-dev", {"crm:publicHost": "crm.example.com"}, "crm:publicHost")
    assert "aws-dr (also aws, same Cloudflare zone)" in message and "'crm.example.com'" in message


def test_gcp_stacks_sharing_a_certificate_name_in_one_zone_are_refused():
    # Certificate Manager authorizes a name through the one CNAME _acme-challenge.<name>, whatever the project.
    assert "gcp-dr (also gcp" in one_problem("gcp-staging", {"crm:publicHost": "crm.example.com"}, "crm:publicHost")


def test_an_existing_certificate_writes_no_validation_record_to_collide():
    changes = {
        "crm:publicHost": "crm.example.com",
        "crm:ingress": {"certificateArn": "arn:aws:acm:ap-northeast-2:123456789012:certificate/abc-1"},
    }
    config = load("aws-dev", stack_config("aws-dev", changes))
    assert config.common.public_host == "crm.example.com"


def test_stacks_in_different_zones_may_share_a_name():
    config = load("aws-dev", stack_config("aws-dev", {"crm:publicHost": "crm.example.com", "crm:dns": {"zoneId": "ab" * 16}}))
    assert config.dns.zone_id == "ab" * 16


def test_the_dr_pair_shares_the_load_balanced_host_across_clouds():
    aws, gcp = load("aws-dr", read_stack_file("aws-dr")), load("gcp-dr", read_stack_file("gcp-dr"))
    assert aws.common.public_host == gcp.common.public_host and aws.dns.zone_id == gcp.dns.zone_id


def test_an_origin_host_another_stack_writes_is_refused():
    # aws-dr's origin, by default, is crm-dr-aws.<zone>.
    message = one_problem("aws-dev", {"crm:dns": {"originHost": "crm-dr-aws.example.com"}}, "crm:dns.originHost")
    assert "aws-dr's origin host ('crm-dr-aws.<zone>')" in message


def test_the_runner_serves_the_repository_bootstrap_trusts():
    config = load("aws-dr", read_stack_file("aws-dr"))
    assert config.ci.runner and config.ci.repository == load("bootstrap", read_stack_file("bootstrap")).github.repository


def test_a_runner_without_the_bootstrap_stack_file_is_refused():
    def peer_loader(name: str) -> dict:
        if name == "bootstrap":
            raise FileNotFoundError(name)
        return read_stack_file(name)

    with pytest.raises(ConfigValidationError) as caught:
        load("aws-dev", read_stack_file("aws-dev"), peer_loader=peer_loader)
    assert [p.key for p in caught.value.problems] == ["crm:ci.runner"]
    assert "crm:github.repository" in str(caught.value)


def test_a_connection_name_codeconnections_refuses_is_refused():
    assert "CodeConnections connection name" in one_problem(
        "aws-dev", {"crm:ci": {"githubConnection": "a name with spaces"}}, "crm:ci.githubConnection"
    )
