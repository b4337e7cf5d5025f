"""Passing and failing fixtures for every rule of the pack.

Each type has one compliant resource (`GOOD`); a failing fixture is that resource with one change,
so it breaks exactly the rule it is listed under.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from policies.rules.base import UNKNOWN, Resource

# What components/postgres/logging.py sets: pgAudit DDL and role classes, session events, no statement text.
RDS_AUDIT = [
    {"name": "shared_preload_libraries", "value": "pg_stat_statements,pgaudit"},
    {"name": "pgaudit.log", "value": "ddl,role"},
    {"name": "log_connections", "value": "1"},
    {"name": "log_disconnections", "value": "1"},
    {"name": "log_min_duration_statement", "value": "-1"},
]
SQL_AUDIT = [
    {"name": "cloudsql.enable_pgaudit", "value": "on"},
    {"name": "pgaudit.log", "value": "ddl,role"},
    {"name": "log_connections", "value": "on"},
    {"name": "log_disconnections", "value": "on"},
    {"name": "log_min_duration_statement", "value": "-1"},
]
TAGS = {"project": "crm", "environment": "production", "managed-by": "pulumi", "role": "test"}

GOOD: dict[str, dict[str, Any]] = {
    "aws:rds/instance:Instance": {
        "engine": "postgres",
        "storageEncrypted": True,
        "publiclyAccessible": False,
        "multiAz": True,
        "backupRetentionPeriod": 30,
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "db-final",
        "iamDatabaseAuthenticationEnabled": True,
        "enabledCloudwatchLogsExports": ["postgresql"],
        "performanceInsightsEnabled": True,
        "kmsKeyId": "arn:aws:kms:ap-northeast-2:123456789012:key/rds",
        "tags": TAGS,
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        "family": "postgres15",
        "parameters": [
            {"name": "rds.force_ssl", "value": "1"},
            {"name": "rds.logical_replication", "value": "1", "applyMethod": "pending-reboot"},
            *RDS_AUDIT,
        ],
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "atRestEncryptionEnabled": True,
        "transitEncryptionEnabled": True,
        "authToken": UNKNOWN,
        "numCacheClusters": 3,
        "automaticFailoverEnabled": True,
        "multiAzEnabled": True,
        "kmsKeyId": "arn:aws:kms:ap-northeast-2:123456789012:key/cache",
        "tags": TAGS,
    },
    "aws:eks/cluster:Cluster": {
        "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True},
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:kms"}},
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        "tags": TAGS,
    },
    "aws:ecr/repository:Repository": {
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "tags": TAGS,
        "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:ap-northeast-2:123456789012:key/ecr"}],
    },
    "aws:msk/cluster:Cluster": {
        "encryptionInfo": {"encryptionAtRestKmsKeyArn": "arn:aws:kms:ap-northeast-2:123456789012:key/msk"},
        "numberOfBrokerNodes": 4,
        "brokerNodeGroupInfo": {"clientSubnets": ["subnet-a", "subnet-c"]},
        "tags": TAGS,
    },
    "aws:msk/topic:Topic": {"replicationFactor": 3, "configs": '{"min.insync.replicas": "2"}', "partitionCount": 6},
    "gcp:artifactregistry/repository:Repository": {"kmsKeyName": "projects/p/locations/r/keyRings/k/cryptoKeys/registry", "labels": TAGS},
    "gcp:secretmanager/secret:Secret": {
        "labels": TAGS,
        "replication": {
            "userManaged": {
                "replicas": [
                    {
                        "location": "asia-northeast3",
                        "customerManagedEncryption": {"kmsKeyName": "projects/p/locations/asia-northeast3/keyRings/k/cryptoKeys/secrets"},
                    }
                ]
            }
        },
    },
    "aws:kms/key:Key": {"enableKeyRotation": True, "tags": TAGS, "policy": '{"Version": "2012-10-17", "Statement": []}'},
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": {
        "rules": [
            {"id": "expire", "status": "Enabled", "expiration": {"days": 90}, "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}
        ]
    },
    "aws:sqs/queue:Queue": {"kmsMasterKeyId": "arn:kms", "tags": TAGS},
    "aws:sns/topic:Topic": {"kmsMasterKeyId": "arn:kms", "tags": TAGS},
    "aws:secretsmanager/secret:Secret": {"kmsKeyId": "arn:kms", "tags": TAGS},
    "aws:ssm/parameter:Parameter": {"name": "/crm/api-token", "type": "SecureString"},
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "cidrIpv4": "0.0.0.0/0",
    },
    "aws:ec2/subnet:Subnet": {"mapPublicIpOnLaunch": False, "tags": TAGS},
    "gcp:container/cluster:Cluster": {
        "privateClusterConfig": {"enablePrivateNodes": True},
        "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
        "nodeConfig": {
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "shieldedInstanceConfig": {"enableSecureBoot": True},
            "serviceAccount": UNKNOWN,
        },
        "datapathProvider": "ADVANCED_DATAPATH",
        "enableLegacyAbac": False,
        "masterAuth": {"clientCertificateConfig": {"issueClientCertificate": False}},
        "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}]},
        "releaseChannel": {"channel": "REGULAR"},
        "databaseEncryption": {"state": "ENCRYPTED", "keyName": "projects/p/keys/k"},
        "resourceLabels": TAGS,
        "enableIntranodeVisibility": True,
        "binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
    },
    "gcp:binaryauthorization/policy:Policy": {
        "globalPolicyEvaluationMode": "ENABLE",
        "defaultAdmissionRule": {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
        "admissionWhitelistPatterns": [{"namePattern": "asia-northeast3-docker.pkg.dev/p/crm/**"}, {"namePattern": "quay.io/strimzi/*"}],
    },
    "gcp:container/nodePool:NodePool": {
        "nodeConfig": {
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "shieldedInstanceConfig": {"enableSecureBoot": True},
            "serviceAccount": "nodes@p.iam.gserviceaccount.com",
        }
    },
    "gcp:sql/databaseInstance:DatabaseInstance": {
        "deletionProtection": True,
        "encryptionKeyName": "projects/p/locations/r/keyRings/k/cryptoKeys/sql",
        "settings": {
            "availabilityType": "REGIONAL",
            "deletionProtectionEnabled": True,
            "userLabels": TAGS,
            "databaseFlags": SQL_AUDIT,
            "ipConfiguration": {"ipv4Enabled": False, "sslMode": "ENCRYPTED_ONLY"},
            "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True},
        },
    },
    "gcp:redis/instance:Instance": {
        "tier": "STANDARD_HA",
        "authEnabled": True,
        "transitEncryptionMode": "SERVER_AUTHENTICATION",
        "labels": TAGS,
        "customerManagedKey": "projects/p/locations/r/keyRings/k/cryptoKeys/redis",
    },
    "gcp:compute/firewall:Firewall": {
        "direction": "INGRESS",
        "sourceRanges": ["0.0.0.0/0"],
        "allows": [{"protocol": "tcp", "ports": ["443"]}],
    },
    "gcp:compute/subnetwork:Subnetwork": {"logConfig": {"metadata": "INCLUDE_ALL_METADATA"}, "privateIpGoogleAccess": True},
    "gcp:compute/vPNTunnel:VPNTunnel": {"ikeVersion": 2},
    "gcp:compute/securityPolicy:SecurityPolicy": {
        "type": "CLOUD_ARMOR",
        "rules": [
            {
                "action": "deny(403)",
                "priority": 900,
                "match": {
                    "expr": {
                        "expression": f"!(request.headers['x-crm-origin-auth'] == '{'a1' * 24}' || request.headers['x-crm-origin-auth'] == '{'b2' * 24}')"
                    }
                },
            },
            {"action": "allow", "priority": 1000, "match": {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["173.245.48.0/20"]}}},
            {"action": "deny(403)", "priority": 2147483647, "match": {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["*"]}}},
        ],
    },
    "aws:ec2/vpnConnection:VpnConnection": {
        "tunnel1IkeVersions": ["ikev2"],
        "tunnel2IkeVersions": ["ikev2"],
        "tunnel1InsideCidr": "169.254.10.0/30",
        "tunnel2InsideCidr": "169.254.10.4/30",
    },
    "cloudflare:index/loadBalancer:LoadBalancer": {"proxied": True},
    "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings": {"zoneId": "z" * 32, "enabled": True},
    "aws:lb/listener:Listener": {"port": 443, "protocol": "HTTPS", "mutualAuthentication": {"mode": "verify", "trustStoreArn": UNKNOWN}},
    "aws:lb/listenerRule:ListenerRule": {
        "priority": 1,
        "conditions": [
            {
                "httpHeader": {
                    "httpHeaderName": "x-crm-origin-auth",
                    "values": ["FirstSlotValue0123456789abcdefghijklmnopqrstuvwx", "SecondSlotValue0123456789abcdefghijklmnopqrstuvw"],
                }
            }
        ],
        "actions": [{"type": "forward", "targetGroupArn": UNKNOWN}],
    },
    "cloudflare:index/zoneSetting:ZoneSetting": {"zoneId": "z" * 32, "settingId": "ssl", "value": "strict"},
    "cloudflare:index/ruleset:Ruleset": {
        "kind": "zone",
        "phase": "http_request_firewall_managed",
        "zoneId": "z" * 32,
        "rules": [
            {
                "ref": "cloudflare-managed",
                "action": "execute",
                "actionParameters": {"id": "efb7b8c949ac4650a09736fc376e9aee"},
                "expression": "true",
                "enabled": True,
            }
        ],
    },
    "cloudflare:index/loadBalancerPool:LoadBalancerPool": {"monitor": UNKNOWN},
    "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor": {"interval": 60, "retries": 2, "timeout": 5, "consecutiveDown": 1},
    "aws:iam/role:Role": {
        "assumeRolePolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
                    "Condition": {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                            "token.actions.githubusercontent.com:sub": ["repo:acme/crm-infra:environment:production"],
                        }
                    },
                }
            ],
        }
    },
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": {
        "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
        "attributeCondition": "assertion.repository == 'acme/crm-infra'",
        "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
    },
    "aws:iam/rolePolicy:RolePolicy": {
        "policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "eks:*"], "Resource": "*"}]}'
    },
    "gcp:storage/bucket:Bucket": {
        "uniformBucketLevelAccess": True,
        "publicAccessPrevention": "enforced",
        "versioning": {"enabled": True},
        "encryption": {"defaultKmsKeyName": UNKNOWN},
        "labels": {**TAGS, "purpose": "state"},
    },
    "aws:s3/bucket:Bucket": {"tags": {**TAGS, "purpose": "state"}},
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {
        "bucket": UNKNOWN,
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": UNKNOWN}, "bucketKeyEnabled": True}],
    },
    "aws:s3/bucketVersioning:BucketVersioning": {"bucket": UNKNOWN, "versioningConfiguration": {"status": "Enabled"}},
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
        "bucket": UNKNOWN,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    },
    "kubernetes:apps/v1:Deployment": {
        "metadata": {"name": "crm", "namespace": "crm"},
        "spec": {
            "template": {
                "spec": {
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [
                        {
                            "name": "crm",
                            "securityContext": {"privileged": False, "allowPrivilegeEscalation": False},
                            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                        }
                    ],
                }
            }
        },
    },
    "kubernetes:core/v1:Namespace": {"metadata": {"name": "crm"}},
    "aws:cloudwatch/logGroup:LogGroup": {
        "name": "/aws/eks/crm-production-eks/cluster",
        "retentionInDays": 365,
        "kmsKeyId": UNKNOWN,
        "tags": TAGS,
    },
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": {
        "metadata": {"name": "default-deny", "namespace": "crm"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    },
    "aws:fis/experimentTemplate:ExperimentTemplate": {
        "description": "game day aws-outage",
        "roleArn": UNKNOWN,
        "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:guard"}],
        "actions": [
            {
                "name": "cut",
                "actionId": "aws:network:disrupt-connectivity",
                "parameters": [{"key": "duration", "value": "PT10M"}, {"key": "scope", "value": "all"}],
                "target": {"key": "Subnets", "value": "subnets"},
            }
        ],
        "targets": [{"name": "subnets", "resourceType": "aws:ec2:subnet", "selectionMode": "ALL", "resourceArns": [UNKNOWN]}],
        "tags": TAGS,
    },
}


def resource(
    type_: str, changes: dict | None = None, *, stack: str = "aws-production", name: str = "subject", protect: bool = True, **extra
) -> Resource:
    props = copy.deepcopy(GOOD[type_]) if type_ in GOOD else {}
    for path, value in (changes or {}).items():
        target = props
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        if value is DELETE:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    urn = f"urn:pulumi:{stack}::crm::{type_}::{name}"
    return Resource(type_, name, urn, props, protect, **extra)


class _Delete:
    pass


DELETE = _Delete()
RDS, PG, REDIS = "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup", "aws:elasticache/replicationGroup:ReplicationGroup"
EKS, GKE, POOL, SQL = (
    "aws:eks/cluster:Cluster",
    "gcp:container/cluster:Cluster",
    "gcp:container/nodePool:NodePool",
    "gcp:sql/databaseInstance:DatabaseInstance",
)
SG = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
FW, MEMORY, VPN, TUNNEL = (
    "gcp:compute/firewall:Firewall",
    "gcp:redis/instance:Instance",
    "aws:ec2/vpnConnection:VpnConnection",
    "gcp:compute/vPNTunnel:VPNTunnel",
)
RANDOM = "random:index/randomPassword:RandomPassword"
ARMOR = "gcp:compute/securityPolicy:SecurityPolicy"
ORIGIN_AUTH_RULE = GOOD[ARMOR]["rules"][0]
LOGS = "aws:cloudwatch/logGroup:LogGroup"
BINAUTHZ = "gcp:binaryauthorization/policy:Policy"
BALANCER, RULESET, ZONE = (
    "cloudflare:index/loadBalancer:LoadBalancer",
    "cloudflare:index/ruleset:Ruleset",
    "cloudflare:index/zoneSetting:ZoneSetting",
)
AOP, LISTENER = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings", "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
GENERATED = "FirstSlotValue0123456789abcdefghijklmnopqrstuvwx"  # 48 letters and digits, as components/gcp/origin_auth.py makes


BOUNDARY = "arn:aws:iam::123456789012:policy/crm-permissions-boundary"
ROLE, WIP, GCS = "aws:iam/role:Role", "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "gcp:storage/bucket:Bucket"
S3_PARTS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
)


def _trust(condition: dict) -> Resource:
    """A GitHub-trusting role whose Condition is replaced."""
    role = resource(ROLE, name="ci")
    role.props["assumeRolePolicy"]["Statement"][0]["Condition"] = condition
    return role


def _service_role(props: dict) -> Resource:
    """An estate role a service assumes, with the given extra properties."""
    role = resource(ROLE, name="flow-logs")
    role.props = {
        "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}',
        **props,
    }
    return role


# How a principal that manages roles is held (components/bootstrap/ci_identity.py deploy_policy, shortened).
GUARDED_DELEGATION = [
    {
        "Effect": "Allow",
        "Action": ["iam:CreateRole", "iam:PutRolePolicy"],
        "Resource": "arn:aws:iam::123456789012:role/crm-*",
        "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
    },
    {
        "Effect": "Allow",
        "Action": "iam:AttachRolePolicy",
        "Resource": "arn:aws:iam::123456789012:role/crm-*",
        "Condition": {
            "StringEquals": {"iam:PermissionsBoundary": BOUNDARY},
            "ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]},
        },
    },
    {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::123456789012:role/crm-*",
        "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}},
    },
]


def _delegating_policy(statements: list) -> Resource:
    import json

    return resource("aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps({"Version": "2012-10-17", "Statement": statements})})


def _google_trust(condition: dict) -> Resource:
    """A role that Google-signed ID tokens assume, with the given StringEquals conditions."""
    role = resource(ROLE, name="mail-sender")
    role.props["permissionsBoundary"] = BOUNDARY
    role.props["assumeRolePolicy"] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "accounts.google.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": condition},
            }
        ],
    }
    return role


GOOGLE_ID = "112233445566778899001"


def _bucket_stack(changes: dict | None = None, without: str = "") -> list[Resource]:
    """An S3 bucket and its encryption, versioning and access block; `changes` maps a part's type to its changes."""
    bucket = resource("aws:s3/bucket:Bucket", name="state")
    parts = [
        resource(t, (changes or {}).get(t), name=f"state-{t.split(':')[-1]}", property_dependencies={"bucket": [bucket.urn]})
        for t in S3_PARTS
        if t != without
    ]
    return [bucket, *parts]


