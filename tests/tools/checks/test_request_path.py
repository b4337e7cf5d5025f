"""The request path from Cloudflare to a pod, walked through the resolved previews."""

from __future__ import annotations

import pytest

from tools.checks.request_path import walk

AWS = ["aws-dev", "aws-staging", "aws-production", "aws-dr"]
GCP = ["gcp-dev", "gcp-staging", "gcp-production", "gcp-dr"]


def _one(result, type_, name_contains=""):
    return next(r for r in result.resources if r.type == type_ and name_contains in r.name)


@pytest.fixture
def aws_dr(shipped):
    return shipped("aws-dr", preview=False), shipped("global", preview=False)


@pytest.mark.parametrize("stack", AWS)
def test_every_aws_link_holds(shipped, stack):
    global_result = shipped("global", preview=False) if stack == "aws-dr" else None
    walked = walk(shipped(stack, preview=False), global_result)
    assert walked.problems == []


def test_aws_dr_path_starts_at_cloudflare_and_ends_at_the_pod(aws_dr):
    hops = [h.what for h in walk(*aws_dr).hops]
    assert hops[0].startswith("Cloudflare load balancer") and any(h.startswith("Deployment crm/crm") for h in hops)


@pytest.mark.parametrize("stack", AWS + GCP)
def test_the_walk_reads_the_same_whatever_order_resources_registered_in(shipped, stack):
    """Resources whose inputs are outputs register as those resolve, in an order that differs between runs."""
    result = shipped(stack, preview=False)
    as_registered = walk(result).render()
    result.resources.reverse()
    assert walk(result).render() == as_registered


@pytest.mark.parametrize("stack", GCP)
def test_every_gcp_link_holds(shipped, stack):
    global_result = shipped("global", preview=False) if stack == "gcp-dr" else None
    assert walk(shipped(stack, preview=False), global_result).problems == []


def test_gcp_dr_path_goes_through_the_gateway_to_the_pod(shipped):
    hops = [h.what for h in walk(shipped("gcp-dr", preview=False), shipped("global", preview=False)).hops]
    assert [h.split(" ")[0] for h in hops[2:7]] == ["global", "GKE", "HTTPRoute", "Service", "Deployment"]


def test_a_gateway_on_another_address_breaks_the_path(shipped):
    result = shipped("gcp-dev", preview=False)
    gateway = next(r for r in result.resources if r.type.endswith(":Gateway") and r.type.startswith("kubernetes:"))
    gateway.inputs["spec"]["addresses"] = [{"type": "NamedAddress", "value": "elsewhere"}]
    assert any("no load balancer uses the reserved address" in p for p in walk(result).problems)


def test_a_load_balancer_health_check_on_another_path_breaks_the_path(shipped):
    result = shipped("gcp-dev", preview=False)
    policy = next(r for r in result.resources if r.type.endswith(":HealthCheckPolicy"))
    policy.inputs["spec"]["default"]["config"]["httpHealthCheck"]["requestPath"] = "/other"
    assert any("load balancer's health check" in p for p in walk(result).problems)


def test_a_service_selecting_no_pods_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    _one(result, "kubernetes:core/v1:Service").inputs["spec"]["selector"] = {"app.kubernetes.io/name": "other"}
    assert any("matches no Deployment" in p for p in walk(result, global_result).problems)


