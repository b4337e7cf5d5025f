"""Rules over a whole stack: protection of stateful resources, tags and labels, generated secrets, flow logs."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import Severity

from .base import ADVISORY, MANDATORY, UNKNOWN, Resource, Rule

STATEFUL_TYPES = {
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:secretsmanager/secret:Secret",
    "aws:ecr/repository:Repository",
    "aws:eks/cluster:Cluster",
    "aws:msk/cluster:Cluster",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:redis/instance:Instance",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:kms/keyRing:KeyRing",
    "gcp:container/cluster:Cluster",
    "gcp:artifactregistry/repository:Repository",
    "gcp:secretmanager/secret:Secret",
    "gcp:storage/bucket:Bucket",
}
REQUIRED_TAGS = ("project", "environment", "managed-by", "role")
# Where each taggable type keeps its tags or labels.
TAG_PATHS = {
    "aws:ec2/vpc:Vpc": "tags",
    "aws:ec2/subnet:Subnet": "tags",
    "aws:ec2/securityGroup:SecurityGroup": "tags",
    "aws:rds/instance:Instance": "tags",
    "aws:elasticache/replicationGroup:ReplicationGroup": "tags",
    "aws:eks/cluster:Cluster": "tags",
    "aws:kms/key:Key": "tags",
    "aws:s3/bucket:Bucket": "tags",
    "aws:sqs/queue:Queue": "tags",
    "aws:sns/topic:Topic": "tags",
    "aws:secretsmanager/secret:Secret": "tags",
    "aws:lb/loadBalancer:LoadBalancer": "tags",
    "aws:msk/cluster:Cluster": "tags",
    "aws:ecr/repository:Repository": "tags",
    "gcp:container/cluster:Cluster": "resourceLabels",
    "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
    "gcp:redis/instance:Instance": "labels",
    "gcp:kms/cryptoKey:CryptoKey": "labels",
    "gcp:artifactregistry/repository:Repository": "labels",
    "gcp:secretmanager/secret:Secret": "labels",
    "gcp:compute/globalAddress:GlobalAddress": "labels",
    "gcp:storage/bucket:Bucket": "labels",
}
GENERATED = "random:index/randomPassword:RandomPassword"
# (type, property) whose value must be generated or managed, never typed in.
GENERATED_SECRETS = {
    "aws:rds/instance:Instance": ("password",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("authToken",),
    "gcp:sql/user:User": ("password",),
    "aws:ec2/vpnConnection:VpnConnection": ("tunnel1PresharedKey", "tunnel2PresharedKey"),
    "gcp:compute/vPNTunnel:VPNTunnel": ("sharedSecret",),
}


def _stateful(resource: Resource) -> bool:
    if resource.type == "gcp:compute/globalAddress:GlobalAddress":
        return resource.get("addressType") == "EXTERNAL"  # the origin Cloudflare points at
    return resource.type in STATEFUL_TYPES


def protected(resources: Sequence[Resource]):
    for r in resources:
        if _stateful(r) and r.environment != "dev" and not r.protect:
            yield f"{r.describe()}: stateful, so it must be protected (protect=True) outside dev"


def tagged(resources: Sequence[Resource]):
    for r in resources:
        path = TAG_PATHS.get(r.type)
        if path is None:
            continue
        tags = r.get(path)
        if tags is UNKNOWN:
            continue
        missing = [t for t in REQUIRED_TAGS if not isinstance(tags, dict) or t not in tags]
        if missing:
            yield f"{r.describe()}: {path} is missing {', '.join(missing)}"


def generated(resources: Sequence[Resource]):
    by_urn = {r.urn: r for r in resources}
    for r in resources:
        for prop in GENERATED_SECRETS.get(r.type, ()):
            if r.type == "aws:rds/instance:Instance" and r.get("manageMasterUserPassword") is True:
                continue
            if r.get(prop) is None or r.get(prop) is UNKNOWN:
                continue  # unset (the service generates it) or another resource's output, so not typed in
            sources = r.property_dependencies.get(prop) or (r.dependencies if not r.property_dependencies else [])
            if not any(by_urn.get(urn) is not None and by_urn[urn].type == GENERATED for urn in sources):
                # The value itself is never printed: only where it came from.
                yield f"{r.describe()}: {prop} is not generated (no random.RandomPassword behind it); generate it or let the service manage it"


def flow_logs(resources: Sequence[Resource]):
    flow_logs = [r for r in resources if r.type == "aws:ec2/flowLog:FlowLog"]
    for vpc in (r for r in resources if r.type == "aws:ec2/vpc:Vpc"):
        covered = any(vpc.urn in (f.property_dependencies.get("vpcId") or f.dependencies) for f in flow_logs)
        if not covered:
            yield f"{vpc.describe()}: no aws.ec2.FlowLog records this VPC's traffic"


RULES = [
    Rule(
        "stateful-resources-protected",
        "Databases, caches, keys, buckets, registries, clusters and secrets are protected outside dev",
        Severity.CRITICAL,
        MANDATORY,
        "resource option; unset means unprotected",
        stack_check=protected,
    ),
    Rule(
        "required-tags",
        "Taggable resources carry project, environment, managed-by and role",
        Severity.LOW,
        ADVISORY,
        "fails closed; a value known only after deploy is not judged",
        stack_check=tagged,
    ),
    Rule(
        "secrets-are-generated",
        "Passwords, AUTH tokens and VPN keys come from a generator, never from a literal or plain config",
        Severity.CRITICAL,
        MANDATORY,
        "an unset value is not judged (the provider or service generates one)",
        stack_check=generated,
    ),
    Rule("vpc-flow-logs", "Every VPC has flow logs", Severity.MEDIUM, ADVISORY, "fails closed", stack_check=flow_logs),
]