def _generated_stack(value_from_random: bool) -> list[Resource]:
    password = resource(RANDOM, name="pw")
    db = resource(
        RDS,
        {"password": UNKNOWN if value_from_random else "typed-in"},
        name="db",
        property_dependencies={"password": [password.urn]} if value_from_random else {"instanceClass": []},
    )
    return [password, db]


def _vpn_stack(tunnels: int) -> list[Resource]:
    gateway = resource("gcp:compute/haVpnGateway:HaVpnGateway", stack="gcp-dr", name="gw")
    return [gateway] + [resource(TUNNEL, stack="gcp-dr", name=f"t{i}") for i in range(tunnels)]


def _flow_log_stack(covered: bool) -> list[Resource]:
    vpc = resource("aws:ec2/vpc:Vpc", {"tags": TAGS}, name="vpc")
    flow = resource("aws:ec2/flowLog:FlowLog", name="flow", property_dependencies={"vpcId": [vpc.urn] if covered else []})
    return [vpc, flow]


def _watched_stack(*, subscriber: bool = True, alarm: bool = True, budget: bool = True, burn_alarms: bool = True) -> list[Resource]:
    estate = [resource("aws:lb/loadBalancer:LoadBalancer", {"tags": TAGS}, name="alb")]
    if burn_alarms:  # without `alarm`, only the composite alarm (estate-watched asks for a metric alarm)
        estate += [r for r in _burn_alarm_pair(name="availability-fast-burn") if alarm or r.type != ALARM]
    if subscriber:
        estate.append(
            resource("aws:sns/topicSubscription:TopicSubscription", {"protocol": "email", "endpoint": "oncall@acme-corp.io"}, name="mail")
        )
    if alarm:
        estate.append(resource(ALARM, {"alarmActions": ["arn:aws:sns:ap-northeast-2:123456789012:alarms"]}, name="cpu"))
    if budget:
        estate.append(resource("aws:budgets/budget:Budget", {"budgetType": "COST"}, name="budget"))
    return estate


