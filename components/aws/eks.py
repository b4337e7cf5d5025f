"""EKS: a private control plane, KMS-encrypted secrets, OIDC for IRSA, managed nodes, core add-ons."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.iam import (
    EBS_CSI_DRIVER_POLICY,
    ECR_READ_ONLY_POLICY,
    EKS_CLUSTER_POLICY,
    EKS_CNI_POLICY,
    EKS_VPC_RESOURCE_CONTROLLER_POLICY,
    EKS_WORKER_NODE_POLICY,
    SSM_MANAGED_INSTANCE_POLICY,
    estate_role,
    service_role_with_policies,
)
from components.base import Component

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy")
# metrics-server: EKS has no resource metrics API without it, and the application's CPU-based
# HorizontalPodAutoscaler would never scale (the EKS add-on serves on 10251, clear of the kubelet).
ADDONS_AFTER_NODES = ("coredns", "aws-ebs-csi-driver", "metrics-server")
# The VPC CNI's network policy agent enforces Kubernetes NetworkPolicy; without it EKS accepts
# NetworkPolicy objects and ignores them (add-on configuration schema: enableNetworkPolicy, a string).
ADDON_CONFIGURATION = {"vpc-cni": json.dumps({"enableNetworkPolicy": "true"})}
# Security groups for pods (docs/data-stores.md): the CNI gives a pod that a SecurityGroupPolicy selects its own
# branch ENI with those groups. `standard` mode keeps NetworkPolicy and source NAT working for such pods;
# DISABLE_TCP_EARLY_DEMUX lets the kubelet's TCP probes reach them (the add-on's configuration schema: env, init.env).
POD_ENI_CONFIGURATION = {
    "enableNetworkPolicy": "true",
    "env": {"ENABLE_POD_ENI": "true", "POD_SECURITY_GROUP_ENFORCING_MODE": "standard"},
    "init": {"env": {"DISABLE_TCP_EARLY_DEMUX": "true"}},
}
SECURITY_GROUP_POLICY_API = "vpcresources.k8s.aws/v1beta1"  # the VPC resource controller's CRD, installed by EKS
VPC_RESOURCE_CONTROLLER_POLICY = EKS_VPC_RESOURCE_CONTROLLER_POLICY
# Nobody gets implicit cluster access: every admin, the identity that deploys included, is an explicit access
# entry (terraform-aws-eks v20 does the same), so an entry for the cluster's creator never collides with the one
# EKS would otherwise create for it (409 ResourceInUseException).
ACCESS_CONFIG = {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False}
# The creator flag only matters when the cluster is created, and changing it replaces the cluster
# (terraform-provider-aws internal/service/eks/cluster.go: access_config.bootstrap_cluster_creator_admin_permissions
# is ForceNew; CloudFormation AWS::EKS::Cluster AccessConfig: "Update requires: Replacement"). Clusters created with
# the old default (true) keep it, and keep their creator's entry.
KEEP_CREATOR_FLAG = "accessConfig.bootstrapClusterCreatorAdminPermissions"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# The VPC CNI's rights (assigning ENIs and addresses) are not the nodes': aws-node gets them through its own
# IRSA role (CNI_SERVICE_ACCOUNT), so a pod that reaches the instance metadata service cannot use them.
_NODE_POLICIES = (EKS_WORKER_NODE_POLICY, ECR_READ_ONLY_POLICY, SSM_MANAGED_INSTANCE_POLICY)
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")


@dataclass
class EksClusterArgs:
    version: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    secrets_kms_key_arn: pulumi.Input[str]
    logs_kms_key_arn: pulumi.Input[str]
    instance_type: str
    min_size: int
    desired_size: int
    max_size: int
    tags: Mapping[str, str]
    region: str  # the kubeconfig asks for tokens here, whatever region the caller's environment names
    disk_size_gb: int = 50
    public_endpoint: bool = False
    public_access_cidrs: Sequence[str] = field(default_factory=list)
    admin_principal_arns: Sequence[str] = field(default_factory=list)
    log_retention_days: int = 90
    deletion_protection: bool = True  # the cloud's own guard against deletion (Pulumi's protect is opts.protect)
    # Security groups for pods: the application's pods get `app_pods_security_group_id`, which the data stores
    # admit instead of the cluster security group. Needs a trunk-ENI-capable (Nitro, non-burstable) instance type.
    pod_security_groups: bool = False
    # The bootstrap stack's permissions boundary, set on every role the cluster creates (components/aws/iam.py).
    permissions_boundary: pulumi.Input[str] | None = None
    # Groups whose members (CI's in-VPC runner) reach the private API endpoint on 443; nodes reach it already.
    api_client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(f"EKS node counts must satisfy min <= desired <= max, got {self.min_size}/{self.desired_size}/{self.max_size}")
        if self.public_endpoint and (not self.public_access_cidrs or "0.0.0.0/0" in self.public_access_cidrs):
            raise ValueError("a public EKS endpoint needs an allow-list that is not 0.0.0.0/0")
        if not self.admin_principal_arns:
            raise ValueError("the cluster needs at least one admin principal: no identity, not even the deploying one, has implicit access")
        if len(set(self.admin_principal_arns)) != len(self.admin_principal_arns):
            raise ValueError("an admin principal is listed twice: each principal has one access entry")


class EksCluster(Component):
    app_pods_security_group_id: pulumi.Output[str] | None  # with pod_security_groups only
    cluster_name: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str | None]
    kubeconfig: pulumi.Output[str]
    node_group_arn: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:EksCluster", name, None, opts)
        self._base_name = name
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        # Created before the cluster so EKS writes into a group with our retention and key. It holds the API
        # server's audit trail: protected like the cluster (docs/audit-logging.md).
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=tags,
            opts=self.stateful(),
        )
        # The cluster and the nodes wait for their roles' policies: created early, EKS cannot act as the role;
        # removed first on destroy, EKS cannot delete the EC2 infrastructure it manages, such as security
        # groups (the provider's eks.Cluster role_arn documentation).
        self._boundary = args.permissions_boundary
        cluster_managed = [EKS_CLUSTER_POLICY] + ([VPC_RESOURCE_CONTROLLER_POLICY] if args.pod_security_groups else [])
        cluster_role, cluster_policies = service_role_with_policies(
            f"{name}-cluster", "eks.amazonaws.com", tags, self, cluster_managed, permissions_boundary=self._boundary
        )
        vpc_config = {"subnet_ids": list(args.subnet_ids), "endpoint_private_access": True, "endpoint_public_access": args.public_endpoint}
        if args.public_endpoint:
            vpc_config["public_access_cidrs"] = list(args.public_access_cidrs)
        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=name,
            version=args.version,
            role_arn=cluster_role.arn,
            vpc_config=vpc_config,
            encryption_config={"provider": {"key_arn": args.secrets_kms_key_arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            access_config=ACCESS_CONFIG,
            bootstrap_self_managed_addons=False,
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[log_group, *cluster_policies], protect=self.protected, ignore_changes=[KEEP_CREATOR_FLAG]
            ),
        )
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"] if ids else "")
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=tags,
            opts=child,
        )

        node_role, node_policies = service_role_with_policies(
            f"{name}-nodes", "ec2.amazonaws.com", tags, self, _NODE_POLICIES, permissions_boundary=self._boundary
        )
        # aws-node's own role; the add-on annotates its service account with it. It exists, with its policy,
        # before the add-on, and the add-on before the nodes (a node without a working CNI never becomes Ready).
        cni_role, cni_policies = self._service_account_role_with_policies("vpc-cni", *CNI_SERVICE_ACCOUNT, [EKS_CNI_POLICY], tags)
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {"volume_size": args.disk_size_gb, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"},
                }
            ],
            tag_specifications=[{"resource_type": "instance", "tags": tags}, {"resource_type": "volume", "tags": tags}],
            update_default_version=True,
            tags=tags,
            opts=child,
        )
        # Networking add-ons go first ("before compute"): nodes without the CNI never become Ready.
        self.addons = {
            addon: aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                configuration_values=self._addon_configuration(addon, args),
                service_account_role_arn=cni_role.arn if addon == "vpc-cni" else None,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=cni_policies if addon == "vpc-cni" else []),
            )
            for addon in ADDONS_BEFORE_NODES
        }
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=[args.instance_type],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config={"min_size": args.min_size, "desired_size": args.desired_size, "max_size": args.max_size},
            update_config={"max_unavailable_percentage": 33},
            launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            labels={"workload": "application"},
            tags=tags,
            # The cluster autoscaler owns the running count once the group exists.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["scalingConfig.desiredSize"], depends_on=[*self.addons.values(), *node_policies]
            ),
        )

        ebs_csi_role = self.service_account_role(
            "ebs-csi",
            "kube-system",
            "ebs-csi-controller-sa",
            [EBS_CSI_DRIVER_POLICY],
            tags,
        )
        # coredns and the CSI driver run as pods, so they wait for nodes.
        for addon in ADDONS_AFTER_NODES:
            self.addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                service_account_role_arn=ebs_csi_role.arn if addon == "aws-ebs-csi-driver" else None,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_group]),
            )

        # Named by principal, not by position: removing one principal leaves the others' entries alone (a
        # renumbered entry would be created before its old self is deleted, and collide with it). The alias
        # keeps the entries of clusters deployed when they were named by position.
        self.admin_entries = []
        for i, principal in enumerate(args.admin_principal_arns):
            entry_name = admin_entry_name(name, principal)
            renamed = pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-admin-{i}")])
            entry = aws.eks.AccessEntry(
                entry_name, cluster_name=self.cluster.name, principal_arn=principal, type="STANDARD", tags=tags, opts=renamed
            )
            association = aws.eks.AccessPolicyAssociation(
                entry_name,
                cluster_name=self.cluster.name,
                principal_arn=principal,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions.merge(renamed, pulumi.ResourceOptions(depends_on=[entry])),
            )
            self.admin_entries.append(association)

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority).apply(
                lambda a: _kubeconfig(a[0], a[1], (a[2] or {}).get("data", ""), args.region)
            )
        )
        # The private endpoint answers what the cluster security group admits: the API clients' groups on 443.
        api_clients = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-client-{i}",
                security_group_id=self.cluster.vpc_config.apply(lambda v: v.cluster_security_group_id if v else None),
                referenced_security_group_id=group,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="the Kubernetes API from CI's in-VPC runner",
                tags=tags,
                opts=child,
            )
            for i, group in enumerate(args.api_client_security_group_ids)
        ]
        # Kubernetes objects wait for the admins' access (the deploying identity has no other way in) and for the
        # runner's way to the API; on destroy they go first, while both still stand.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_group, *self.admin_entries, *api_clients]),
        )
        self.cluster_name = self.cluster.name
        self.node_group_arn = self.node_group.arn
        self.oidc_provider_arn = self.oidc_provider.arn
        self.oidc_provider_url = self.oidc_provider.url
        self.cluster_security_group_id = self.cluster.vpc_config.apply(lambda v: v.cluster_security_group_id if v else None)
        # The application's pods (and the database role Job) carry this group next to the cluster group, which keeps
        # DNS, probes and the load balancer working as for every pod; only this group opens the data stores.
        self.app_pods_security_group_id = None
        if args.pod_security_groups:
            pods = aws.ec2.SecurityGroup(
                f"{name}-app-pods",
                vpc_id=args.vpc_id,
                description=f"{name}: the application's pods (security groups for pods)",
                tags={**tags, "Name": f"{name}-app-pods"},
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-app-pods-egress",
                security_group_id=pods.id,
                ip_protocol="-1",
                cidr_ipv4="0.0.0.0/0",
                description="the pods' egress is limited by their NetworkPolicy",
                tags=tags,
                opts=child,
            )
            self.app_pods_security_group_id = pods.id
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "oidcProviderArn": self.oidc_provider_arn,
                "kubeconfig": self.kubeconfig,
                "appPodsSecurityGroupId": self.app_pods_security_group_id,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeGroupArn": self.node_group_arn,
                "oidcProviderUrl": self.oidc_provider_url,
            }
        )

    @staticmethod
    def _addon_configuration(addon: str, args: EksClusterArgs) -> str | None:
        if addon == "vpc-cni" and args.pod_security_groups:
            return json.dumps(POD_ENI_CONFIGURATION)
        return ADDON_CONFIGURATION.get(addon)

    def service_account_role(
        self, role_name: str, namespace: str, service_account: str, managed_policies: Sequence[str], tags: Mapping[str, str]
    ) -> aws.iam.Role:
        """An IAM role that only the given Kubernetes service account can assume (IRSA)."""
        return self._service_account_role_with_policies(role_name, namespace, service_account, managed_policies, tags)[0]

    def _service_account_role_with_policies(
        self, role_name: str, namespace: str, service_account: str, managed_policies: Sequence[str], tags: Mapping[str, str]
    ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        prefix = f"{self._base_name}-{role_name}"
        role = irsa_role(
            f"{prefix}-irsa", self.oidc_provider.arn, self.oidc_provider.url, namespace, service_account, tags, self, self._boundary
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{prefix}-{policy.rsplit('/', 1)[-1]}", role=role.name, policy_arn=policy, opts=pulumi.ResourceOptions(parent=self)
            )
            for policy in managed_policies
        ]
        return role, attachments


def admin_entry_name(cluster: str, principal_arn: str) -> str:
    """The access entry's resource name: the cluster's and a digest of the principal, stable wherever it is listed."""
    return f"{cluster}-admin-{hashlib.sha256(principal_arn.encode()).hexdigest()[:8]}"


def irsa_role(
    name: str,
    oidc_provider_arn: pulumi.Input[str],
    oidc_provider_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    permissions_boundary: pulumi.Input[str] | None = None,
    aliases: Sequence[pulumi.Alias] | None = None,
) -> aws.iam.Role:
    """A role only the given Kubernetes service account can assume (IRSA), named `name`."""
    trust = pulumi.Output.all(oidc_provider_arn, oidc_provider_url).apply(
        lambda a: irsa_trust_policy(a[0], a[1], namespace, service_account)
    )
    return estate_role(name, assume_role_policy=trust, permissions_boundary=permissions_boundary, tags=tags, parent=parent, aliases=aliases)


def irsa_trust_policy(provider_arn: str, provider_url: str, namespace: str, service_account: str) -> str:
    host = provider_url.replace("https://", "")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{host}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


def _kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
                        }
                    },
                }
            ],
        }
    )
