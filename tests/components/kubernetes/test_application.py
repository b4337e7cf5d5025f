"""The CRM workload on both clusters, as the shipped stacks register it."""

from __future__ import annotations

import json

import pytest

from components.aws.mail import GOOGLE_TOKEN_AUDIENCE
from components.kubernetes.application import ApplicationArgs, AwsWebIdentity


@pytest.fixture
def aws(shipped):
    return shipped("aws-dr", preview=False)


@pytest.fixture
def gcp(shipped):
    return shipped("gcp-dr", preview=False)


def _pod(result):
    return result.one("kubernetes:apps/v1:Deployment")["spec"]["template"]["spec"]


def test_eks_service_account_carries_the_application_role(aws):
    sa = aws.one("kubernetes:core/v1:ServiceAccount")
    role = aws.one("aws:iam/role:Role", "crm-dr-app-role")
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    subject = next(v for k, v in trust.items() if k.endswith(":sub"))
    assert subject == f"system:serviceaccount:{sa['metadata']['namespace']}:{sa['metadata']['name']}"
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role.output("arn")


def test_image_comes_from_our_registry_at_the_configured_tag(aws, gcp):
    assert _pod(aws)["containers"][0]["image"] == aws.outputs["repositoryUrls"]["crm-api"] + ":1.0.0"
    assert _pod(gcp)["containers"][0]["image"] == gcp.outputs["registryUrl"] + "/crm-api:1.0.0"


def test_cloud_provider_reaches_the_container(aws, gcp):
    for result, cloud in ((aws, "aws"), (gcp, "gcp")):
        assert {"name": "CLOUD_PROVIDER", "value": cloud} in _pod(result)["containers"][0]["env"]


def test_container_takes_app_env_from_the_synced_secret(aws):
    external = aws.one("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert _pod(aws)["containers"][0]["envFrom"] == [{"secretRef": {"name": external["spec"]["target"]["name"]}}]
    assert external["spec"]["dataFrom"][0]["extract"]["key"] == aws.outputs["appEnvSecretArn"]


def test_secret_store_authenticates_as_the_app_service_account(aws, gcp):
    aws_store = aws.one("kubernetes:external-secrets.io/v1:SecretStore")["spec"]["provider"]["aws"]
    assert aws_store["auth"]["jwt"]["serviceAccountRef"]["name"] == "crm-app"
    gcp_store = next(r for r in gcp.of_type("kubernetes:external-secrets.io/v1:SecretStore") if "gcpsm" in r["spec"]["provider"])
    assert gcp_store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]["serviceAccountRef"]["name"] == "crm-app"


def test_pods_are_locked_down(aws):
    pod = _pod(aws)
    context = pod["containers"][0]["securityContext"]
    assert (context["readOnlyRootFilesystem"], context["allowPrivilegeEscalation"], context["runAsNonRoot"]) == (True, False, True)
    assert pod["hostNetwork"] is False