ALARM, POLICY = "aws:cloudwatch/metricAlarm:MetricAlarm", "gcp:monitoring/alertPolicy:AlertPolicy"
COMPOSITE, SLO = "aws:cloudwatch/compositeAlarm:CompositeAlarm", "gcp:monitoring/slo:Slo"
TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:alarms"


def _burn_alarm_pair(*, name: str, notifies: bool = True, names_its_input: bool = True) -> list[Resource]:
    """A metric alarm without actions of its own and the composite alarm that reads it (components/aws/slo.py)."""
    window = resource(ALARM, {"name": f"{name}-1h", "alarmActions": []}, name=f"{name}-1h")
    rule = f'ALARM("{name}-1h") AND ALARM("{name}-5m")' if names_its_input else f'ALARM("{name}-5m")'
    composite = resource(COMPOSITE, {"alarmName": name, "alarmRule": rule, "alarmActions": [TOPIC] if notifies else []}, name=name)
    return [window, composite]


def _slo_stack(*, alerted: bool = True) -> list[Resource]:
    slo = resource(SLO, {"sloId": "availability", "goal": 0.9999}, stack="gcp-production", name="availability")
    policy = resource(
        POLICY,
        {"notificationChannels": ["projects/p/notificationChannels/1"], "conditions": UNKNOWN},
        stack="gcp-production",
        name="availability-fast-burn",
        property_dependencies={"conditions": [slo.urn]},
    )
    return [slo, policy] if alerted else [slo]


