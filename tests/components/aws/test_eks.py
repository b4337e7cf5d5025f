from __future__ import annotations

import copy
import json

import pytest

from components.aws.eks import CONTROL_PLANE_LOGS, EksCluster, EksClusterArgs
from tests.helpers import provider_value


def eks_args(**changes) -> EksClusterArgs:
    values = dict(
        version="1.35",
        vpc_id="vpc-1",
        subnet_ids=["subnet-a", "subnet-c"],
        secrets_kms_key_arn="arn:kms:eks",
        logs_kms_key_arn="arn:kms:logs",
        instance_type="t3.xlarge",
        min_size=3,
        desired_size=5,
        max_size=10,
        tags={},
        region="eu-west-1",
        admin_principal_arns=["arn:aws:iam::123456789012:role/platform-admin"],
    )
    values.update(changes)
    return EksClusterArgs(**values)


@pytest.fixture
def eks(run_component):
    return run_component(lambda: EksCluster("eks", eks_args()))


@pytest.mark.parametrize(
    "stack,instance,sizes",
    [
        ("aws-dev", "t3.medium", (1, 1, 3)),
        ("aws-staging", "m6i.large", (2, 2, 5)),
        ("aws-production", "m6i.xlarge", (3, 3, 10)),
        ("aws-dr", "m6i.xlarge", (3, 5, 10)),
    ],
)
def test_node_group_matches_the_matrix(shipped, stack, instance, sizes):
    group = shipped(stack).one("aws:eks/nodeGroup:NodeGroup")
    scaling = group["scalingConfig"]
    assert group["instanceTypes"] == [instance]
    assert (scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]) == sizes


