"""Names check: the name each resource would be created with, against its cloud's length and character rules.

The mock engine records inputs as the program wrote them; it does not autoname. A real deploy
sends, for a name field the program left out, the bridged providers' autoname: the logical name,
`-`, and 7 random hexadecimal characters. For a `*Prefix` field, terraform-provider-aws appends
26 characters. This module works out that name for every custom resource of a plan (an offline
preview or a saved `preview --json`, where names the engine generated are already filled in) and
checks it against the type's rule, so a name AWS or Google would refuse fails here first.

Each limit says where it comes from: botocore's service models (the API reference AWS publishes
for its SDKs), Google's API discovery documents (as shipped in google-api-python-client), the
provider SDK's own docstrings, or, where none of those states it, the service's documentation
page. `tests/tools/checks/test_names.py` checks every quoted statement against the installed copies,
so an upgrade that changes a limit fails the tests rather than going unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import rpc

AUTONAME_RANDOM = 7  # the bridged providers' autoname: <logical name>-<7 random hex characters>
PREFIX_RANDOM = 26  # terraform-provider-aws's name_prefix: <prefix><26 characters>
_AUTONAME_SAMPLE = "a1b2c3d"  # stands in for the random part when checking characters
_PREFIX_SAMPLE = "20261122031500000000000001"  # the shape of terraform-provider-aws's timestamp-and-counter suffix


@dataclass(frozen=True)
class Source:
    """Where a limit is stated: `kind` names the maintained source, `ref` the place in it, `quote` the statement."""

    kind: str  # botocore | google-discovery | pulumi-sdk | docs
    ref: str
    quote: str = ""

    def __str__(self) -> str:
        labels = {
            "botocore": "botocore model",
            "google-discovery": "Google API discovery document",
            "pulumi-sdk": "provider SDK docstring",
            "docs": "service documentation",
        }
        return f"{labels.get(self.kind, self.kind)} {self.ref}"


@dataclass(frozen=True)
class NameRule:
    field: str  # the input, as the engine sends it (camelCase)
    max_length: int
    source: Source
    pattern: str = ""  # the whole name must match it
    pattern_text: str = ""  # the character rule in words, for messages
    min_length: int = 1
    autonamed: bool = True  # left out, the provider autonames it; False: the cloud assigns an id, nothing to check
    prefix_field: str = ""  # `namePrefix` and friends: prefix + PREFIX_RANDOM characters
    forbidden_prefixes: tuple[str, ...] = ()


def _botocore(ref: str, quote: str = "") -> Source:
    return Source("botocore", ref, quote)


def _discovery(ref: str, quote: str) -> Source:
    return Source("google-discovery", ref, quote)


def _sdk(ref: str, quote: str) -> Source:
    return Source("pulumi-sdk", ref, quote)


_ELB = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ELB_TEXT = "letters, digits and hyphens, no hyphen at either end"
_IAM = r"[\w+=,.@-]+"
_IAM_TEXT = "letters, digits and +=,.@_-"
_RDS_ID = r"[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]|[A-Za-z]"
_RDS_ID_TEXT = "a letter, then letters, digits and single hyphens, not ending in a hyphen"
_RFC1035 = r"[a-z](?:[-a-z0-9]*[a-z0-9])?"
_RFC1035_TEXT = "RFC 1035: a lower-case letter, then lower-case letters, digits and hyphens, not ending in a hyphen"
_COMPUTE_QUOTE = "The name must be 1-63 characters long, and comply with"


def _certificate_manager(documented_on: str) -> list[NameRule]:
    """Certificate Manager's name rule, as the provider SDK states it on the `documented_on` resource."""
    return [
        NameRule(
            "name",
            64,
            _sdk(f"gcp.certificatemanager.{documented_on} name", "The name must be 1-64 characters long"),
            r"[a-zA-Z][a-zA-Z0-9_-]*",
            "a letter, then letters, digits, hyphens and underscores",
        )
    ]


def _compute(kind: str) -> list[NameRule]:
    return [NameRule("name", 63, _discovery(f"compute.v1 {kind}.name", _COMPUTE_QUOTE), _RFC1035, _RFC1035_TEXT)]


