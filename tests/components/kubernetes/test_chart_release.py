"""The one Helm-release shape: the chart, and an IRSA role for its service account when its pods call AWS."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.kubernetes.chart_release import ChartRelease, ChartReleaseArgs, IrsaRole, ServiceAccount, with_service_account

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}]})


def chart_args(**changes) -> ChartReleaseArgs:
    values = dict(
        release_name="controller",
        chart="controller",
        version="1.2.3",
        repository="https://charts.example.com",
        namespace="kube-system",
        values={"replicaCount": 2, "rbac": {"create": True}},
        service_account=ServiceAccount("controller", values_path=("rbac", "serviceAccount")),
        aws_role=IrsaRole(
            oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.example.com/id/ABC",
            oidc_provider_url="https://oidc.eks.example.com/id/ABC",
            policy=POLICY,
            tags={"team": "platform"},
            permissions_boundary="arn:aws:iam::123456789012:policy/boundary",
        ),
    )
    values.update(changes)
    return ChartReleaseArgs(**values)


class Caller(pulumi.ComponentResource):
    """Stands in for the component that built the role, policy and release itself before."""

    def __init__(self, args: ChartReleaseArgs):
        provider = k8s.Provider("cluster", kubeconfig="{}")
        super().__init__("test:index:Caller", "ctl", None, pulumi.ResourceOptions(providers=[provider]))
        ChartRelease("ctl", args, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


@pytest.fixture
def irsa(run_component):
    return run_component(lambda: Caller(chart_args()))


def test_only_the_charts_service_account_assumes_the_role(irsa):
    role = irsa.one(ROLE)
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["StringEquals"] == {
        "oidc.eks.example.com/id/ABC:sub": "system:serviceaccount:kube-system:controller",
        "oidc.eks.example.com/id/ABC:aud": "sts.amazonaws.com",
    }
    assert role["permissionsBoundary"] == "arn:aws:iam::123456789012:policy/boundary"
    assert irsa.one("aws:iam/rolePolicy:RolePolicy")["policy"] == POLICY


def test_the_role_is_annotated_on_the_service_account_where_the_chart_reads_it(irsa):
    values = irsa.one(RELEASE)["values"]
    assert values["rbac"] == {
        "create": True,
        "serviceAccount": {
            "create": True,
            "name": "controller",
            "annotations": {"eks.amazonaws.com/role-arn": irsa.one(ROLE).output("arn")},
        },
    }
    assert values["replicaCount"] == 2


def test_the_release_waits_for_the_roles_policy_and_rolls_back_on_failure(irsa):
    release = irsa.one(RELEASE)
    assert irsa.one("aws:iam/rolePolicy:RolePolicy").urn in release.dependencies
    assert release["atomic"] is True and release["repositoryOpts"] == {"repo": "https://charts.example.com"}
    assert irsa.one("crm:kubernetes:ChartRelease").outputs["roleArn"] == irsa.one(ROLE).output("arn")


def test_children_keep_the_urns_they_had_under_the_caller(irsa):
    caller = irsa.one("test:index:Caller")
    component = irsa.one("crm:kubernetes:ChartRelease")
    children = [r for r in irsa.resources if r.parent == component.urn]
    assert sorted(c.name for c in children) == ["ctl-chart", "ctl-irsa", "ctl-policy"]
    for child in children:
        assert [a["spec"] for a in child.aliases if "type" not in a["spec"]] == [{"parentUrn": caller.urn}], child.name


def test_a_chart_without_an_aws_identity_has_no_role(run_component):
    result = run_component(lambda: Caller(chart_args(aws_role=None, service_account=None, release_suffix="eso")))
    assert result.of_type(ROLE) == [] and result.of_type("aws:iam/rolePolicy:RolePolicy") == []
    release = result.one(RELEASE)
    assert release.name == "ctl-eso" and "serviceAccount" not in release["values"]["rbac"]


def test_a_role_needs_the_service_account_it_is_annotated_on():
    with pytest.raises(ValueError, match="needs the service_account"):
        chart_args(service_account=None)


def test_service_account_values_keep_the_charts_other_settings():
    merged = with_service_account({"serviceAccount": {"automount": False}}, ServiceAccount("sa"), {"k": "v"})
    assert merged == {"serviceAccount": {"automount": False, "create": True, "name": "sa", "annotations": {"k": "v"}}}