def test_a_binding_to_another_target_group_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    _one(result, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding").inputs["spec"]["targetGroupARN"] = "arn:aws:elasticloadbalancing:x"
    assert any("TargetGroupBinding" in p for p in walk(result, global_result).problems)


def test_a_readiness_path_other_than_the_monitor_path_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    container = _one(result, "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["path"] = "/ready"
    problems = walk(result, global_result).problems
    assert any("Cloudflare monitor" in p for p in problems) and any("target group's health check" in p for p in problems)


def test_a_target_port_other_than_the_container_port_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    _one(result, "kubernetes:core/v1:Service").inputs["spec"]["ports"][0]["targetPort"] = 9000
    assert any("targetPort 9000" in p for p in walk(result, global_result).problems)


def test_a_network_policy_without_the_alb_subnets_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    allow = _one(result, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "-allow")
    allow.inputs["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "10.99.0.0/24"}}]
    assert any("admits the ALB's subnets" in p for p in walk(result, global_result).problems)


def test_a_service_account_for_another_namespace_breaks_the_identity_link(aws_dr):
    result, global_result = aws_dr
    role = _one(result, "aws:iam/role:Role", "crm-dr-app-role")
    role.inputs["assumeRolePolicy"] = role.inputs["assumeRolePolicy"].replace(
        "system:serviceaccount:crm:crm-app", "system:serviceaccount:other:crm-app"
    )
    assert any("not the pods' service account" in p for p in walk(result, global_result).problems)


def test_an_alb_listener_to_an_instance_target_group_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    _one(result, "aws:lb/targetGroup:TargetGroup").inputs["targetType"] = "instance"
    assert any("target type 'instance'" in p for p in walk(result, global_result).problems)


def test_path_command_prints_hops_and_succeeds_when_every_link_holds(capsys):
    from tools.cli import main

    code = main(["path", "gcp-dev"])
    out = capsys.readouterr().out
    assert "Deployment crm/crm container crm:8080 HTTP" in out and "every link checked: OK" in out and code == 0


def test_path_command_refuses_the_global_stack(capsys):
    from tools.cli import main

    assert main(["path", "global"]) == 2


def test_path_command_exits_1_and_names_the_broken_link(monkeypatch, capsys, shipped):
    import tools.checks.request_path as request_path
    from tools.cli import main

    def broken_walk(stack):
        result = shipped(stack, preview=False)
        next(r for r in result.resources if r.type == "kubernetes:core/v1:Service").inputs["spec"]["selector"] = {"app": "none"}
        return request_path.walk(result)

    monkeypatch.setattr(request_path, "walk_stack", broken_walk)
    code = main(["path", "aws-dev"])
    out = capsys.readouterr().out
    assert code == 1 and "1 broken link(s)" in out and "matches no Deployment" in out


def test_aws_dr_path_verifies_cloudflares_client_certificate(aws_dr):
    assert any(h.what.startswith("mutual TLS: Cloudflare's origin-pull certificate") for h in walk(*aws_dr).hops)


def test_mutual_tls_without_origin_pulls_on_the_zone_breaks_the_path(aws_dr):
    result, global_result = aws_dr
    global_result.resources = [r for r in global_result.resources if "authenticatedOriginPullsSettings" not in r.type]
    assert any("authenticated origin pulls" in p for p in walk(result, global_result).problems)


def test_a_monitor_without_probe_zone_breaks_a_mutual_tls_path(aws_dr):
    result, global_result = aws_dr
    _one(global_result, "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor").inputs.pop("probeZone")
    assert any("probeZone" in p for p in walk(result, global_result).problems)


@pytest.fixture
def aws_dr_requiring_the_header(shipped):
    """aws-dr deployed again after gcp-dr and global: its ALB now requires the zone's origin-auth header."""
    from tests.stacks.test_origin_auth_stacks import deployed_after
    from tools.engine import workspace

    read_back = {stack: workspace.exported_for_reference(shipped(stack, preview=False)) for stack in ("gcp-dr", "global")}
    return deployed_after("aws-dr", read_back), shipped("global", preview=False)


def test_aws_dr_path_goes_through_the_origin_auth_rule(aws_dr_requiring_the_header):
    walked = walk(*aws_dr_requiring_the_header)
    assert walked.problems == []
    assert any(h.what.startswith("listener rule") and "x-crm-origin-auth" in h.what for h in walked.hops)


def test_a_zone_sending_a_value_the_alb_does_not_admit_breaks_the_path(aws_dr_requiring_the_header):
    result, global_result = aws_dr_requiring_the_header
    transform = next(
        r for r in global_result.of_type("cloudflare:index/ruleset:Ruleset") if r.inputs.get("phase") == "http_request_late_transform"
    )
    transform.inputs["rules"][0]["actionParameters"]["headers"]["x-crm-origin-auth"]["value"] = "SomeOtherValue0123456789"
    assert any("sends none of the values it admits" in p for p in walk(result, global_result).problems)