RULES: dict[str, list[NameRule]] = {
    # ---------------------------------------------------------------- AWS
    "aws:lb/loadBalancer:LoadBalancer": [
        NameRule(
            "name",
            32,
            _botocore("elbv2 CreateLoadBalancer.Name", "can have a maximum of 32 characters"),
            _ELB,
            _ELB_TEXT,
            prefix_field="namePrefix",
            forbidden_prefixes=("internal-",),
        )
    ],
    "aws:lb/trustStore:TrustStore": [
        NameRule(
            "name",
            32,
            _botocore("elbv2 CreateTrustStore.Name"),  # shape TrustStoreName: max 32, pattern ^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$
            r"(?:[A-Za-z0-9]+-)*[A-Za-z0-9]+",
            "letters and digits in groups joined by single hyphens",
            prefix_field="namePrefix",
        )
    ],
    "aws:lb/targetGroup:TargetGroup": [
        NameRule(
            "name",
            32,
            _botocore("elbv2 CreateTargetGroup.Name", "can have a maximum of 32 characters"),
            _ELB,
            _ELB_TEXT,
            prefix_field="namePrefix",
        )
    ],
    "aws:iam/role:Role": [NameRule("name", 64, _botocore("iam CreateRole.RoleName"), _IAM, _IAM_TEXT, prefix_field="namePrefix")],
    "aws:iam/user:User": [NameRule("name", 64, _botocore("iam CreateUser.UserName"), _IAM, _IAM_TEXT)],
    "aws:iam/policy:Policy": [NameRule("name", 128, _botocore("iam CreatePolicy.PolicyName"), _IAM, _IAM_TEXT, prefix_field="namePrefix")],
    "aws:iam/rolePolicy:RolePolicy": [
        NameRule("name", 128, _botocore("iam PutRolePolicy.PolicyName"), _IAM, _IAM_TEXT, prefix_field="namePrefix")
    ],
    "aws:iam/userPolicy:UserPolicy": [
        NameRule("name", 128, _botocore("iam PutUserPolicy.PolicyName"), _IAM, _IAM_TEXT, prefix_field="namePrefix")
    ],
    "aws:s3/bucket:Bucket": [
        NameRule(
            "bucket",
            63,
            _sdk("aws.s3.Bucket bucket", "Must be lowercase and less than or equal to 63 characters in length."),
            r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
            "lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit",
            min_length=3,
            prefix_field="bucketPrefix",
        )
    ],
    "aws:rds/instance:Instance": [
        NameRule(
            "identifier",
            63,
            _botocore("rds CreateDBInstance.DBInstanceIdentifier", "Must contain from 1 to 63 letters, numbers, or hyphens."),
            _RDS_ID,
            _RDS_ID_TEXT,
            prefix_field="identifierPrefix",
        ),
        NameRule(
            "finalSnapshotIdentifier",
            255,
            _botocore("rds DeleteDBInstance.FinalDBSnapshotIdentifier", "Must be 1 to 255 letters or numbers."),
            _RDS_ID,
            _RDS_ID_TEXT,
            autonamed=False,
        ),
    ],
    "aws:rds/subnetGroup:SubnetGroup": [
        NameRule(
            "name",
            255,
            _botocore(
                "rds CreateDBSubnetGroup.DBSubnetGroupName",
                "Must contain no more than 255 letters, numbers, periods, underscores, spaces, or hyphens.",
            ),
            r"[A-Za-z][A-Za-z0-9._ -]*",
            "a letter, then letters, digits, periods, underscores, spaces and hyphens",
            prefix_field="namePrefix",
        )
    ],
    "aws:rds/parameterGroup:ParameterGroup": [
        NameRule(
            "name",
            255,
            _botocore("rds CreateDBParameterGroup.DBParameterGroupName", "Must be 1 to 255 letters, numbers, or hyphens."),
            _RDS_ID,
            _RDS_ID_TEXT,
            prefix_field="namePrefix",
        )
    ],
    "aws:elasticache/replicationGroup:ReplicationGroup": [
        NameRule(
            "replicationGroupId",
            40,
            _botocore(
                "elasticache CreateReplicationGroup.ReplicationGroupId",
                "A name must contain from 1 to 40 alphanumeric characters or hyphens.",
            ),
            _RDS_ID,
            _RDS_ID_TEXT,
        )
    ],
    "aws:elasticache/subnetGroup:SubnetGroup": [
        NameRule(
            "name",
            255,
            _botocore(
                "elasticache CreateCacheSubnetGroup.CacheSubnetGroupName",
                "Must contain no more than 255 alphanumeric characters or hyphens.",
            ),
            r"[A-Za-z0-9-]+",
            "letters, digits and hyphens",
        )
    ],
    "aws:ecr/repository:Repository": [
        NameRule(
            "name",
            256,
            _botocore("ecr CreateRepository.repositoryName"),
            r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*",
            "lower-case letters and digits in /-separated parts joined by . _ or -",
            min_length=2,
        )
    ],
    "aws:eks/cluster:Cluster": [
        NameRule(
            "name",
            100,
            _botocore("eks CreateCluster.name"),
            r"[0-9A-Za-z][A-Za-z0-9\-_]*",
            "a letter or digit, then letters, digits, hyphens and underscores",
        )
    ],
    "aws:eks/nodeGroup:NodeGroup": [
        NameRule(
            "nodeGroupName",
            63,
            _sdk("aws.eks.NodeGroup node_group_name", "The node group name can't be longer than 63 characters."),
            r"[A-Za-z0-9][A-Za-z0-9_-]*",
            "a letter or digit, then letters, digits, hyphens and underscores",
            prefix_field="nodeGroupNamePrefix",
        )
    ],
    "aws:ec2/launchTemplate:LaunchTemplate": [
        NameRule(
            "name",
            128,
            _botocore("ec2 LaunchTemplateName"),
            r"[a-zA-Z0-9().\-/_]+",
            "letters, digits and ().-/_",
            min_length=3,
            prefix_field="namePrefix",
        )
    ],
    "aws:ec2/securityGroup:SecurityGroup": [
        NameRule(
            "name",
            255,
            _botocore("ec2 CreateSecurityGroup.GroupName", "Up to 255 characters in length. Can't start with sg-."),
            r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+",
            "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
            prefix_field="namePrefix",
            forbidden_prefixes=("sg-",),
        )
    ],
    "aws:cloudwatch/logGroup:LogGroup": [
        NameRule(
            "name",
            512,
            _botocore("logs CreateLogGroup.logGroupName"),
            r"[\.\-_/#A-Za-z0-9]+",
            "letters, digits and ._-/#",
            prefix_field="namePrefix",
        )
    ],
    "aws:kms/alias:Alias": [
        NameRule(
            "name",
            256,
            _botocore("kms CreateAlias.AliasName", "This value must begin with alias/"),
            r"alias/[a-zA-Z0-9:/_-]+",
            "alias/ then letters, digits and :/_-",
            autonamed=False,
            prefix_field="namePrefix",
        )
    ],
    "aws:sqs/queue:Queue": [
        NameRule(
            "name",
            80,
            _botocore("sqs CreateQueue.QueueName", "A queue name can have up to 80 characters."),
            r"[A-Za-z0-9_-]+(?:\.fifo)?",
            "letters, digits, hyphens and underscores (.fifo at the end of a FIFO queue)",
            prefix_field="namePrefix",
        )
    ],
    "aws:sns/topic:Topic": [
        NameRule(
            "name",
            256,
            _botocore("sns CreateTopic.Name", "must be between 1 and 256 characters long"),
            r"[A-Za-z0-9_-]+(?:\.fifo)?",
            "letters, digits, hyphens and underscores (.fifo at the end of a FIFO topic)",
            prefix_field="namePrefix",
        )
    ],
    "aws:scheduler/scheduleGroup:ScheduleGroup": [
        NameRule(
            "name",
            64,
            _botocore("scheduler CreateScheduleGroup.Name"),
            r"[0-9a-zA-Z\-_.]+",
            "letters, digits and -_.",
            prefix_field="namePrefix",
        )
    ],
    "aws:codebuild/project:Project": [
        NameRule(
            "name",
            150,
            _botocore("codebuild CreateProject.name"),
            r"[A-Za-z0-9][A-Za-z0-9\-_]{1,149}",
            "a letter or digit, then letters, digits, hyphens and underscores",
            min_length=2,
        )
    ],
    "aws:codeconnections/connection:Connection": [NameRule("name", 32, _botocore("codeconnections CreateConnection.ConnectionName"))],
    "aws:secretsmanager/secret:Secret": [NameRule("name", 512, _botocore("secretsmanager CreateSecret.Name"), prefix_field="namePrefix")],
    "aws:ssm/parameter:Parameter": [
        NameRule(
            "name",
            2048,
            _botocore("ssm PutParameter.Name"),
            r"(?!/?(?i:aws|ssm))[A-Za-z0-9_.\-/]+",
            "a-zA-Z0-9_.-/, not beginning with aws or ssm",
        )
    ],
    "aws:msk/cluster:Cluster": [NameRule("clusterName", 64, _botocore("kafka CreateClusterV2.ClusterName"))],
    # botocore's CreateTopic.TopicName is an unconstrained string; Kafka itself limits topic names.
    "aws:msk/topic:Topic": [
        NameRule(
            "name",
            249,
            Source(
                "docs",
                "https://kafka.apache.org/documentation/#topicconfigs (Kafka's Topic.java: legal characters [a-zA-Z0-9._-], at most 249)",
            ),
            r"[A-Za-z0-9._-]+",
            "letters, digits and ._-",
        )
    ],
    "aws:sesv2/configurationSet:ConfigurationSet": [
        NameRule(
            "configurationSetName",
            64,
            _botocore("sesv2 CreateConfigurationSet.ConfigurationSetName", "The name can contain up to 64 alphanumeric characters"),
            r"[A-Za-z0-9_-]+",
            "letters, digits, hyphens and underscores",
            autonamed=False,
        )
    ],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [NameRule("name", 255, _botocore("cloudwatch PutMetricAlarm.AlarmName"))],
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": [
        NameRule("name", 512, _botocore("logs PutMetricFilter.filterName"), r"[^:*]*", "anything but ':' and '*'")
    ],
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": [NameRule("alarmName", 255, _botocore("cloudwatch PutCompositeAlarm.AlarmName"))],
    "aws:cloudwatch/dashboard:Dashboard": [
        NameRule(
            "dashboardName",
            255,
            _botocore(
                "cloudwatch PutDashboard.DashboardName", 'The maximum length is 255, and valid characters are A-Z, a-z, 0-9, "-", and "_".'
            ),
            r"[A-Za-z0-9_-]+",
            "letters, digits, hyphens and underscores",
            autonamed=False,
        )
    ],
    "aws:budgets/budget:Budget": [
        NameRule(
            "name",
            100,
            _botocore("budgets BudgetName"),
            r"(?!.*/action/)[^:\\]+",
            "no ':' or '\\' and no '/action/'",
            prefix_field="namePrefix",
        )
    ],
    "aws:backup/vault:Vault": [
        NameRule(
            "name",
            50,
            Source(
                "docs",
                "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html (BackupVaultName pattern ^[a-zA-Z0-9\\-\\_]{2,50}$, as in botocore's model)",
            ),
            r"[A-Za-z0-9_-]+",
            "letters, digits, hyphens and underscores",
            min_length=2,
        )
    ],
    "aws:backup/plan:Plan": [
        NameRule(
            "name",
            50,
            Source(
                "docs",
                "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupPlanInput.html (BackupPlanName: 1 to 50 alphanumeric or '-_.' characters)",
            ),
            r"[A-Za-z0-9_.-]+",
            "letters, digits and -_.",
        )
    ],
    "aws:backup/selection:Selection": [
        NameRule(
            "name",
            50,
            Source(
                "docs",
                "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupSelection.html (SelectionName: 1 to 50 alphanumeric or '-_.' characters)",
            ),
            r"[A-Za-z0-9_.-]+",
            "letters, digits and -_.",
        )
    ],
    # botocore documents both names on their members (the shapes are plain strings): letters, digits and
    # underscores only; it states 50 characters for the selection and no maximum for the plan, so the
    # stricter 50 is applied to both.
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": [
        NameRule(
            "name",
            50,
            Source(
                "docs",
                "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateRestoreTestingPlan.html (RestoreTestingPlanName: alphanumeric characters and underscores)",
            ),
            r"[A-Za-z0-9_]+",
            "letters, digits and underscores",
        )
    ],
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": [
        NameRule(
            "name",
            50,
            Source(
                "docs",
                "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateRestoreTestingSelection.html (RestoreTestingSelectionName: alphanumeric characters and underscores, maximum length 50)",
            ),
            r"[A-Za-z0-9_]+",
            "letters, digits and underscores",
        )
    ],
    # ---------------------------------------------------------------- GCP
    "gcp:billing/budget:Budget": [
        NameRule(
            "displayName",
            60,
            _discovery(
                "billingbudgets.v1 GoogleCloudBillingBudgetsV1Budget.displayName", "The name must be less than or equal to 60 characters."
            ),
            autonamed=False,
        )
    ],
    "gcp:logging/metric:Metric": [
        NameRule(
            "name",
            100,
            _discovery("logging.v2 LogMetric.name", "Metric identifiers are limited to 100 characters"),
            r"[A-Za-z0-9_.,+!*'()%-][A-Za-z0-9_.,+!*'()%/-]*",
            "letters, digits and _-.,+!*',()%/, not starting with /",
        )
    ],
    "gcp:monitoring/alertPolicy:AlertPolicy": [
        NameRule(
            # The discovery document states it too, but inside text that also holds markup-like '<...>'.
            "displayName",
            512,
            Source(
                "docs",
                "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies (displayName: limited to 512 Unicode characters)",
            ),
            autonamed=False,
        )
    ],
    "gcp:compute/securityPolicy:SecurityPolicy": _compute("SecurityPolicy"),
    "gcp:certificatemanager/certificate:Certificate": _certificate_manager("Certificate"),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": _certificate_manager("DnsAuthorization"),
    # The map's docstring states no limit; Certificate Manager's other names (certificate, DNS
    # authorization) take 1-64 characters, applied here as the same service's rule.
    "gcp:certificatemanager/certificateMap:CertificateMap": _certificate_manager("Certificate"),
    "gcp:container/cluster:Cluster": [
        NameRule(
            "name",
            40,
            _discovery("container.v1 Cluster.name", "can be up to 40 characters"),
            _RFC1035,
            "lower-case letters, digits and hyphens, starting with a letter, ending with a letter or digit",
        )
    ],
    "gcp:sql/databaseInstance:DatabaseInstance": [
        NameRule(
            "name",
            98,
            _discovery("sqladmin.v1 instance ID", "The total length must be 98 characters or less"),
            r"[a-z][-a-z0-9]*",
            "a lower-case letter, then lower-case letters, digits and hyphens",
        )
    ],
    "gcp:serviceaccount/account:Account": [
        NameRule(
            "accountId",
            30,
            _discovery("iam.v1 CreateServiceAccountRequest.accountId", "must be 6-30 characters long"),
            r"[a-z](?:[-a-z0-9]*[a-z0-9])",
            _RFC1035_TEXT,
            min_length=6,
            autonamed=False,
        )
    ],
    "gcp:redis/instance:Instance": [
        NameRule(
            "name",
            40,
            _discovery("redis.v1 instances.create instanceId", "Must be between 1-40 characters."),
            _RFC1035,
            _RFC1035_TEXT,
        )
    ],
    "gcp:kms/keyRing:KeyRing": [
        NameRule(
            "name",
            63,
            _discovery("cloudkms.v1 keyRings.create keyRingId", "[a-zA-Z0-9_-]{1,63}"),
            r"[a-zA-Z0-9_-]+",
            "letters, digits, hyphens and underscores",
        )
    ],
    "gcp:kms/cryptoKey:CryptoKey": [
        NameRule(
            "name",
            63,
            _discovery("cloudkms.v1 cryptoKeys.create cryptoKeyId", "[a-zA-Z0-9_-]{1,63}"),
            r"[a-zA-Z0-9_-]+",
            "letters, digits, hyphens and underscores",
        )
    ],
    "gcp:secretmanager/secret:Secret": [
        NameRule(
            "secretId",
            255,
            _discovery("secretmanager.v1 secrets.create secretId", "A secret ID is a string with a maximum length of 255 characters"),
            r"[A-Za-z0-9_-]+",
            "letters, digits, hyphens and underscores",
            autonamed=False,
        )
    ],
    "gcp:iam/denyPolicy:DenyPolicy": [
        NameRule(
            "name",
            63,
            _discovery("iam.v2 policies.createPolicy policyId", "The ID must contain 3 to 63 characters."),
            r"[a-z][a-z0-9.-]*",
            "a lower-case letter, then lower-case letters, digits, dashes and periods",
            min_length=3,
            autonamed=False,
        )
    ],
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": [
        NameRule(
            "workloadIdentityPoolId",
            32,
            _discovery(
                "iam.v1 workloadIdentityPools.create workloadIdentityPoolId",
                "This value should be 4-32 characters, and may contain the characters [a-z0-9-].",
            ),
            r"[a-z0-9-]+",
            "lower-case letters, digits and hyphens",
            min_length=4,
            autonamed=False,
            forbidden_prefixes=("gcp-",),
        ),
        NameRule(
            "displayName",
            32,
            _discovery("iam.v1 WorkloadIdentityPool.displayName", "A display name for the pool. Cannot exceed 32 characters."),
            autonamed=False,
        ),
    ],
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": [
        NameRule(
            "workloadIdentityPoolProviderId",
            32,
            _discovery(
                "iam.v1 providers.create workloadIdentityPoolProviderId",
                "This value must be 4-32 characters, and may contain the characters [a-z0-9-].",
            ),
            r"[a-z0-9-]+",
            "lower-case letters, digits and hyphens",
            min_length=4,
            autonamed=False,
            forbidden_prefixes=("gcp-",),
        ),
        NameRule(
            "displayName",
            32,
            _discovery("iam.v1 WorkloadIdentityPoolProvider.displayName", "A display name for the provider. Cannot exceed 32 characters."),
            autonamed=False,
        ),
    ],
    "gcp:artifactregistry/repository:Repository": [
        NameRule(
            "repositoryId",
            63,
            Source(
                "docs",
                "https://cloud.google.com/artifact-registry/docs/repositories/create-repos (repository names: up to 63 lower-case letters, digits and hyphens)",
            ),
            _RFC1035,
            _RFC1035_TEXT,
            autonamed=False,
        )
    ],
    "gcp:compute/network:Network": _compute("Network"),
    "gcp:compute/subnetwork:Subnetwork": _compute("Subnetwork"),
    "gcp:compute/firewall:Firewall": _compute("Firewall"),
    "gcp:compute/router:Router": _compute("Router"),
    "gcp:compute/routerNat:RouterNat": [
        NameRule(
            "name",
            63,
            _discovery("compute.v1 RouterNat.name", "The name must be 1-63 characters long and comply with"),
            _RFC1035,
            _RFC1035_TEXT,
        )
    ],
    "gcp:compute/routerPeer:RouterPeer": _compute("RouterBgpPeer"),
    "gcp:compute/routerInterface:RouterInterface": _compute("RouterInterface"),
    "gcp:compute/globalAddress:GlobalAddress": _compute("Address"),
    "gcp:compute/haVpnGateway:HaVpnGateway": _compute("VpnGateway"),
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": _compute("ExternalVpnGateway"),
    "gcp:compute/vPNTunnel:VPNTunnel": _compute("VpnTunnel"),
}

