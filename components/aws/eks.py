"""EKS: a private control plane, KMS-encrypted secrets, OIDC for IRSA, managed nodes, core add-ons."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.iam import service_role_with_policies
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
VPC_RESOURCE_CONTROLLER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"
_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)


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
    disk_size_gb: int = 50
    public_endpoint: bool = False
    public_access_cidrs: Sequence[str] = field(default_factory=list)
    admin_principal_arns: Sequence[str] = field(default_factory=list)
    log_retention_days: int = 90
    deletion_protection: bool = True  # the cloud's own guard against deletion (Pulumi's protect is opts.protect)
    # Security groups for pods: the application's pods get `app_pods_security_group_id`, which the data stores
    # admit instead of the cluster security group. Needs a trunk-ENI-capable (Nitro, non-burstable) instance type.
    pod_security_groups: bool = False

    def __post_init__(self) -> None:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(f"EKS node counts must satisfy min <= desired <= max, got {self.min_size}/{self.desired_size}/{self.max_size}")
        if self.public_endpoint and (not self.public_access_cidrs or "0.0.0.0/0" in self.public_access_cidrs):
            raise ValueError("a public EKS endpoint needs an allow-list that is not 0.0.0.0/0")


class EksCluster(Component):
    def __init__(self, name: str, args: EksClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:aws:EksCluster", name, None, opts)
        self._base_name = name
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        # Created before the cluster so EKS writes into a group with our retention and key.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=tags,
            opts=child,
        )
        # The cluster and the nodes wait for their roles' policies: created early, EKS cannot act as the role;
        # removed first on destroy, EKS cannot delete the EC2 infrastructure it manages, such as security
        # groups (the provider's eks.Cluster role_arn documentation).
        cluster_managed = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"] + (
            [VPC_RESOURCE_CONTROLLER_POLICY] if args.pod_security_groups else []
        )
        cluster_role, cluster_policies = service_role_with_policies(f"{name}-cluster", "eks.amazonaws.com", tags, self, cluster_managed)
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
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            bootstrap_self_managed_addons=False,
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, *cluster_policies], protect=self.protected),
        )
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"] if ids else "")
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=tags,
            opts=child,
        )

        node_role, node_policies = service_role_with_policies(f"{name}-nodes", "ec2.amazonaws.com", tags, self, _NODE_POLICIES)
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
                tags=tags,
                opts=child,
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
            ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"],
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

        for i, principal in enumerate(args.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=self.cluster.name, principal_arn=principal, type="STANDARD", tags=tags, opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=self.cluster.name,
                principal_arn=principal,
                policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority).apply(
                lambda a: _kubeconfig(a[0], a[1], (a[2] or {}).get("data", ""))
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_group])
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
        self.register_outputs({"clusterName": self.cluster_name, "oidcProviderArn": self.oidc_provider_arn, "kubeconfig": self.kubeconfig})

    @staticmethod
    def _addon_configuration(addon: str, args: EksClusterArgs) -> Optional[str]:
        if addon == "vpc-cni" and args.pod_security_groups:
            return json.dumps(POD_ENI_CONFIGURATION)
        return ADDON_CONFIGURATION.get(addon)

    def service_account_role(
        self, role_name: str, namespace: str, service_account: str, managed_policies: Sequence[str], tags: Mapping[str, str]
    ) -> aws.iam.Role:
        """An IAM role that only the given Kubernetes service account can assume (IRSA)."""
        prefix = f"{self._base_name}-{role_name}"
        role = irsa_role(f"{prefix}-irsa", self.oidc_provider.arn, self.oidc_provider.url, namespace, service_account, tags, self)
        for policy in managed_policies:
            aws.iam.RolePolicyAttachment(
                f"{prefix}-{policy.rsplit('/', 1)[-1]}", role=role.name, policy_arn=policy, opts=pulumi.ResourceOptions(parent=self)
            )
        return role


def irsa_role(
    name: str,
    oidc_provider_arn: pulumi.Input[str],
    oidc_provider_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role only the given Kubernetes service account can assume (IRSA), named `name`."""
    trust = pulumi.Output.all(oidc_provider_arn, oidc_provider_url).apply(
        lambda a: irsa_trust_policy(a[0], a[1], namespace, service_account)
    )
    return aws.iam.Role(name, assume_role_policy=trust, tags=dict(tags), opts=pulumi.ResourceOptions(parent=parent))


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


def _kubeconfig(name: str, endpoint: str, ca_data: str) -> str:
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
                            "args": ["eks", "get-token", "--cluster-name", name, "--output", "json"],
                        }
                    },
                }
            ],
        }
    )
