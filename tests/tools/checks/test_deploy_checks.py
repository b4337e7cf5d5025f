"""The deploy checks: Kubernetes and CRD schemas, Helm values, and identities created by other resources."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.gcp.gke import GkeCluster
from components.gcp.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from tests.components.gcp.test_gke import gke_args
from tests.conftest import ALL_STACKS
from tools.checks import deploy_checks
from tools.cli import main
from tools.policy_check import from_preview


def findings(plan, policy: str) -> list[str]:
    return [v.message for v in deploy_checks.check(plan) if v.policy == policy]


def resource(plan, type_: str, name_contains: str = ""):
    found = [r for r in plan if r.type == type_ and name_contains in r.name]
    assert len(found) == 1, [r.type for r in plan]
    return found[0]


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_shipped_stacks_pass_the_deploy_checks(stack, shipped):
    assert deploy_checks.check(from_preview(shipped(stack))) == []


def test_gke_resources_are_judged_on_every_minor_the_channel_may_run(shipped):
    minors = deploy_checks.cluster_minors(from_preview(shipped("gcp-dr")))
    assert minors[0] == deploy_checks.GKE_OLDEST_MINOR and minors[-1] == deploy_checks.shipped_kubernetes_minors()[-1]


def test_eks_resources_are_judged_on_the_version_the_cluster_pins(shipped):
    plan = from_preview(shipped("aws-dr"))
    assert deploy_checks.cluster_minors(plan) == [resource(plan, "aws:eks/cluster:Cluster").inputs["version"]]


def _deployment(spec_changes: dict):
    spec = {
        "selector": {"matchLabels": {"app": "crm"}},
        "template": {"metadata": {"labels": {"app": "crm"}}, "spec": {"containers": [{"name": "api", "image": "crm/api:1"}]}},
        **spec_changes,
    }
    return k8s.apps.v1.Deployment("crm-api", metadata={"name": "crm-api", "namespace": "crm"}, spec=spec)


def test_a_deployment_with_a_misspelt_field_fails(shipped, run_component):
    plan = from_preview(shipped("gcp-dr")) + from_preview(run_component(lambda: _deployment({"replica": 2}), preview=True))
    messages = findings(plan, "kubernetes-schema")
    assert len(messages) == 1
    assert messages[0].startswith("Deployment 'crm-api': spec: Additional properties are not allowed ('replica' was unexpected)")
    assert "Kubernetes 1.33" in messages[0] and "kubernetes-validate" in messages[0]


def test_a_well_formed_deployment_passes(shipped, run_component):
    plan = from_preview(shipped("gcp-dr")) + from_preview(run_component(lambda: _deployment({"replicas": 2}), preview=True))
    assert findings(plan, "kubernetes-schema") == []


def test_a_kafka_resource_with_a_field_its_crd_lacks_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    resource(plan, "kubernetes:kafka.strimzi.io/v1:Kafka").inputs["spec"]["kafka"]["replicas"] = 3  # moved to node pools
    messages = findings(plan, "custom-resource-schema")
    assert messages == [
        "Kafka 'crm-dr-kafka-kafka': spec.kafka: Additional properties are not allowed ('replicas' was unexpected) "
        "(CRD kafkas.kafka.strimzi.io kafka.strimzi.io/v1, strimzi-1.2.0/040-Crd-kafka.yaml)"
    ]


def test_a_kafka_node_pool_missing_a_required_field_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    del resource(plan, "kubernetes:kafka.strimzi.io/v1:KafkaNodePool").inputs["spec"]["roles"]
    assert ["'roles' is a required property" in m for m in findings(plan, "custom-resource-schema")] == [True]


def test_an_api_version_the_pinned_operator_no_longer_serves_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    kafka = resource(plan, "kubernetes:kafka.strimzi.io/v1:Kafka")
    kafka.inputs["apiVersion"] = "kafka.strimzi.io/v1beta2"
    assert findings(plan, "custom-resource-schema") == [
        "Kafka 'crm-dr-kafka-kafka': kafka.strimzi.io/v1beta2 Kafka is not served by the strimzi-1.2.0 CRDs (served: kafka.strimzi.io/v1)"
    ]


def test_a_custom_resource_without_a_shipped_operator_schema_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    resource(plan, "kubernetes:helm.sh/v3:Release", "strimzi").inputs["version"] = "0.45.0"
    assert any("no CRD schemas shipped for strimzi-0.45.0" in m for m in findings(plan, "custom-resource-schema"))


def test_helm_values_the_chart_does_not_have_fail(shipped):
    plan = from_preview(shipped("gcp-dr"))
    resource(plan, "kubernetes:helm.sh/v3:Release", "strimzi").inputs["values"] = {"replicas": 2, "watchNamespace": ["apps"]}
    assert findings(plan, "helm-values") == [
        "Release 'crm-dr-kafka-strimzi': values.watchNamespace is not a value of chart oci://quay.io/strimzi-helm/strimzi-kafka-operator "
        "1.2.0 (strimzi-1.2.0/chart-values.yaml)"
    ]


def test_strimzi_watching_its_own_namespace_again_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    resource(plan, "kubernetes:helm.sh/v3:Release", "strimzi").inputs["values"] = {"watchNamespaces": ["kafka"]}
    assert ["RoleBindings render twice" in m for m in findings(plan, "helm-values")] == [True]


def _cluster_and_identity(opts_for_identity):
    cluster = GkeCluster("gke", gke_args())
    WorkloadIdentity(
        "app",
        WorkloadIdentityArgs(
            project="p",
            namespace="crm",
            service_account="crm-app",
            app_env_secret_id="s",
            google_account="crm-app@p.iam.gserviceaccount.com",
        ),
        opts=opts_for_identity(cluster),
    )


def test_a_workload_identity_binding_without_a_dependency_on_the_cluster_fails(run_component):
    plan = from_preview(run_component(lambda: _cluster_and_identity(lambda cluster: None), preview=True))
    assert findings(plan, "identity-ordering") == [
        "IAMMember 'app-wi': names the Workload Identity pool p.svc.id.goog but does not depend on the cluster that creates it "
        "(gke-cluster): add it to depends_on"
    ]


def test_a_workload_identity_binding_that_waits_for_the_cluster_passes(run_component):
    plan = from_preview(
        run_component(lambda: _cluster_and_identity(lambda cluster: pulumi.ResourceOptions(depends_on=[cluster])), preview=True)
    )
    assert findings(plan, "identity-ordering") == []


def test_a_service_agent_grant_without_its_service_identity_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    identity = resource(plan, "gcp:projects/serviceIdentity:ServiceIdentity", "-sql-")
    for r in plan:
        r.dependencies = [d for d in r.dependencies if d != identity.urn]
    messages = findings(plan, "identity-ordering")
    assert len(messages) == 1 and "@gcp-sa-cloud-sql.iam.gserviceaccount.com" in messages[0] and "sqladmin.googleapis.com" in messages[0]


def test_a_grant_to_any_other_on_demand_agent_needs_a_service_identity_too(shipped):
    plan = from_preview(shipped("gcp-dr"))
    grant = next(r for r in plan if r.type == "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember" and "cloud-redis" in r.inputs["member"])
    grant.inputs["member"] = grant.inputs["member"].replace("cloud-redis", "gcp-sa-memorystore")
    messages = findings(plan, "identity-ordering")
    assert len(messages) == 1 and messages[0].startswith(f"CryptoKeyIAMMember '{grant.name}': names the service agent @gcp-sa-memorystore")


def test_check_command_fails_a_plan_with_a_misspelt_kubernetes_field(tmp_path, capsys, shipped, run_component):
    plan = from_preview(shipped("gcp-dr")) + from_preview(run_component(lambda: _deployment({"replica": 2}), preview=True))
    steps = [
        {
            "op": "create",
            "newState": {
                "type": r.type,
                "urn": r.urn.replace("urn:pulumi:test::", "urn:pulumi:gcp-dr::"),
                "inputs": _jsonable(r.inputs),
                "parent": r.parent,
                "dependencies": r.dependencies,
                "custom": r.custom,
            },
        }
        for r in plan
    ]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"steps": steps}))
    assert main(["check", "--plan", str(path)]) == 1
    assert "[mandatory] kubernetes-schema: Deployment 'crm-api': spec: Additional properties are not allowed" in capsys.readouterr().out


def _jsonable(value):
    from tools.engine.engine import map_markers

    return map_markers(value, secret=lambda inner: "[secret]", unknown=lambda: "[unknown]")


# ---- charts from Helm repositories and the CRDs they install


def test_each_chart_is_judged_by_its_own_schema_folder(shipped):
    plan = from_preview(shipped("aws-dr"))
    assert sorted(deploy_checks.operator_schema_folders(plan)) == [
        "aws-load-balancer-controller-3.5.0",
        "cluster-autoscaler-9.59.0",
        "external-secrets-2.9.0",
    ]


def test_a_target_group_binding_field_the_crd_lacks_fails(shipped):
    plan = from_preview(shipped("aws-dr"))
    resource(plan, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding").inputs["spec"]["targetGroupArn"] = "x"
    messages = findings(plan, "custom-resource-schema")
    assert len(messages) == 1 and "'targetGroupArn' was unexpected" in messages[0] and "aws-load-balancer-controller-3.5.0" in messages[0]


def test_an_external_secret_on_a_removed_api_version_fails(shipped):
    plan = from_preview(shipped("aws-dr"))
    resource(plan, "kubernetes:external-secrets.io/v1:ExternalSecret").inputs["apiVersion"] = "external-secrets.io/v1alpha1"
    messages = findings(plan, "custom-resource-schema")
    assert len(messages) == 1 and "not served by the external-secrets-2.9.0 CRDs" in messages[0]


def test_an_unknown_value_of_a_repository_chart_fails(shipped):
    plan = from_preview(shipped("aws-dr"))
    resource(plan, "kubernetes:helm.sh/v3:Release", "autoscaler").inputs["values"]["autoDiscovery"]["clusterNames"] = "x"
    messages = findings(plan, "helm-values")
    assert len(messages) == 1 and "autoDiscovery.clusterNames" in messages[0]


# ---- CRDs the cluster installs: GKE's Gateway API and its policies


def test_gateway_api_resources_validate_against_the_crds_gke_installs(shipped):
    assert findings(from_preview(shipped("gcp-dr")), "custom-resource-schema") == []


def test_a_gateway_listener_field_the_crd_lacks_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    resource(plan, "kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs["spec"]["listeners"][0]["certificateMap"] = "x"
    messages = findings(plan, "custom-resource-schema")
    assert len(messages) == 1 and "('certificateMap' was unexpected)" in messages[0] and "gateway-api-v1.2.1" in messages[0]


def test_a_health_check_policy_without_its_check_type_fails(shipped):
    plan = from_preview(shipped("gcp-dr"))
    del resource(plan, "kubernetes:networking.gke.io/v1:HealthCheckPolicy").inputs["spec"]["default"]["config"]["type"]
    messages = findings(plan, "custom-resource-schema")
    assert len(messages) == 1 and "gke-gateway-api-v1.4.0" in messages[0]


def test_gateway_resources_fail_when_the_cluster_does_not_run_the_gateway_api(shipped):
    plan = from_preview(shipped("gcp-dr"))
    del resource(plan, "gcp:container/cluster:Cluster").inputs["gatewayApiConfig"]
    kinds = {m.split(" ")[0] for m in findings(plan, "kubernetes-schema") + findings(plan, "custom-resource-schema")}
    assert {"Gateway", "HTTPRoute", "HealthCheckPolicy", "GCPBackendPolicy"} <= kinds


def test_a_security_group_policy_field_the_crd_lacks_fails(shipped):
    plan = from_preview(shipped("aws-dr"))
    resource(plan, "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "app-pod-sg").inputs["spec"]["securityGroups"]["ids"] = [
        "sg-1"
    ]
    messages = findings(plan, "custom-resource-schema")
    assert len(messages) == 1 and "'ids' was unexpected" in messages[0] and "vpc-resource-controller-v1.7.19" in messages[0]


def test_security_group_policies_need_an_eks_cluster_in_the_plan(shipped):
    plan = [r for r in from_preview(shipped("aws-dr")) if r.type != "aws:eks/cluster:Cluster"]
    assert any("SecurityGroupPolicy" in m for m in findings(plan, "custom-resource-schema"))