# Types the estate creates whose name is not theirs to choose or carries no limit of its own: the
# cloud assigns an id (VPCs, subnets, keys), or the "name" is a reference to something else.
UNNAMED = {
    "gcp:projects/service:Service": "keyed by the API's published name (compute.googleapis.com)",
    "gcp:organizations/project:Project": "its id is crm:deployProjects', checked at config time (rules.gcp_project: 6-30 characters)",
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": "keyed within its map; neither Google's API nor the provider states a limit",
    "aws:acm/certificate:Certificate": "AWS assigns the ARN; the domain names are the public host's",
    "aws:acm/certificateValidation:CertificateValidation": "waits for a certificate; no name",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": "keyed by the source instance ARN",
    "gcp:monitoring/notificationChannel:NotificationChannel": "Cloud Monitoring assigns the id; the display name is optional free text",
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": "Cloud Monitoring assigns the id; the display name is free text with no stated limit",
    "gcp:monitoring/dashboard:Dashboard": "Cloud Monitoring assigns the id; the layout JSON carries the display name",
    "gcp:monitoring/metricDescriptor:MetricDescriptor": "keyed by its metric type (custom.googleapis.com/...), which the program sets",
    "aws:ec2/customerGateway:CustomerGateway": "AWS assigns the id",
    "aws:fis/experimentTemplate:ExperimentTemplate": "AWS assigns the id; its Name tag is free text",
    "gcp:monitoring/customService:CustomService": "serviceId is the component's name, which matches the only rule the API states ([a-z0-9-]+); no length stated",
    "gcp:monitoring/slo:Slo": "sloId is a fixed word (availability, latency) within its service; the API states characters, no length",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "adopts the VPC's default group",
    "aws:ec2/eip:Eip": "AWS assigns the id",
    "aws:ec2/flowLog:FlowLog": "AWS assigns the id",
    "aws:ec2/internetGateway:InternetGateway": "AWS assigns the id",
    "aws:ec2/natGateway:NatGateway": "AWS assigns the id",
    "aws:ec2/route:Route": "no name",
    "aws:ec2/routeTable:RouteTable": "AWS assigns the id",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "no name",
    "aws:ec2/subnet:Subnet": "AWS assigns the id",
    "aws:ec2/vpc:Vpc": "AWS assigns the id",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "AWS assigns the id",
    "aws:ec2/vpnConnection:VpnConnection": "AWS assigns the id",
    "aws:ec2/vpnGateway:VpnGateway": "AWS assigns the id",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": "no name",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "belongs to its repository",
    "aws:eks/addon:Addon": "addonName is the add-on's published name",
    "aws:eks/accessEntry:AccessEntry": "keyed by principal ARN",
    "aws:codebuild/webhook:Webhook": "belongs to its project",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "keyed by principal and policy ARN",
    "aws:iam/accessKey:AccessKey": "AWS assigns the id",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "keyed by the issuer URL",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "no name",
    "aws:kms/key:Key": "AWS assigns the id",
    "aws:lb/listener:Listener": "AWS assigns the id",
    "aws:lb/listenerRule:ListenerRule": "AWS assigns the id",
    "aws:s3/bucketObjectv2:BucketObjectv2": "a fixed key in its own bucket (client-ca-bundle.pem)",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "belongs to its bucket",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "belongs to its bucket",
    "aws:s3/bucketPolicy:BucketPolicy": "belongs to its bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "belongs to its bucket",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "belongs to its bucket",
    "aws:s3/bucketVersioning:BucketVersioning": "belongs to its bucket",
    "aws:s3/bucketLogging:BucketLogging": "belongs to its bucket",
    "aws:secretsmanager/secretVersion:SecretVersion": "AWS assigns the version id",
    "aws:ses/domainDkim:DomainDkim": "keyed by the domain",
    "aws:ses/domainIdentity:DomainIdentity": "the domain is the identity",
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": "eventDestinationName: 64 characters, set explicitly, below the limit by construction",
    "aws:sns/topicPolicy:TopicPolicy": "belongs to its topic",
    "aws:sns/topicSubscription:TopicSubscription": "AWS assigns the id",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "AWS assigns the id",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "AWS assigns the id",
    "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig": "names the peering Google created",
    "gcp:container/nodePool:NodePool": "GKE's API reference states no length for node pool names; not checked",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "no name",
    "gcp:projects/iAMMember:IAMMember": "no name",
    "gcp:binaryauthorization/policy:Policy": "one per project, named by the project",
    "gcp:projects/serviceIdentity:ServiceIdentity": "Google names the service agent",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "no name",
    "gcp:secretmanager/secretVersion:SecretVersion": "Google numbers the versions",
    "gcp:serviceaccount/iAMMember:IAMMember": "no name",
    "gcp:servicenetworking/connection:Connection": "Google names the peering",
    "gcp:sql/database:Database": "a PostgreSQL identifier inside the instance",
    "gcp:sql/user:User": "a PostgreSQL role inside the instance",
}