def test_api_endpoint_is_private(eks):
    vpc = eks.one("aws:eks/cluster:Cluster")["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_public_endpoint_only_with_its_allow_list(run_component):
    result = run_component(lambda: EksCluster("eks", eks_args(public_endpoint=True, public_access_cidrs=["203.0.113.0/24"])))
    vpc = result.one("aws:eks/cluster:Cluster")["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_world_open_endpoint_is_refused():
    with pytest.raises(ValueError, match=r"not 0.0.0.0/0"):
        eks_args(public_endpoint=True, public_access_cidrs=["0.0.0.0/0"])


def test_secrets_are_encrypted_with_kms(eks):
    encryption = eks.one("aws:eks/cluster:Cluster")["encryptionConfig"]
    assert encryption == {"provider": {"keyArn": "arn:kms:eks"}, "resources": ["secrets"]}


def test_all_control_plane_logs(eks):
    assert eks.one("aws:eks/cluster:Cluster")["enabledClusterLogTypes"] == CONTROL_PLANE_LOGS
    assert CONTROL_PLANE_LOGS == ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def test_cluster_runs_the_configured_version(eks):
    assert eks.one("aws:eks/cluster:Cluster")["version"] == "1.35"


def test_oidc_provider_for_irsa(eks):
    provider = eks.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider["url"].startswith("https://oidc.eks.")


def test_nodes_in_private_subnets_with_imdsv2(eks):
    assert eks.one("aws:eks/nodeGroup:NodeGroup")["subnetIds"] == ["subnet-a", "subnet-c"]
    metadata = eks.one("aws:ec2/launchTemplate:LaunchTemplate")["metadataOptions"]
    assert metadata["httpTokens"] == "required"


def test_core_addons(eks):
    names = sorted(a["addonName"] for a in eks.of_type("aws:eks/addon:Addon"))
    assert names == ["aws-ebs-csi-driver", "coredns", "kube-proxy", "metrics-server", "vpc-cni"]


def test_ebs_csi_driver_gets_its_own_irsa_role(eks):
    addon = next(a for a in eks.of_type("aws:eks/addon:Addon") if a["addonName"] == "aws-ebs-csi-driver")
    role = eks.one("aws:iam/role:Role", "eks-ebs-csi-irsa")
    assert addon["serviceAccountRoleArn"] == role.output("arn")
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert next(iter(trust["Condition"]["StringEquals"].values())) == "system:serviceaccount:kube-system:ebs-csi-controller-sa"


def test_access_entries_for_configured_admins(eks):
    entry = eks.one("aws:eks/accessEntry:AccessEntry")
    association = eks.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert entry["principalArn"] == association["principalArn"] == "arn:aws:iam::123456789012:role/platform-admin"
    assert association["policyArn"].endswith("AmazonEKSClusterAdminPolicy")


# The identity that runs the first `pulumi up` of a stack: CI's deploy role, which the docs tell users to list.
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/github-crm-deploy"


def test_eks_adds_no_entry_of_its_own_for_the_identity_that_creates_the_cluster(eks):
    # With the flag on, EKS creates an admin entry for the creator and an explicit one for it answers 409.
    assert eks.one("aws:eks/cluster:Cluster")["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False


def test_the_creator_listed_among_the_admins_has_exactly_one_entry(run_component):
    result = run_component(lambda: EksCluster("eks", eks_args(admin_principal_arns=[DEPLOY_ROLE, "arn:aws:iam::123456789012:role/ops"])))
    cluster = result.one("aws:eks/cluster:Cluster")
    entries = [e for e in result.of_type("aws:eks/accessEntry:AccessEntry") if e["principalArn"] == DEPLOY_ROLE]
    assert len(entries) == 1 and cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False


def test_a_shipped_stack_created_by_ci_gives_its_deploy_role_one_entry(shipped):
    result = shipped("aws-dr")
    principals = [e["principalArn"] for e in result.of_type("aws:eks/accessEntry:AccessEntry")]
    deploy_role = next(p for p in principals if p.endswith(":role/github-crm-deploy-production"))  # aws-dr deploys in production
    assert principals.count(deploy_role) == 1
    assert result.one("aws:eks/cluster:Cluster")["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False


def _deployed_with(registered: dict, ignored: list[str], deployed: dict) -> dict:
    """The inputs the engine diffs against a deployed state: each ignored path keeps its deployed value."""
    effective = copy.deepcopy(registered)
    for path in ignored:
        *parents, leaf = path.split(".")
        old, new = deployed, effective
        for part in parents:
            old, new = old[part], new[part]
        assert leaf in new, f"ignore_changes path {path} names no input"  # a misspelt path would ignore nothing
        new[leaf] = old[leaf]
    return effective


def test_a_cluster_created_with_the_old_default_is_not_replaced(eks):
    cluster = eks.one("aws:eks/cluster:Cluster")
    # What a cluster created before this change has in state: EKS gave its creator an admin entry.
    deployed = copy.deepcopy(cluster.inputs)
    deployed["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] = True
    # The flag forces replacement (terraform-provider-aws: ForceNew; CloudFormation: "Update requires: Replacement"),
    # so the engine must see no difference in it.
    assert _deployed_with(cluster.inputs, cluster.options.get("ignoreChanges", []), deployed)["accessConfig"] == deployed["accessConfig"]
    assert cluster.protect is False  # this fixture is not protected: the ignore, not protect, is what keeps the cluster


def test_authentication_mode_changes_still_reach_the_cluster(eks):
    cluster = eks.one("aws:eks/cluster:Cluster")
    assert not any(path in ("accessConfig", "accessConfig.authenticationMode") for path in cluster.options.get("ignoreChanges", []))


def test_admin_entries_are_named_by_principal_so_removing_one_keeps_the_others(run_component):
    other = "arn:aws:iam::123456789012:role/ops"
    both = run_component(lambda: EksCluster("eks", eks_args(admin_principal_arns=[DEPLOY_ROLE, other])))
    one = run_component(lambda: EksCluster("eks", eks_args(admin_principal_arns=[other])))
    urn = {e["principalArn"]: e.urn for e in both.of_type("aws:eks/accessEntry:AccessEntry")}
    assert one.one("aws:eks/accessEntry:AccessEntry").urn == urn[other]


def test_entries_named_by_position_before_keep_their_state(eks):
    entry = eks.one("aws:eks/accessEntry:AccessEntry")
    association = eks.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    for resource in (entry, association):  # same parent (no parentUrn given), the old positional name
        assert {"name": "eks-admin-0", "parentUrn": ""} in [a.get("spec") for a in resource.aliases]


def test_kubernetes_objects_wait_for_the_admins_access(eks):
    provider = eks.one("pulumi:providers:kubernetes")
    association = eks.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.urn in provider.dependencies


@pytest.mark.parametrize("admins,fragment", [([], "at least one admin principal"), ([DEPLOY_ROLE, DEPLOY_ROLE], "listed twice")])
def test_admin_principals_are_required_and_unique(admins, fragment):
    with pytest.raises(ValueError, match=fragment):
        eks_args(admin_principal_arns=admins)


def test_kubeconfig_is_a_secret_output(shipped):
    assert type(shipped("aws-dr").outputs["kubeconfig"]).__name__ == "Secret"


def test_kubernetes_provider_is_built_from_the_cluster(eks, plain):
    provider = eks.one("pulumi:providers:kubernetes")
    kubeconfig = json.loads(plain(provider["kubeconfig"]))
    assert kubeconfig["clusters"][0]["cluster"]["server"] == provider_value(eks.one("aws:eks/cluster:Cluster"), "endpoint")


def test_kubeconfig_asks_for_a_token_in_the_clusters_region(eks, plain):
    # Without --region, `aws eks get-token` signs for whatever region the caller's environment names.
    arguments = json.loads(plain(eks.one("pulumi:providers:kubernetes")["kubeconfig"]))["users"][0]["user"]["exec"]["args"]
    assert arguments[arguments.index("--region") + 1] == "eu-west-1"
    assert arguments[arguments.index("--cluster-name") + 1] == eks.one("aws:eks/cluster:Cluster")["name"]


def test_the_stack_gives_the_cluster_its_region(shipped, plain):
    result = shipped("aws-staging", preview=False)
    arguments = json.loads(plain(result.one("pulumi:providers:kubernetes", "crm-staging-eks-k8s")["kubeconfig"]))
    assert "--region" in arguments["users"][0]["user"]["exec"]["args"]


def test_cluster_protected_outside_dev(shipped):
    assert shipped("aws-staging").one("aws:eks/cluster:Cluster").protect
    assert not shipped("aws-dev").one("aws:eks/cluster:Cluster").protect


def test_networking_addons_exist_before_nodes_and_pod_addons_after(eks):
    addons = {a["addonName"]: a for a in eks.of_type("aws:eks/addon:Addon")}
    group = eks.one("aws:eks/nodeGroup:NodeGroup")
    assert {addons["vpc-cni"].urn, addons["kube-proxy"].urn} <= set(group.dependencies)
    assert group.urn in addons["coredns"].dependencies and group.urn in addons["aws-ebs-csi-driver"].dependencies


def _attachments_of(result, role_name: str):
    role = result.one("aws:iam/role:Role", role_name)
    return [a for a in result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a["role"] == role.name]


def test_cluster_waits_for_its_role_policy(eks):
    attachments = _attachments_of(eks, "eks-cluster-role")
    assert [a["policyArn"] for a in attachments] == ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]
    assert attachments[0].urn in eks.one("aws:eks/cluster:Cluster").dependencies


def test_node_group_waits_for_every_node_role_policy(eks):
    attachments = _attachments_of(eks, "eks-nodes-role")
    assert len(attachments) == 3
    dependencies = eks.one("aws:eks/nodeGroup:NodeGroup").dependencies
    assert all(a.urn in dependencies for a in attachments)


@pytest.mark.parametrize("stack", ["aws-dev", "aws-dr"])
def test_the_application_autoscaler_has_a_metrics_api_to_read(shipped, stack):
    result = shipped(stack)
    assert result.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    addons = {a["addonName"]: a for a in result.of_type("aws:eks/addon:Addon")}
    group = result.one("aws:eks/nodeGroup:NodeGroup")
    assert group.urn in addons["metrics-server"].dependencies  # its pods need nodes to run on


def _control_plane_logs(result):
    return next(g for g in result.of_type("aws:cloudwatch/logGroup:LogGroup") if g["name"].startswith("/aws/eks/"))


def test_control_plane_log_group_keeps_the_configured_days(run_component):
    result = run_component(lambda: EksCluster("eks", eks_args(log_retention_days=731)))
    assert _control_plane_logs(result)["retentionInDays"] == 731


@pytest.mark.parametrize("stack,days", [("aws-dev", 90), ("aws-staging", 90), ("aws-production", 365), ("aws-dr", 365)])
def test_control_plane_logs_are_kept_a_year_in_production_and_dr(shipped, stack, days):
    group = _control_plane_logs(shipped(stack))
    assert group["retentionInDays"] == days and group["name"] == f"/aws/eks/crm-{stack.split('-')[1]}-eks/cluster"


def test_control_plane_log_group_exists_before_the_cluster_with_the_logs_key(eks):
    group = _control_plane_logs(eks)
    cluster = eks.one("aws:eks/cluster:Cluster")
    assert group.urn in cluster.dependencies and group["kmsKeyId"] == "arn:kms:logs"


def test_retention_is_configurable_per_stack(run_stack):
    assert _control_plane_logs(run_stack("aws-dev", {"crm:kubernetes": {"logRetentionDays": 400}}))["retentionInDays"] == 400


def _cni_configuration(result) -> dict:
    addon = next(a for a in result.of_type("aws:eks/addon:Addon") if a["addonName"] == "vpc-cni")
    return json.loads(addon["configurationValues"])


def test_pod_security_groups_turn_on_pod_enis_with_network_policy_kept(run_component):
    result = run_component(lambda: EksCluster("eks", eks_args(pod_security_groups=True)))
    config = _cni_configuration(result)
    assert config["env"]["ENABLE_POD_ENI"] == "true" and config["env"]["POD_SECURITY_GROUP_ENFORCING_MODE"] == "standard"
    assert config["enableNetworkPolicy"] == "true" and config["init"]["env"]["DISABLE_TCP_EARLY_DEMUX"] == "true"


def test_pod_security_groups_give_the_cluster_role_the_vpc_resource_controller(run_component):
    result = run_component(lambda: EksCluster("eks", eks_args(pod_security_groups=True)))
    attached = {a["policyArn"] for a in result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController" in attached


def test_without_pod_security_groups_no_pod_group_and_plain_cni(eks):
    assert "env" not in _cni_configuration(eks)
    assert [g.name for g in eks.of_type("aws:ec2/securityGroup:SecurityGroup")] == []


@pytest.mark.parametrize("stack,on", [("aws-dev", False), ("aws-staging", True), ("aws-production", True), ("aws-dr", True)])
def test_pod_security_groups_everywhere_but_dev(shipped, stack, on):
    groups = [g.name for g in shipped(stack).of_type("aws:ec2/securityGroup:SecurityGroup") if g.name.endswith("-eks-app-pods")]
    assert bool(groups) is on


def test_the_vpc_cni_runs_as_its_own_irsa_role_not_the_nodes(eks):
    addon = next(a for a in eks.of_type("aws:eks/addon:Addon") if a["addonName"] == "vpc-cni")
    role = eks.one("aws:iam/role:Role", "eks-vpc-cni-irsa")
    assert addon["serviceAccountRoleArn"] == role.output("arn")
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert next(iter(trust["Condition"]["StringEquals"].values())) == "system:serviceaccount:kube-system:aws-node"
    assert [a["policyArn"] for a in _attachments_of(eks, "eks-vpc-cni-irsa")] == ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]
    assert "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy" not in [a["policyArn"] for a in _attachments_of(eks, "eks-nodes-role")]


def test_the_cni_role_has_its_policy_before_the_add_on_and_the_add_on_before_the_nodes(eks):
    addon = next(a for a in eks.of_type("aws:eks/addon:Addon") if a["addonName"] == "vpc-cni")
    (attachment,) = _attachments_of(eks, "eks-vpc-cni-irsa")
    assert attachment.urn in addon.dependencies
    assert addon.urn in eks.one("aws:eks/nodeGroup:NodeGroup").dependencies


def test_every_role_of_the_cluster_carries_the_permissions_boundary(run_component):
    boundary = "arn:aws:iam::123456789012:policy/crm-permissions-boundary"
    result = run_component(lambda: EksCluster("eks", eks_args(permissions_boundary=boundary)))
    roles = result.of_type("aws:iam/role:Role")
    assert len(roles) == 4 and {r["permissionsBoundary"] for r in roles} == {boundary}
