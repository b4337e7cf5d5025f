from __future__ import annotations

import itertools

import pytest

from components.aws.alb import PublicLoadBalancer, PublicLoadBalancerArgs, load_balancer_name
from tools.engine.fakes import cloudflare_ip_ranges

CLOUDFLARE_IPV4_RANGES = cloudflare_ip_ranges()["ipv4Cidrs"]  # the published list the offline engine answers with


def alb_args(**changes) -> PublicLoadBalancerArgs:
    values = dict(
        vpc_id="vpc-1",
        vpc_cidr="10.30.0.0/16",
        subnet_ids=["pub-a", "pub-c"],
        certificate_arn="arn:aws:acm:cert",
        allowed_cidrs=["173.245.48.0/20"],
        target_security_group_id="sg-app",
        tags={},
    )
    values.update(changes)
    return PublicLoadBalancerArgs(**values)


@pytest.fixture
def alb(run_component):
    return run_component(lambda: PublicLoadBalancer("web", alb_args()).forward())


def test_the_https_listener_waits_for_what_registers_targets(run_component):
    import pulumi_random as random

    def build():
        registration = random.RandomPet("registration")  # stands in for the TargetGroupBinding
        PublicLoadBalancer("web", alb_args()).forward(after=[registration])

    result = run_component(build)
    https = result.one("aws:lb/listener:Listener", "web-https")
    assert result.one("random:index/randomPet:RandomPet").urn in https.dependencies
    assert https["defaultActions"][0]["targetGroupArn"] == result.one("aws:lb/targetGroup:TargetGroup").output("arn")


def test_a_replaced_target_group_is_created_before_the_old_one_goes(alb):
    group = alb.one("aws:lb/targetGroup:TargetGroup")
    # A prefix, not a fixed name: the new group can exist beside the old one, so no delete-before-replace.
    assert group["namePrefix"] == "app-" and "name" not in group.inputs
    assert "deleteBeforeReplace" not in group.options


def test_internet_facing_in_public_subnets_with_deletion_protection(alb):
    lb = alb.one("aws:lb/loadBalancer:LoadBalancer")
    assert lb["internal"] is False and lb["subnets"] == ["pub-a", "pub-c"]
    assert lb["enableDeletionProtection"] is True and lb["dropInvalidHeaderFields"] is True


def test_https_listener_uses_the_configured_certificate(alb):
    https = alb.one("aws:lb/listener:Listener", "web-https")
    assert (
        https["port"] == 443 and https["certificateArn"] == "arn:aws:acm:cert" and https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    )


def test_http_redirects_to_https(alb):
    action = alb.one("aws:lb/listener:Listener", "web-http")["defaultActions"][0]
    assert action["type"] == "redirect" and action["redirect"]["protocol"] == "HTTPS"


def test_only_cloudflare_ranges_reach_the_alb(alb):
    rules = [r for r in alb.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r["securityGroupId"] == "web-sg-id"]
    assert {r["cidrIpv4"] for r in rules} == {"173.245.48.0/20"}
    assert {r["fromPort"] for r in rules} == {80, 443}


INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def _rules_by_range(result) -> dict[tuple[str, int], str]:
    return {(r["cidrIpv4"], r["fromPort"]): r.urn for r in result.of_type(INGRESS_RULE) if r["securityGroupId"] == "web-sg-id"}


def test_a_range_keeps_its_rules_when_the_list_around_it_changes(run_component):
    before = _rules_by_range(
        run_component(lambda: PublicLoadBalancer("web", alb_args(allowed_cidrs=["173.245.48.0/20", "103.21.244.0/22"])))
    )
    after = _rules_by_range(
        run_component(lambda: PublicLoadBalancer("web", alb_args(allowed_cidrs=["198.51.100.0/24", "103.21.244.0/22"])))
    )
    # Cloudflare dropped the first range and published another: the kept range's rules keep their URNs
    # (positional names would move them onto another range, and AWS refuses the duplicate rule meanwhile).
    assert before[("103.21.244.0/22", 443)] == after[("103.21.244.0/22", 443)]
    assert before[("103.21.244.0/22", 80)] == after[("103.21.244.0/22", 80)]
    assert after[("198.51.100.0/24", 443)].endswith("::web-cf-443-198-51-100-0-24")


def test_rules_of_stacks_deployed_with_positional_names_are_aliased(alb):
    rule = alb.one(INGRESS_RULE, "web-cf-443-173-245-48-0-20")
    # Same parent and type, the old name: the engine finds the rule's state under the URN it had.
    assert [a["spec"]["name"] for a in rule.aliases] == ["web-cf-443-0"]