FIS_TEMPLATE, ROLE, ROLE_POLICY = "aws:fis/experimentTemplate:ExperimentTemplate", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
FIS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
SCOPED = [
    {
        "Effect": "Allow",
        "Action": "ec2:ReplaceNetworkAclAssociation",
        "Resource": ["arn:aws:ec2:ap-northeast-2:123456789012:subnet/subnet-1"],
    },
    {"Effect": "Allow", "Action": ["ec2:DescribeSubnets", "ec2:GetManagedPrefixListEntries"], "Resource": "*"},
]


def _fis_stack(*, trust: dict = FIS_TRUST, statements: list = SCOPED, attached: bool = False, role_arn=None) -> list[Resource]:
    """A FIS template, its role and the role's inline policy (components/aws/fault_injection.py)."""
    role = resource(ROLE, {"assumeRolePolicy": json.dumps(trust), "tags": TAGS, "permissionsBoundary": BOUNDARY}, name="fis-role")
    policy = resource(
        ROLE_POLICY,
        {"role": UNKNOWN, "policy": json.dumps({"Version": "2012-10-17", "Statement": statements})},
        name="fis-policy",
        property_dependencies={"role": [role.urn]},
    )
    template = resource(
        FIS_TEMPLATE,
        {"roleArn": role_arn} if role_arn else None,
        name="aws-outage",
        property_dependencies={} if role_arn else {"roleArn": [role.urn]},
    )
    stack = [role, policy, template]
    if attached:
        stack.append(
            resource(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                {"role": UNKNOWN, "policyArn": "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorNetworkAccess"},
                name="fis-managed",
                property_dependencies={"role": [role.urn]},
            )
        )
    return stack


def _network_policy_stack(enforced: bool | None) -> list[Resource]:
    """An EKS cluster, a NetworkPolicy, and a vpc-cni add-on with the agent on (True), off (False) or absent (None)."""
    cluster = resource(EKS, name="eks")
    policy = resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", name="deny-all")
    if enforced is None:
        return [cluster, policy]
    config = '{"enableNetworkPolicy": "true"}' if enforced else '{"env": {"WARM_IP_TARGET": "2"}}'
    return [cluster, policy, resource("aws:eks/addon:Addon", {"addonName": "vpc-cni", "configurationValues": config}, name="cni")]


def _data_store_stack(source: str, stack: str = "aws-production", port: int = 5432) -> list[Resource]:
    """An EKS cluster, the app pods' group, and a data-store rule admitting `source` ("cluster" or "pods")."""
    cluster = resource(EKS, name="eks", stack=stack)
    pods = resource("aws:ec2/securityGroup:SecurityGroup", {"tags": TAGS}, name="app-pods", stack=stack)
    origin = cluster.urn if source == "cluster" else pods.urn
    rule = resource(
        SG,
        {"fromPort": port, "toPort": port, "cidrIpv4": DELETE, "referencedSecurityGroupId": UNKNOWN},
        name="db-from-app",
        stack=stack,
        property_dependencies={"referencedSecurityGroupId": [origin]},
    )
    return [cluster, pods, rule]


# rule name -> (passing fixtures, failing fixtures); a resource rule gets resources, a stack rule lists of resources.
DEPLOY = "kubernetes:apps/v1:Deployment"
CONTAINER = "spec.template.spec.containers"


def _container(**changes) -> list:
    container = copy.deepcopy(GOOD[DEPLOY]["spec"]["template"]["spec"]["containers"][0])
    container.update(changes)
    return [container]


def _namespace_stack(with_policy: bool) -> list[Resource]:
    stack = [resource("kubernetes:core/v1:Namespace"), resource(DEPLOY)]
    return [*stack, resource("kubernetes:networking.k8s.io/v1:NetworkPolicy")] if with_policy else stack


