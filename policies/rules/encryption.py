"""Customer-managed keys on every data store the estate creates.

Each store names a KMS key of ours (AWS KMS or Cloud KMS) instead of the provider's default
(AWS-owned or AWS-managed keys, Google-managed encryption): rotation, key policy, audit and
crypto-shredding stay in our hands. Types with a rule of their own are judged there
(eks-secrets-encryption, gke-secrets-encryption, secretsmanager-cmk, sqs-encrypted,
sns-encrypted, state-bucket-kms). Not judged: S3 buckets written by Elastic Load Balancing
(access logs support SSE-S3 only) and the trust-store bucket holding public certificates.
"""

from __future__ import annotations

from pulumi_policy import Severity

from .base import MANDATORY, Resource, Rule, is_set

RDS = "aws:rds/instance:Instance"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
ECR = "aws:ecr/repository:Repository"
MSK = "aws:msk/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
MEMORYSTORE = "gcp:redis/instance:Instance"
ARTIFACT_REGISTRY = "gcp:artifactregistry/repository:Repository"
SECRET_MANAGER = "gcp:secretmanager/secret:Secret"

# type -> the property that names the key
KEY_PROPERTY = {
    RDS: "kmsKeyId",
    ELASTICACHE: "kmsKeyId",
    MSK: "encryptionInfo.encryptionAtRestKmsKeyArn",
    LOG_GROUP: "kmsKeyId",
    CLOUD_SQL: "encryptionKeyName",
    MEMORYSTORE: "customerManagedKey",
    ARTIFACT_REGISTRY: "kmsKeyName",
}


def _ecr(r: Resource):
    configs = r.get("encryptionConfigurations") or []
    config = configs[0] if configs and isinstance(configs[0], dict) else {}
    if config.get("encryptionType") != "KMS" or not is_set(config.get("kmsKey")):
        yield "encryptionConfigurations must be encryptionType KMS with a kmsKey of ours (the default is AES256)"


def _secret_manager(r: Resource):
    replication = r.get("replication") or {}
    auto = replication.get("auto")
    if isinstance(auto, dict):
        if not is_set((auto.get("customerManagedEncryption") or {}).get("kmsKeyName")):
            yield "replication.auto.customerManagedEncryption.kmsKeyName must be set"
        return
    replicas = (replication.get("userManaged") or {}).get("replicas") or []
    if not replicas:
        yield "replication must name its replicas with a customer-managed key each"
    for i, replica in enumerate(replicas):
        if not is_set(((replica or {}).get("customerManagedEncryption") or {}).get("kmsKeyName")):
            yield f"replication.userManaged.replicas[{i}] ({(replica or {}).get('location')}) has no customerManagedEncryption.kmsKeyName"


def customer_managed_key(r: Resource):
    if r.type == ECR:
        yield from _ecr(r)
    elif r.type == SECRET_MANAGER:
        yield from _secret_manager(r)
    elif not is_set(r.get(KEY_PROPERTY[r.type])):
        yield f"{KEY_PROPERTY[r.type]} must name a customer-managed key (without it the provider's own key encrypts the data)"


RULES = [
    Rule(
        "kms-customer-managed-keys",
        "Data stores are encrypted with our own KMS keys",
        Severity.HIGH,
        MANDATORY,
        "fails closed (every store's default is a provider-managed key)",
        (*KEY_PROPERTY, ECR, SECRET_MANAGER),
        customer_managed_key,
    ),
]