def test_a_range_listed_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        alb_args(allowed_cidrs=["173.245.48.0/20", "173.245.48.0/20"])


def test_shipped_stacks_admit_cloudflares_published_ranges(shipped):
    rules = [
        r for r in shipped("aws-dr").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-ingress-cf-443-" in r.name
    ]
    assert {r["cidrIpv4"] for r in rules} == set(CLOUDFLARE_IPV4_RANGES)


def test_ip_target_group_for_the_application(alb):
    group = alb.one("aws:lb/targetGroup:TargetGroup")
    assert group["targetType"] == "ip" and group["healthCheck"]["path"] == "/health"


def test_access_logs_go_to_an_encrypted_private_bucket(alb):
    lb = alb.one("aws:lb/loadBalancer:LoadBalancer")
    assert lb["accessLogs"]["enabled"] is True and lb["accessLogs"]["bucket"] == alb.one("aws:s3/bucket:Bucket").name + "-bucket"
    encryption = alb.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    block = alb.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


def test_world_open_alb_is_refused():
    with pytest.raises(ValueError, match=r"0.0.0.0/0"):
        alb_args(allowed_cidrs=["0.0.0.0/0"])


def test_no_deletion_protection_in_dev(shipped):
    assert shipped("aws-dev").one("aws:lb/loadBalancer:LoadBalancer")["enableDeletionProtection"] is False


@pytest.mark.parametrize("stack", ["aws-dev", "aws-staging", "aws-production", "aws-dr"])
def test_load_balancer_name_fits_elastic_load_balancing(shipped, stack):
    lb = shipped(stack).one("aws:lb/loadBalancer:LoadBalancer")
    assert lb["name"] == f"crm-{stack.split('-')[1]}-ingress" and len(lb["name"]) <= 32


@pytest.mark.parametrize("stack", ["aws-staging", "aws-production"])
def test_target_group_is_named_from_a_short_prefix(shipped, stack):
    group = shipped(stack).one("aws:lb/targetGroup:TargetGroup")
    assert "name" not in group.inputs and group["namePrefix"] == "app-"
    assert len(group["namePrefix"]) + 26 <= 32  # the provider appends 26 characters to the prefix


def test_load_balancer_name_longer_than_32_characters_is_refused():
    with pytest.raises(ValueError, match="at most 32"):
        load_balancer_name("crm-a-very-long-environment-ingress")


def test_access_log_bucket_settings_are_applied_one_after_another(alb):
    order = [
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
    ]
    steps = [alb.one(type_) for type_ in order]
    for previous, following in itertools.pairwise(steps):
        assert previous.urn in following.dependencies, f"{following.type} does not wait for {previous.type}"


def test_stack_exports_the_target_group_for_the_load_balancer_controller(shipped):
    result = shipped("aws-production", preview=False)
    group = result.one("aws:lb/targetGroup:TargetGroup")
    assert result.outputs["albTargetGroupArn"] == group.output("arn")


def test_ranges_follow_cloudflares_data_source(run_stack, monkeypatch):
    from tools.engine import fakes

    published = {**fakes.cloudflare_ip_ranges(), "ipv4Cidrs": ["198.51.100.0/24", "203.0.113.0/24"]}
    monkeypatch.setattr(fakes, "cloudflare_ip_ranges", lambda: published)
    rules = [
        r
        for r in run_stack("aws-dev", fresh=True).of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "-ingress-cf-443-" in r.name
    ]
    assert sorted(r["cidrIpv4"] for r in rules) == ["198.51.100.0/24", "203.0.113.0/24"]


def test_configured_ranges_override_cloudflares(run_stack):
    rules = [
        r
        for r in run_stack("aws-dev", {"crm:ingress": {"allowedCidrs": ["192.0.2.0/24"]}}).of_type(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        )
        if "-ingress-cf-443-" in r.name
    ]
    assert [r["cidrIpv4"] for r in rules] == ["192.0.2.0/24"]


@pytest.mark.parametrize(("stack", "destroyable"), [("aws-dev", True), ("aws-production", False)])
def test_only_dev_load_balancer_buckets_are_emptied_by_a_destroy(shipped, stack, destroyable):
    # Versioned buckets with objects refuse a delete (BucketNotEmpty): dev must be destroyable; elsewhere they are kept.
    buckets = [b for b in shipped(stack).of_type("aws:s3/bucket:Bucket") if "-ingress-" in b.name]
    assert buckets and all(b["forceDestroy"] is destroyable and b.protect is not destroyable for b in buckets)