def test_pods_spread_across_zones_strictly_outside_dev(aws, shipped):
    assert _pod(aws)["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"
    dev = _pod(shipped("aws-dev", preview=False))
    assert dev["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_autoscaler_and_budget_target_the_deployment(aws):
    hpa = aws.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")["spec"]
    deployment = aws.one("kubernetes:apps/v1:Deployment")
    assert hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"] and hpa["minReplicas"] >= 2
    pdb = aws.one("kubernetes:policy/v1:PodDisruptionBudget")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_egress_is_limited_to_named_destinations(gcp):
    allow = next(p for p in gcp.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if p["metadata"]["name"] == "crm")
    ports = sorted({port["port"] for rule in allow["spec"]["egress"] for port in rule["ports"]})
    assert ports == [53, 80, 443, 988, 5432, 6378, 9093]  # no SMTP: mail goes through the SES API on 443


def test_kafka_ca_reaches_the_pod_from_strimzi_cluster_ca(gcp):
    env = {e["name"]: e for e in _pod(gcp)["containers"][0]["env"]}
    assert env["KAFKA_CA_CERT"]["valueFrom"]["secretKeyRef"] == {"name": "kafka-ca", "key": "ca.crt"}
    role = gcp.one("kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["crm-cluster-ca-cert"], "verbs": ["get", "list", "watch"]}
    ]


def _controller_statements(aws) -> dict:
    policy = aws.one("aws:iam/rolePolicy:RolePolicy", "crm-dr-lbc-policy")
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_load_balancer_controller_registers_pods_in_this_stacks_target_group_only(aws):
    statements = _controller_statements(aws)
    assert statements["BindPods"]["Resource"] == aws.one("aws:lb/targetGroup:TargetGroup").output("arn")


TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"


def test_binding_names_every_field_the_controller_webhook_freezes(aws):
    spec = aws.one(TGB)["spec"]
    # The mutating webhook fills vpcID and ipAddressType only on create; a later apply without them is refused.
    assert spec["targetGroupARN"] == aws.one("aws:lb/targetGroup:TargetGroup").output("arn")
    assert spec["vpcID"] == aws.one("aws:ec2/vpc:Vpc").output("id")
    assert (spec["targetType"], spec["ipAddressType"], spec["targetGroupProtocol"]) == (
        "ip",
        "ipv4",
        aws.one("aws:lb/targetGroup:TargetGroup")["protocol"],
    )


def test_a_new_target_group_replaces_the_binding(aws):
    binding = aws.one(TGB)
    # The webhook refuses to change targetGroupARN or targetType in place: Pulumi replaces the binding instead,
    # old one first, since the binding's name is fixed.
    assert sorted(binding.options["replaceOnChanges"]) == ["spec.targetGroupARN", "spec.targetType"]
    assert binding.options["deleteBeforeReplace"] is True


def test_the_fields_the_mutating_webhook_set_at_create_do_not_replace_the_binding(aws):
    # A binding deployed before the program wrote vpcID and ipAddressType gains them in place (the webhook
    # accepts the values it set itself); replacing it would deregister the pods while the new one registers them.
    binding = aws.one(TGB)
    assert {"vpcID", "ipAddressType"} <= set(binding["spec"])
    assert not {"spec.vpcID", "spec.ipAddressType"} & set(binding.options["replaceOnChanges"])


def test_the_listener_moves_only_once_the_pods_are_registered(aws):
    binding, https = aws.one(TGB), aws.one("aws:lb/listener:Listener", "crm-dr-ingress-https")
    assert binding.urn in https.dependencies
    # The binding counts as created once the controller has reconciled it (registered the ready pods).
    assert binding["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.observedGeneration}"
    assert aws.one("kubernetes:apps/v1:Deployment").urn in binding.dependencies


def test_the_binding_follows_the_services_port_by_name(aws):
    service = aws.one("kubernetes:core/v1:Service", "crm-dr-app-service")
    ref = aws.one(TGB)["spec"]["serviceRef"]
    # By name: while the pods roll to a new port, the binding in place registers them at the new one.
    assert ref["port"] == service["spec"]["ports"][0]["name"] and ref["name"] == service["metadata"]["name"]


def test_load_balancer_controller_cannot_create_or_delete_load_balancing(aws):
    actions = [a for s in _controller_statements(aws).values() for a in s["Action"]]
    assert actions and not [a for a in actions if a.split(":")[1].startswith(("Create", "Delete", "Modify", "Set", "Add", "Remove"))]


def test_load_balancer_controller_opens_security_groups_in_this_vpc_only(aws):
    statement = _controller_statements(aws)["OpenPodsToTheLoadBalancer"]
    vpc = aws.one("aws:ec2/vpc:Vpc").output("id")
    vpc_arn = statement["Condition"]["ArnEquals"]["ec2:Vpc"]
    assert vpc_arn.startswith("arn:aws:ec2:ap-northeast-2:") and vpc_arn.endswith(f":vpc/{vpc}")


def test_cluster_autoscaler_scales_only_this_clusters_groups(aws):
    statements = json.loads(aws.one("aws:iam/rolePolicy:RolePolicy", "crm-dr-autoscaler-policy")["policy"])["Statement"]
    scale = next(s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"])
    assert scale["Condition"]["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/crm-dr-eks"] == "owned"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"load_balancer_cidrs": []}, "source ranges"),
        ({"load_balancer_cidrs": ["0.0.0.0/0"]}, "0.0.0.0/0"),
        ({"image_tag": "latest"}, "image_tag"),
        ({"min_replicas": 5, "max_replicas": 2}, "exceeds"),
    ],
)
def test_args_refuse_unsafe_values(change, message):
    base = dict(
        cloud="aws",
        namespace="crm",
        service_account="crm-app",
        identity_annotation=("k", "v"),
        image_repository_url="r",
        image_tag="1.0.0",
        health_path="/health",
        secret_store_provider={},
        app_env_key="k",
        load_balancer_cidrs=["10.0.0.0/24"],
        egress=[],
    )
    with pytest.raises(ValueError, match=message):
        ApplicationArgs(**{**base, **change})


