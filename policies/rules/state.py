"""Rules for buckets, the Pulumi state bucket above all: encrypted, versioned, never public."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import Severity

from .base import MANDATORY, UNKNOWN, Resource, Rule

S3_BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _for_bucket(resources: Sequence[Resource], type_: str, bucket: Resource) -> list[Resource]:
    """The sub-resources of a type whose `bucket` input comes from this bucket."""
    found = []
    for r in resources:
        if r.type != type_:
            continue
        sources = r.property_dependencies.get("bucket") or (r.dependencies if not r.property_dependencies else [])
        if bucket.urn in sources or r.get("bucket") in (bucket.get("bucket"), bucket.name):
            found.append(r)
    return found


def _default_encryption(sse: Resource) -> dict:
    rules = sse.get("rules") or []
    first = rules[0] if isinstance(rules, list) and rules and isinstance(rules[0], dict) else {}
    return first.get("applyServerSideEncryptionByDefault") or {}


def s3_encrypted(resources: Sequence[Resource]):
    for bucket in (r for r in resources if r.type == S3_BUCKET):
        if not any(_default_encryption(sse).get("sseAlgorithm") for sse in _for_bucket(resources, SSE, bucket)):
            yield f"{bucket.describe()}: no BucketServerSideEncryptionConfiguration sets its default encryption"


def s3_versioned(resources: Sequence[Resource]):
    for bucket in (r for r in resources if r.type == S3_BUCKET):
        if not any((v.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in _for_bucket(resources, VERSIONING, bucket)):
            yield f"{bucket.describe()}: no BucketVersioning with status Enabled (a bad write or delete could not be undone)"


def s3_public_access_blocked(resources: Sequence[Resource]):
    for bucket in (r for r in resources if r.type == S3_BUCKET):
        if not any(all(b.get(flag) is True for flag in BLOCKS) for b in _for_bucket(resources, ACCESS_BLOCK, bucket)):
            yield f"{bucket.describe()}: no BucketPublicAccessBlock with {', '.join(BLOCKS)} all true"


def state_bucket_kms(resources: Sequence[Resource]):
    for bucket in resources:
        if bucket.type == S3_BUCKET and (bucket.get("tags") or {}).get("purpose") == "state":
            encryptions = [_default_encryption(sse) for sse in _for_bucket(resources, SSE, bucket)]
            if encryptions and not any(e.get("sseAlgorithm") == "aws:kms" and e.get("kmsMasterKeyId") for e in encryptions):
                yield f"{bucket.describe()}: holds Pulumi state, so it is encrypted with a customer-managed KMS key (aws:kms with kmsMasterKeyId)"
        elif (
            bucket.type == GCS_BUCKET
            and (bucket.get("labels") or {}).get("purpose") == "state"
            and not (bucket.get("encryption") or {}).get("defaultKmsKeyName")
        ):
            yield f"{bucket.describe()}: holds Pulumi state, so encryption.defaultKmsKeyName names a Cloud KMS key"


def gcs_private(r: Resource):
    if r.get("uniformBucketLevelAccess") is not True:
        yield "uniformBucketLevelAccess must be true (no object ACLs)"
    if r.get("publicAccessPrevention") not in ("enforced", UNKNOWN):
        yield "publicAccessPrevention must be 'enforced'"


def gcs_versioned(r: Resource):
    if (r.get("versioning") or {}).get("enabled") is not True:
        yield "versioning.enabled must be true (a bad write or delete could not be undone)"


RULES = [
    Rule(
        "s3-bucket-encrypted",
        "S3 buckets have default encryption",
        Severity.HIGH,
        MANDATORY,
        "fails closed: a bucket without a BucketServerSideEncryptionConfiguration fails",
        stack_check=s3_encrypted,
    ),
    Rule(
        "s3-bucket-versioned",
        "S3 buckets are versioned",
        Severity.HIGH,
        MANDATORY,
        "fails closed: a bucket without an enabled BucketVersioning fails",
        stack_check=s3_versioned,
    ),
    Rule(
        "s3-bucket-public-access-blocked",
        "S3 buckets block every kind of public access",
        Severity.CRITICAL,
        MANDATORY,
        "fails closed: a bucket without a BucketPublicAccessBlock fails",
        stack_check=s3_public_access_blocked,
    ),
    Rule(
        "state-bucket-kms",
        "Buckets that hold Pulumi state (purpose=state) are encrypted with a customer-managed key",
        Severity.HIGH,
        MANDATORY,
        "fails closed for GCS; an S3 bucket without encryption is s3-bucket-encrypted's finding",
        stack_check=state_bucket_kms,
    ),
    Rule(
        "gcs-bucket-private",
        "GCS buckets use uniform access and enforce public access prevention",
        Severity.CRITICAL,
        MANDATORY,
        "fails closed (provider default: ACLs allowed, prevention inherited)",
        (GCS_BUCKET,),
        gcs_private,
    ),
    Rule(
        "gcs-bucket-versioned",
        "GCS buckets keep object versions",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default off)",
        (GCS_BUCKET,),
        gcs_versioned,
    ),
]