FIXTURES: dict[str, tuple[list, list]] = {
    "rds-storage-encrypted": ([resource(RDS)], [resource(RDS, {"storageEncrypted": DELETE})]),
    "rds-not-public": ([resource(RDS)], [resource(RDS, {"publiclyAccessible": True})]),
    "rds-multi-az": ([resource(RDS), resource(RDS, {"multiAz": False}, stack="aws-dev")], [resource(RDS, {"multiAz": False})]),
    "rds-backup-retention": ([resource(RDS)], [resource(RDS, {"backupRetentionPeriod": 1})]),
    "rds-deletion-protection": ([resource(RDS)], [resource(RDS, {"deletionProtection": False})]),
    "rds-final-snapshot": ([resource(RDS)], [resource(RDS, {"skipFinalSnapshot": True})]),
    "rds-iam-authentication": ([resource(RDS)], [resource(RDS, {"iamDatabaseAuthenticationEnabled": DELETE})]),
    "rds-log-exports": ([resource(RDS)], [resource(RDS, {"enabledCloudwatchLogsExports": ["upgrade"]})]),
    "rds-performance-insights": ([resource(RDS)], [resource(RDS, {"performanceInsightsEnabled": False})]),
    "rds-force-ssl": ([resource(PG)], [resource(PG, {"parameters": [{"name": "rds.force_ssl", "value": "0"}, *RDS_AUDIT]})]),
    "rds-logical-replication-dr": (
        [
            resource(PG, stack="aws-dr"),
            resource(PG, {"parameters": [{"name": "rds.force_ssl", "value": "1"}, *RDS_AUDIT]}, stack="aws-production"),
        ],
        [resource(PG, {"parameters": [{"name": "rds.force_ssl", "value": "1"}, *RDS_AUDIT]}, stack="aws-dr")],
    ),
    "rds-audit-logging": (
        [resource(PG), resource(PG, {"family": "mysql8.0", "parameters": []})],
        [
            resource(
                PG,
                {
                    "parameters": [
                        {"name": "rds.force_ssl", "value": "1"},
                        {"name": "rds.logical_replication", "value": "1", "applyMethod": "pending-reboot"},
                    ]
                },
            ),
            resource(
                PG,
                {
                    "parameters": [
                        {"name": "rds.force_ssl", "value": "1"},
                        {"name": "rds.logical_replication", "value": "1", "applyMethod": "pending-reboot"},
                        *RDS_AUDIT[:-1],
                        {"name": "log_min_duration_statement", "value": "1000"},
                    ]
                },
            ),
        ],
    ),
    "audit-log-retention": (
        [
            resource(LOGS),
            resource(LOGS, {"retentionInDays": DELETE}),
            resource(LOGS, {"retentionInDays": 90}, stack="aws-staging"),
            resource(LOGS, {"name": "/aws/msk/crm-production-kafka", "retentionInDays": 30}),
        ],
        [
            resource(LOGS, {"retentionInDays": 90}),
            resource(LOGS, {"name": "/aws/rds/instance/db/postgresql", "retentionInDays": 180}, stack="aws-dr"),
        ],
    ),
    "data-stores-not-open-to-cluster": (
        [_data_store_stack("pods"), _data_store_stack("cluster", stack="aws-dev"), _data_store_stack("cluster", port=443)],
        [_data_store_stack("cluster"), _data_store_stack("cluster", port=6379)],
    ),
    "cloudsql-audit-logging": (
        [resource(SQL)],
        [
            resource(
                SQL,
                {
                    "settings.databaseFlags": [
                        {"name": "cloudsql.iam_authentication", "value": "on"},
                        {"name": "log_min_duration_statement", "value": "1000"},
                    ]
                },
            ),
            resource(SQL, {"settings.databaseFlags": [*SQL_AUDIT[:1], {"name": "pgaudit.log", "value": "ddl"}, *SQL_AUDIT[2:]]}),
        ],
    ),
    "elasticache-encryption-at-rest": ([resource(REDIS)], [resource(REDIS, {"atRestEncryptionEnabled": False})]),
    "elasticache-encryption-in-transit": ([resource(REDIS)], [resource(REDIS, {"transitEncryptionEnabled": DELETE})]),
    "elasticache-auth": ([resource(REDIS)], [resource(REDIS, {"authToken": DELETE})]),
    "elasticache-failover": (
        [
            resource(REDIS),
            resource(REDIS, {"numCacheClusters": 1, "automaticFailoverEnabled": False, "multiAzEnabled": False}, stack="aws-dev"),
        ],
        [resource(REDIS, {"automaticFailoverEnabled": False})],
    ),
    "eks-endpoint-not-world": (
        [resource(EKS), resource(EKS, {"vpcConfig.endpointPublicAccess": True, "vpcConfig.publicAccessCidrs": ["203.0.113.0/24"]})],
        [resource(EKS, {"vpcConfig.endpointPublicAccess": DELETE})],
    ),
    "eks-secrets-encryption": ([resource(EKS)], [resource(EKS, {"encryptionConfig": DELETE})]),
    "eks-control-plane-logs": ([resource(EKS)], [resource(EKS, {"enabledClusterLogTypes": ["api"]})]),
    "ecr-immutable-tags": (
        [resource("aws:ecr/repository:Repository")],
        [resource("aws:ecr/repository:Repository", {"imageTagMutability": "MUTABLE"})],
    ),
    "ecr-scan-on-push": (
        [resource("aws:ecr/repository:Repository")],
        [resource("aws:ecr/repository:Repository", {"imageScanningConfiguration": DELETE})],
    ),
    "kms-key-policy": (
        [resource("aws:kms/key:Key"), resource("aws:kms/key:Key", {"policy": UNKNOWN})],
        [resource("aws:kms/key:Key", {"policy": DELETE})],
    ),
    "s3-lifecycle-aborts-multipart": (
        [resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")],
        [
            resource(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                {"rules": [{"id": "expire", "status": "Enabled", "expiration": {"days": 90}}]},
            )
        ],
    ),
    "kms-key-rotation": ([resource("aws:kms/key:Key")], [resource("aws:kms/key:Key", {"enableKeyRotation": False})]),
    "sqs-encrypted": (
        [resource("aws:sqs/queue:Queue"), resource("aws:sqs/queue:Queue", {"kmsMasterKeyId": DELETE, "sqsManagedSseEnabled": True})],
        [resource("aws:sqs/queue:Queue", {"kmsMasterKeyId": DELETE})],
    ),
    "sns-encrypted": ([resource("aws:sns/topic:Topic")], [resource("aws:sns/topic:Topic", {"kmsMasterKeyId": DELETE})]),
    "secretsmanager-cmk": (
        [resource("aws:secretsmanager/secret:Secret")],
        [resource("aws:secretsmanager/secret:Secret", {"kmsKeyId": DELETE})],
    ),
    "ssm-sensitive-securestring": (
        [resource("aws:ssm/parameter:Parameter"), resource("aws:ssm/parameter:Parameter", {"name": "/crm/host", "type": "String"})],
        [resource("aws:ssm/parameter:Parameter", {"type": "String"})],
    ),
    "sg-no-world-admin-ports": (
        [resource(SG), resource(SG, {"fromPort": 22, "toPort": 22, "cidrIpv4": "10.0.0.0/8"})],
        [resource(SG, {"fromPort": 22, "toPort": 22})],
    ),
    "sg-no-world-data-ports": ([resource(SG)], [resource(SG, {"fromPort": 5432, "toPort": 5432})]),
    "sg-no-world-all-ports": ([resource(SG)], [resource(SG, {"ipProtocol": "-1", "fromPort": DELETE, "toPort": DELETE})]),
    "subnet-no-public-ip-outside-public": (
        [resource("aws:ec2/subnet:Subnet"), resource("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True, "tags.tier": "public"})],
        [resource("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True, "tags.tier": "data"})],
    ),
    "gke-private-nodes": ([resource(GKE)], [resource(GKE, {"privateClusterConfig": DELETE})]),
    "gke-workload-identity": ([resource(GKE)], [resource(GKE, {"workloadIdentityConfig": DELETE})]),
    "gke-metadata-server": ([resource(POOL)], [resource(POOL, {"nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA"})]),
    "gke-shielded-nodes": ([resource(POOL)], [resource(POOL, {"nodeConfig.shieldedInstanceConfig": DELETE})]),
    "gke-no-default-service-account": (
        [resource(POOL), resource(GKE)],
        [resource(POOL, {"nodeConfig.serviceAccount": "123-compute@developer.gserviceaccount.com"})],
    ),
    "gke-network-policy": (
        [resource(GKE), resource(GKE, {"datapathProvider": DELETE, "networkPolicy": {"enabled": True}})],
        [resource(GKE, {"datapathProvider": "LEGACY_DATAPATH"})],
    ),
    "gke-legacy-abac-off": ([resource(GKE)], [resource(GKE, {"enableLegacyAbac": True})]),
    "gke-client-certificates-off": ([resource(GKE)], [resource(GKE, {"masterAuth.clientCertificateConfig.issueClientCertificate": True})]),
    "gke-authorized-networks": (
        [resource(GKE)],
        [resource(GKE, {"masterAuthorizedNetworksConfig.cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]})],
    ),
    "gke-release-channel": ([resource(GKE)], [resource(GKE, {"releaseChannel": DELETE})]),
    "gke-intranode-visibility": (
        [resource(GKE)],
        [resource(GKE, {"enableIntranodeVisibility": DELETE}), resource(GKE, {"enableIntranodeVisibility": False})],
    ),
    "gke-binary-authorization": (
        [resource(GKE), resource(GKE, {"binaryAuthorization.evaluationMode": UNKNOWN})],
        [resource(GKE, {"binaryAuthorization": DELETE}), resource(GKE, {"binaryAuthorization.evaluationMode": "DISABLED"})],
    ),
    "binauthz-default-deny": (
        [resource(BINAUTHZ), resource(BINAUTHZ, {"defaultAdmissionRule.evaluationMode": "REQUIRE_ATTESTATION"})],
        [
            resource(BINAUTHZ, {"defaultAdmissionRule.evaluationMode": "ALWAYS_ALLOW"}),
            resource(BINAUTHZ, {"defaultAdmissionRule.enforcementMode": "DRYRUN_AUDIT_LOG_ONLY"}),
            resource(BINAUTHZ, {"admissionWhitelistPatterns": [{"namePattern": "docker.io**"}]}),
        ],
    ),
    "gke-secrets-encryption": ([resource(GKE)], [resource(GKE, {"databaseEncryption.state": "DECRYPTED"})]),
    "cloudsql-private": ([resource(SQL)], [resource(SQL, {"settings.ipConfiguration.ipv4Enabled": DELETE})]),
    "cloudsql-ssl-required": ([resource(SQL)], [resource(SQL, {"settings.ipConfiguration.sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"})]),
    "cloudsql-backups-pitr": ([resource(SQL)], [resource(SQL, {"settings.backupConfiguration.pointInTimeRecoveryEnabled": False})]),
    "cloudsql-regional": (
        [resource(SQL), resource(SQL, {"settings.availabilityType": "ZONAL"}, stack="gcp-dev")],
        [resource(SQL, {"settings.availabilityType": "ZONAL"})],
    ),
    "cloudsql-deletion-protection": ([resource(SQL)], [resource(SQL, {"settings.deletionProtectionEnabled": False})]),
    "memorystore-ha": ([resource(MEMORY), resource(MEMORY, {"tier": "BASIC"}, stack="gcp-dev")], [resource(MEMORY, {"tier": "BASIC"})]),
    "memorystore-auth": ([resource(MEMORY)], [resource(MEMORY, {"authEnabled": DELETE})]),
    "memorystore-in-transit-encryption": ([resource(MEMORY)], [resource(MEMORY, {"transitEncryptionMode": "DISABLED"})]),
    "cloud-armor-origin-auth": (
        [resource(ARMOR), resource(ARMOR, {"rules": [UNKNOWN, *GOOD[ARMOR]["rules"][1:]]})],
        [
            resource(ARMOR, {"rules": GOOD[ARMOR]["rules"][1:]}),
            # Mentions the header, but demands nothing: any value, or none, passes.
            resource(
                ARMOR,
                {
                    "rules": [
                        {**ORIGIN_AUTH_RULE, "match": {"expr": {"expression": "request.headers['x-crm-origin-auth'] == ''"}}},
                        *GOOD[ARMOR]["rules"][1:],
                    ]
                },
            ),
            # A guessable value.
            resource(
                ARMOR,
                {
                    "rules": [
                        {**ORIGIN_AUTH_RULE, "match": {"expr": {"expression": "!(request.headers['x-crm-origin-auth'] == 'a')"}}},
                        *GOOD[ARMOR]["rules"][1:],
                    ]
                },
            ),
            # Behind the allow rule it should guard: Cloud Armor stops at the allow.
            resource(ARMOR, {"rules": [{**ORIGIN_AUTH_RULE, "priority": 5000}, *GOOD[ARMOR]["rules"][1:]]}),
        ],
    ),
    "cloud-armor-default-deny": (
        [resource(ARMOR)],
        [
            resource(
                ARMOR,
                {
                    "rules": [
                        ORIGIN_AUTH_RULE,
                        {"action": "allow", "priority": 2147483647, "match": {"config": {"srcIpRanges": ["173.245.48.0/20"]}}},
                    ]
                },
            ),
            resource(
                ARMOR,
                {
                    "rules": [
                        ORIGIN_AUTH_RULE,
                        {"action": "allow", "priority": 1000, "match": {"config": {"srcIpRanges": ["173.245.48.0/20"]}}},
                    ]
                },
            ),
            resource(
                ARMOR,
                {
                    "rules": [
                        ORIGIN_AUTH_RULE,
                        {"action": "allow", "priority": 1000, "match": {"config": {"srcIpRanges": ["0.0.0.0/0"]}}},
                        {"action": "deny(403)", "priority": 2147483647, "match": {"config": {"srcIpRanges": ["*"]}}},
                    ]
                },
            ),
        ],
    ),
    "firewall-no-world-sensitive-ports": (
        [resource(FW), resource(FW, {"allows": DELETE, "denies": [{"protocol": "all"}]})],
        [resource(FW, {"allows": [{"protocol": "tcp", "ports": ["22"]}]})],
    ),
    "gcp-subnet-flow-logs": (
        [resource("gcp:compute/subnetwork:Subnetwork")],
        [resource("gcp:compute/subnetwork:Subnetwork", {"logConfig": DELETE})],
    ),
    "gcp-subnet-private-google-access": (
        [resource("gcp:compute/subnetwork:Subnetwork")],
        [resource("gcp:compute/subnetwork:Subnetwork", {"privateIpGoogleAccess": False})],
    ),
    "vpn-ikev2": ([resource(VPN), resource(TUNNEL)], [resource(TUNNEL, {"ikeVersion": 1})]),
    "vpn-inside-cidrs": ([resource(VPN)], [resource(VPN, {"tunnel2InsideCidr": "169.254.169.252/30"})]),
    "vpn-four-tunnels": ([_vpn_stack(4), []], [_vpn_stack(2)]),
    "cloudflare-lb-proxied": ([resource(BALANCER)], [resource(BALANCER, {"proxied": False})]),
    "cloudflare-waf-managed": (
        [
            [resource(ZONE), resource(RULESET), resource(AOP)],
            [resource(ZONE), resource(RULESET, {"zoneId": UNKNOWN}), resource(AOP)],
            [resource(BALANCER)],
        ],
        [
            [resource(ZONE), resource(AOP)],
            [resource(ZONE), resource(RULESET, {"zoneId": "y" * 32}), resource(AOP)],
            [resource(ZONE), resource(RULESET, {"phase": "http_request_firewall_custom"}), resource(AOP)],
            [
                resource(ZONE),
                resource(
                    RULESET,
                    {"rules": [{"action": "execute", "actionParameters": {"id": "efb7b8c949ac4650a09736fc376e9aee"}, "enabled": False}]},
                ),
                resource(AOP),
            ],
        ],
    ),
    "cloudflare-origin-pulls": (
        [[resource(ZONE), resource(RULESET), resource(AOP)], [resource(ZONE), resource(RULESET), resource(AOP, {"zoneId": UNKNOWN})]],
        [
            [resource(ZONE), resource(RULESET)],
            [resource(ZONE), resource(RULESET), resource(AOP, {"enabled": False})],
            [resource(ZONE), resource(RULESET), resource(AOP, {"zoneId": "y" * 32})],
        ],
    ),
    "kms-customer-managed-keys": (
        [
            resource(t)
            for t in (
                RDS,
                REDIS,
                "aws:ecr/repository:Repository",
                "aws:msk/cluster:Cluster",
                "aws:cloudwatch/logGroup:LogGroup",
                SQL,
                MEMORY,
                "gcp:artifactregistry/repository:Repository",
                "gcp:secretmanager/secret:Secret",
            )
        ]
        + [
            resource(
                "gcp:secretmanager/secret:Secret", {"replication": {"auto": {"customerManagedEncryption": {"kmsKeyName": "projects/p/k"}}}}
            )
        ],
        [
            resource(RDS, {"kmsKeyId": DELETE}),
            resource(REDIS, {"kmsKeyId": DELETE}),
            resource("aws:ecr/repository:Repository", {"encryptionConfigurations": [{"encryptionType": "AES256"}]}),
            resource("aws:msk/cluster:Cluster", {"encryptionInfo": {}}),
            resource("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": DELETE}),
            resource(SQL, {"encryptionKeyName": DELETE}),
            resource(MEMORY, {"customerManagedKey": DELETE}),
            resource("gcp:artifactregistry/repository:Repository", {"kmsKeyName": DELETE}),
            resource("gcp:secretmanager/secret:Secret", {"replication": {"auto": {}}}),
            resource("gcp:secretmanager/secret:Secret", {"replication": {"userManaged": {"replicas": [{"location": "asia-northeast3"}]}}}),
        ],
    ),
    "alb-origin-auth-values": (
        [
            resource(LISTENER_RULE),
            resource(LISTENER_RULE, {"conditions": [{"httpHeader": {"httpHeaderName": "x-crm-origin-auth", "values": ["*"]}}]}),
            resource(LISTENER_RULE, {"conditions": [{"pathPattern": {"values": ["/api/*"]}}]}),
        ],
        [
            resource(LISTENER_RULE, {"conditions": [{"httpHeader": {"httpHeaderName": "x-crm-origin-auth", "values": ["secret"]}}]}),
            resource(
                LISTENER_RULE, {"conditions": [{"httpHeader": {"httpHeaderName": "X-CRM-Origin-Auth", "values": [GENERATED[:40] + "*"]}}]}
            ),
            resource(LISTENER_RULE, {"conditions": [{"httpHeader": {"httpHeaderName": "x-crm-origin-auth", "regexValues": [".*"]}}]}),
        ],
    ),
    "alb-mtls-verify": (
        [resource(LISTENER), resource(LISTENER, {"port": 80, "protocol": "HTTP", "mutualAuthentication": DELETE})],
        [
            resource(LISTENER, {"mutualAuthentication": DELETE}),
            resource(LISTENER, {"mutualAuthentication.mode": "passthrough"}),
            resource(LISTENER, {"mutualAuthentication.trustStoreArn": DELETE}),
        ],
    ),
    "cloudflare-pool-monitored": (
        [resource("cloudflare:index/loadBalancerPool:LoadBalancerPool")],
        [resource("cloudflare:index/loadBalancerPool:LoadBalancerPool", {"monitor": DELETE})],
    ),
    "cloudflare-detection-budget": (
        [resource("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")],
        [resource("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor", {"consecutiveDown": 2})],
    ),
    "stateful-resources-protected": ([[resource(RDS)], [resource(RDS, stack="aws-dev", protect=False)]], [[resource(RDS, protect=False)]]),
    "required-tags": ([[resource(RDS)]], [[resource(RDS, {"tags.role": DELETE})]]),
    "secrets-are-generated": ([_generated_stack(True)], [_generated_stack(False)]),
    "vpc-flow-logs": ([_flow_log_stack(True)], [_flow_log_stack(False)]),
    "oidc-trust-pins-repository": (
        [resource(ROLE), resource(WIP), resource(ROLE, {"assumeRolePolicy": UNKNOWN})],
        [
            _trust({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}),
            resource(WIP, {"attributeCondition": "assertion.repository_owner == 'acme'"}),
            resource(WIP, {"attributeCondition": "assertion.repository == 'acme/crm-infra' || true"}),
        ],
    ),
    "oidc-trust-no-wildcard-subject": (
        [resource(ROLE)],
        [
            _trust(
                {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"},
                }
            ),
            _trust(
                {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"},
                }
            ),
        ],
    ),
    "oidc-trust-audience": (
        [resource(ROLE)],
        [_trust({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/crm-infra:pull_request"}})],
    ),
    "google-trust-pins-account": (
        [
            _google_trust(
                {
                    "accounts.google.com:sub": GOOGLE_ID,
                    "accounts.google.com:aud": GOOGLE_ID,
                    "accounts.google.com:oaud": "sts.amazonaws.com",
                }
            ),
            resource(ROLE, {"assumeRolePolicy": UNKNOWN}),
        ],
        [
            _google_trust({"accounts.google.com:aud": GOOGLE_ID, "accounts.google.com:oaud": "sts.amazonaws.com"}),
            _google_trust({"accounts.google.com:sub": GOOGLE_ID, "accounts.google.com:aud": "sts.amazonaws.com"}),
        ],
    ),
    "no-long-lived-keys": ([resource(ROLE)], [resource("aws:iam/accessKey:AccessKey"), resource("gcp:serviceaccount/key:Key")]),
    "iam-no-wildcard-admin": (
        [resource("aws:iam/rolePolicy:RolePolicy")],
        [
            resource("aws:iam/rolePolicy:RolePolicy", {"policy": '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'}),
            resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ],
    ),
    "msk-durability": (
        [
            resource("aws:msk/cluster:Cluster"),
            resource("aws:msk/topic:Topic"),
            resource("aws:msk/cluster:Cluster", {"numberOfBrokerNodes": UNKNOWN}),
        ],
        [
            resource("aws:msk/cluster:Cluster", {"numberOfBrokerNodes": 2}),
            resource("aws:msk/cluster:Cluster", {"numberOfBrokerNodes": 3}),
            resource("aws:msk/topic:Topic", {"replicationFactor": 2, "configs": '{"min.insync.replicas": "1"}'}),
            resource("aws:msk/topic:Topic", {"configs": "{}"}),
        ],
    ),
    "iam-role-permissions-boundary": (
        [resource(ROLE), _service_role({"permissionsBoundary": BOUNDARY}), _service_role({"permissionsBoundary": UNKNOWN})],
        [
            _service_role({}),
            _service_role({"permissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            _service_role({"permissionsBoundary": "arn:aws:iam::123456789012:policy/crm-wide-open"}),
            _service_role(
                {"permissionsBoundary": "arn:aws:iam::123456789012:policy/other-permissions-boundary", "tags": {"project": "crm"}}
            ),
        ],
    ),
    "iam-delegation-guarded": (
        [resource("aws:iam/rolePolicy:RolePolicy"), _delegating_policy(GUARDED_DELEGATION)],
        [
            _delegating_policy([{"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:role/crm-*"}]),
            _delegating_policy([{**GUARDED_DELEGATION[0], "Condition": {}}]),
            _delegating_policy([{**GUARDED_DELEGATION[1], "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}}}]),
            _delegating_policy([{**GUARDED_DELEGATION[2], "Condition": {}}]),
            _delegating_policy([{"Effect": "Allow", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"}]),
            # Named, but not restricted: wildcards, a *Like operator that reads them, IfExists, a negation.
            _delegating_policy(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["iam:CreateRole", "iam:AttachRolePolicy", "iam:PassRole"],
                        "Resource": "arn:aws:iam::123456789012:role/crm-*",
                        "Condition": {"StringLike": {"iam:PermissionsBoundary": "*", "iam:PolicyARN": "*", "iam:PassedToService": "*"}},
                    }
                ]
            ),
            _delegating_policy(
                [{**GUARDED_DELEGATION[0], "Condition": {"ArnEquals": {"iam:PermissionsBoundary": "arn:aws:iam::*:policy/*"}}}]
            ),
            _delegating_policy([{**GUARDED_DELEGATION[0], "Condition": {"ArnEqualsIfExists": {"iam:PermissionsBoundary": BOUNDARY}}}]),
            _delegating_policy([{**GUARDED_DELEGATION[0], "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": BOUNDARY}}}]),
        ],
    ),
    "s3-bucket-encrypted": ([_bucket_stack()], [_bucket_stack(without=S3_PARTS[0])]),
    "s3-bucket-versioned": ([_bucket_stack()], [_bucket_stack({S3_PARTS[1]: {"versioningConfiguration.status": "Suspended"}})]),
    "s3-bucket-public-access-blocked": (
        [_bucket_stack()],
        [_bucket_stack({S3_PARTS[2]: {"restrictPublicBuckets": False}}), _bucket_stack(without=S3_PARTS[2])],
    ),
    "state-bucket-kms": (
        [_bucket_stack(), [resource(GCS)], [resource(GCS, {"encryption": DELETE, "labels.purpose": "access-logs"})]],
        [
            _bucket_stack({S3_PARTS[0]: {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}}),
            [resource(GCS, {"encryption": DELETE})],
        ],
    ),
    "gcs-bucket-private": (
        [resource(GCS)],
        [resource(GCS, {"publicAccessPrevention": "inherited"}), resource(GCS, {"uniformBucketLevelAccess": DELETE})],
    ),
    "gcs-bucket-versioned": ([resource(GCS)], [resource(GCS, {"versioning.enabled": False})]),
    "alarms-notify": (
        [
            [resource(ALARM, {"alarmActions": [TOPIC]})],
            [resource(POLICY, {"notificationChannels": ["projects/p/notificationChannels/1"]}, stack="gcp-production")],
            _burn_alarm_pair(name="latency-slow-burn"),
        ],
        [
            [resource(ALARM, {"alarmActions": []})],
            [resource(POLICY, {}, stack="gcp-production")],
            # the composite alarm does not read the silent one, so nothing hears it
            _burn_alarm_pair(name="latency-slow-burn", names_its_input=False),
        ],
    ),
    "slo-alerted": (
        [_slo_stack(), _watched_stack()],
        [_slo_stack(alerted=False), _watched_stack(burn_alarms=False)],
    ),
    "fis-stop-condition": (
        [resource(FIS_TEMPLATE)],
        [resource(FIS_TEMPLATE, {"stopConditions": [{"source": "none"}]}), resource(FIS_TEMPLATE, {"stopConditions": DELETE})],
    ),
    "fis-bounded-duration": (
        [
            resource(FIS_TEMPLATE),
            resource(FIS_TEMPLATE, {"actions": [{"name": "fail-over", "actionId": "aws:rds:reboot-db-instances", "parameters": []}]}),
        ],
        [
            resource(
                FIS_TEMPLATE,
                {
                    "actions": [
                        {
                            "name": "cut",
                            "actionId": "aws:network:disrupt-connectivity",
                            "parameters": [{"key": "duration", "value": "PT2H"}],
                        }
                    ]
                },
            ),
            resource(FIS_TEMPLATE, {"actions": [{"name": "stress", "actionId": "aws:ssm:send-command", "parameters": []}]}),
        ],
    ),
    "fis-role-scoped": (
        [_fis_stack(), [resource(FIS_TEMPLATE)]],
        [
            _fis_stack(statements=[{"Effect": "Allow", "Action": "ec2:ReplaceNetworkAclAssociation", "Resource": "*"}]),
            _fis_stack(
                statements=[{"Effect": "Allow", "Action": "ec2:*", "Resource": "arn:aws:ec2:ap-northeast-2:123456789012:subnet/subnet-1"}]
            ),
            _fis_stack(trust={**FIS_TRUST, "Statement": [{**FIS_TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}]}),
            _fis_stack(attached=True),
            _fis_stack(role_arn="arn:aws:iam::123456789012:role/made-elsewhere"),
        ],
    ),
    "estate-watched": (
        [_watched_stack(), [resource(RANDOM, name="only-a-password")]],
        [_watched_stack(subscriber=False), _watched_stack(alarm=False), _watched_stack(budget=False)],
    ),
    "eks-network-policy-enforced": (
        [_network_policy_stack(True), [resource(EKS, name="eks")]],
        [_network_policy_stack(False), _network_policy_stack(None)],
    ),
    "k8s-no-privileged-containers": (
        [resource(DEPLOY)],
        [
            resource(DEPLOY, {CONTAINER: _container(securityContext={"privileged": True, "allowPrivilegeEscalation": False})}),
            resource(DEPLOY, {CONTAINER: _container(securityContext={"privileged": False})}),
            resource(DEPLOY, {"spec.template.spec.securityContext": {}}),
        ],
    ),
    "k8s-no-host-namespaces": (
        [resource(DEPLOY)],
        [resource(DEPLOY, {"spec.template.spec.hostNetwork": True}), resource(DEPLOY, {"spec.template.spec.hostPID": True})],
    ),
    "k8s-resource-limits": (
        [resource(DEPLOY)],
        [
            resource(DEPLOY, {CONTAINER: _container(resources={"requests": {"cpu": "1", "memory": "1Gi"}})}),
            resource(DEPLOY, {CONTAINER: _container(resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1"}})}),
        ],
    ),
    "k8s-network-policy": ([_namespace_stack(True), [resource(DEPLOY)]], [_namespace_stack(False)]),
}