def test_kafka_ca_reader_waits_for_kafkas_namespace(shipped):
    gcp = shipped("gcp-dr")
    kafka_namespace = next(r for r in gcp.of_type("kubernetes:core/v1:Namespace") if r["metadata"]["name"] == "kafka")
    role = gcp.one("kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert kafka_namespace.urn in role.dependencies


def _container_env(pod) -> dict:
    return {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}


def test_gcp_pods_assume_the_mail_role_with_a_token_file(gcp):
    env = _container_env(_pod(gcp))
    role = gcp.one("aws:iam/role:Role")
    assert env["AWS_ROLE_ARN"] == role.output("arn")
    mounts = {m["name"]: m for m in _pod(gcp)["containers"][0]["volumeMounts"]}
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].startswith(mounts["aws-token"]["mountPath"] + "/")
    assert mounts["aws-token"]["readOnly"] is True


def test_eks_pods_get_no_web_identity_sidecar_their_role_comes_from_irsa(aws):
    pod = _pod(aws)
    assert "initContainers" not in pod and "AWS_ROLE_ARN" not in _container_env(pod)


def test_token_sidecar_starts_before_the_app_and_keeps_running(gcp):
    sidecar = _pod(gcp)["initContainers"][0]
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: it outlives the init phase
    token_file = _container_env(_pod(gcp))["AWS_WEB_IDENTITY_TOKEN_FILE"]
    assert sidecar["startupProbe"]["exec"]["command"] == ["test", "-s", token_file]


def test_token_sidecar_asks_the_metadata_server_for_the_audience_the_role_admits(gcp):
    script = _pod(gcp)["initContainers"][0]["command"][-1]
    trust = json.loads(gcp.one("aws:iam/role:Role")["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert f"audience={trust['accounts.google.com:oaud']}&" in script
    assert "computeMetadata/v1/instance/service-accounts/default/identity" in script and "Metadata-Flavor: Google" in script


def test_token_sidecar_is_locked_down_like_the_app(gcp):
    context = _pod(gcp)["initContainers"][0]["securityContext"]
    assert (context["readOnlyRootFilesystem"], context["allowPrivilegeEscalation"], context["runAsNonRoot"]) == (True, False, True)
    assert context["capabilities"] == {"drop": ["ALL"]}


def test_token_volume_is_in_memory(gcp):
    volume = next(v for v in _pod(gcp)["volumes"] if v["name"] == "aws-token")
    assert volume["emptyDir"]["medium"] == "Memory"


def test_web_identity_is_refused_on_eks():
    with pytest.raises(ValueError, match="IRSA"):
        ApplicationArgs(
            cloud="aws",
            namespace="crm",
            service_account="crm-app",
            identity_annotation=("k", "v"),
            image_repository_url="repo",
            image_tag="1.0.0",
            health_path="/health",
            secret_store_provider={},
            app_env_key="k",
            load_balancer_cidrs=["10.0.0.0/16"],
            egress=[],
            aws_web_identity=AwsWebIdentity(role_arn="arn", audience=GOOGLE_TOKEN_AUDIENCE),
        )