POLICY = "name-within-provider-limits"


@dataclass(frozen=True)
class NameProblem:
    urn: str
    type: str
    resource: str  # the logical name
    field: str
    name: str  # the name the provider would send (autonamed: with a sample random part)
    how: str  # "set" | "autonamed" | "prefixed"
    rule: NameRule
    reason: str

    @property
    def message(self) -> str:
        origin = {
            "set": "",
            "autonamed": f", autonamed: logical name + '-' + {AUTONAME_RANDOM} random characters",
            "prefixed": f", {self.rule.prefix_field} + {PREFIX_RANDOM} characters the provider appends",
        }[self.how]
        return f"{self.type} '{self.resource}': {self.field} '{self.name}' ({len(self.name)} characters{origin}) {self.reason} (source: {self.rule.source})"


RULE_COUNT = sum(len(rules) for rules in RULES.values())  # name limits, for `check`'s summary


def _plain(value: Any) -> str | None:
    """The text of an input, or None when it is not known before deploy (unknown, secret, or not text)."""
    if isinstance(value, str) and value not in ("[unknown]", "[secret]") and value != rpc.UNKNOWN:
        return value
    return None


def proposed_name(rule: NameRule, logical_name: str, inputs: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, how) the provider would send for `rule.field`, or None when the cloud picks it or it is not known yet."""
    if rule.field in inputs and inputs[rule.field] is not None:
        value = _plain(inputs[rule.field])
        return (value, "set") if value is not None else None
    if rule.prefix_field and inputs.get(rule.prefix_field) is not None:
        prefix = _plain(inputs[rule.prefix_field])
        return (prefix + _PREFIX_SAMPLE[:PREFIX_RANDOM], "prefixed") if prefix is not None else None
    if rule.autonamed:
        return f"{logical_name}-{_AUTONAME_SAMPLE[:AUTONAME_RANDOM]}", "autonamed"
    return None


def _reason(rule: NameRule, name: str) -> str | None:
    if len(name) > rule.max_length:
        return f"is over the limit of {rule.max_length} characters"
    if len(name) < rule.min_length:
        return f"is under the minimum of {rule.min_length} characters"
    for forbidden in rule.forbidden_prefixes:
        if name.lower().startswith(forbidden):
            return f"must not begin with '{forbidden}'"
    if rule.pattern and not re.fullmatch(rule.pattern, name):
        return f"breaks the character rule ({rule.pattern_text or rule.pattern})"
    return None


def problems(resources: Iterable[Any]) -> list[NameProblem]:
    """Name problems of a plan's resources: anything with type, name, urn, inputs (and custom)."""
    found = []
    for r in resources:
        if not getattr(r, "custom", True) or getattr(r, "op", "create") == "read":
            continue
        for rule in RULES.get(r.type, ()):
            proposed = proposed_name(rule, r.name, r.inputs)
            if proposed is None:
                continue
            name, how = proposed
            reason = _reason(rule, name)
            if reason:
                found.append(NameProblem(r.urn, r.type, r.name, rule.field, name, how, rule, reason))
    return found


def violations(resources: Iterable[Any]) -> list:
    """The problems as mandatory findings of `python -m tools check`."""
    from ..policy_check import Violation

    return [Violation(POLICY, "high", "mandatory", p.message, p.urn) for p in problems(resources)]


__all__ = [
    "AUTONAME_RANDOM",
    "PREFIX_RANDOM",
    "RULES",
    "UNNAMED",
    "NameProblem",
    "NameRule",
    "Source",
    "problems",
    "proposed_name",
    "violations",
]
