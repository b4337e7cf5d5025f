"""The bucket every stack's Pulumi state lives in: S3 (the default) or GCS, with the same guarantees.

Both are versioned (a bad write or delete of a checkpoint can be rolled back), encrypted with a
customer-managed key that rotates, closed to the public, logged to a bucket of their own, and keep
old versions for a bounded time. S3 answers concurrent changes to one bucket's sub-resources with
409 OperationAborted, so every sub-resource waits for the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws.iam import policy_document

from .key_policy import deployer_key_policy
from components.base import Component
from components.naming import keep_existing_name, suffixed

LOCKS_PREFIX = ".pulumi/locks/"


def _check_days(noncurrent_version_days: int, log_retention_days: int) -> None:
    if not 1 <= noncurrent_version_days <= 3650:
        raise ValueError(f"noncurrent_version_days must be 1-3650, got {noncurrent_version_days}")
    if not 1 <= log_retention_days <= 3650:
        raise ValueError(f"log_retention_days must be 1-3650, got {log_retention_days}")


# ---------------------------------------------------------------- S3


@dataclass
class S3StateBackendArgs:
    region: str
    tags: Mapping[str, str]
    key_users: Sequence[pulumi.Input[str]]  # IAM principal ARNs that read and write state (deployers, preview, operators)
    noncurrent_version_days: int = 90
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        _check_days(self.noncurrent_version_days, self.log_retention_days)
        if not self.key_users:
            raise ValueError("key_users must name at least one principal, or nobody could read the state")


class S3StateBackend(Component):
    """A KMS-encrypted, versioned, private S3 bucket with TLS-only access and server access logs."""

    def __init__(self, name: str, args: S3StateBackendArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:bootstrap:S3StateBackend", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        tags = dict(args.tags)
        stateful = pulumi.ResourceOptions(parent=self, protect=self.protected)

        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: encrypts the Pulumi state bucket",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(partition, account_id, pulumi.Output.all(*args.key_users)).apply(
                lambda a: deployer_key_policy(a[0], a[1], a[2])
            ),
            tags={**tags, "purpose": "state"},
            opts=stateful,
        )
        aws.kms.Alias(f"{name}-key", name=f"alias/{name}", target_key_id=self.key.key_id, opts=pulumi.ResourceOptions(parent=self))

        logs = aws.s3.Bucket(f"{name}-logs", force_destroy=False, tags={**tags, "purpose": "access-logs"}, opts=stateful)
        last = self._harden(f"{name}-logs", logs, {"sse_algorithm": "AES256"})  # S3 log delivery writes SSE-S3 only
        last = aws.s3.BucketLifecycleConfiguration(
            f"{name}-logs",
            bucket=logs.id,
            rules=[
                {
                    "id": "expire-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 7},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[last]),
        )

        self.bucket = aws.s3.Bucket(name, force_destroy=False, tags={**tags, "purpose": "state"}, opts=stateful)
        log_policy = aws.s3.BucketPolicy(
            f"{name}-logs",
            bucket=logs.id,
            policy=pulumi.Output.all(logs.arn, self.bucket.arn, account_id).apply(
                lambda a: policy_document(
                    [
                        {
                            "Sid": "S3LogDelivery",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": f"{a[0]}/state/*",
                            "Condition": {"ArnLike": {"aws:SourceArn": a[1]}, "StringEquals": {"aws:SourceAccount": a[2]}},
                        },
                        _tls_only(a[0]),
                    ]
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[last]),
        )
        last = self._harden(name, self.bucket, {"sse_algorithm": "aws:kms", "kms_master_key_id": self.key.arn})
        last = aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[last]),
        )
        last = aws.s3.BucketLogging(
            name,
            bucket=self.bucket.id,
            target_bucket=logs.id,
            target_prefix="state/",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[last, log_policy]),
        )
        aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(lambda arn: policy_document([_tls_only(arn)])),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[last]),
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.log_bucket_arn = logs.arn
        self.key_arn = self.key.arn
        self.backend_url = pulumi.Output.concat("s3://", self.bucket.bucket, f"?region={args.region}")
        self.register_outputs({"backendUrl": self.backend_url, "bucketArn": self.bucket_arn, "keyArn": self.key_arn})

    def _harden(self, name: str, bucket: aws.s3.Bucket, encryption: dict) -> pulumi.Resource:
        """Public access block -> ownership -> default encryption -> versioning, one after another."""
        access = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        ownership = aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access]),
        )
        sse = aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": encryption, "bucket_key_enabled": encryption["sse_algorithm"] == "aws:kms"}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ownership]),
        )
        return aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sse]),
        )


def _tls_only(bucket_arn: str) -> dict:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# ---------------------------------------------------------------- GCS


@dataclass
class GcsStateBackendArgs:
    project: str
    location: str
    labels: Mapping[str, str]
    writers: Sequence[pulumi.Input[str]]  # IAM members that read and write state (deployers, operators)
    preview_members: Sequence[pulumi.Input[str]] = field(default_factory=list)  # read all, write only lock files
    noncurrent_version_days: int = 90
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        _check_days(self.noncurrent_version_days, self.log_retention_days)
        if not self.writers:
            raise ValueError("writers must name at least one member, or nobody could write the state")


class GcsStateBackend(Component):
    """A CMEK-encrypted, versioned GCS bucket with uniform access, public access prevention and usage logs."""

    def __init__(self, name: str, args: GcsStateBackendArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:bootstrap:GcsStateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=self.protected)
        labels = dict(args.labels)

        # Key rings are never deleted: the name carries a suffix drawn once per incarnation of the stack, and a ring
        # created before the suffix keeps its recorded name (components/naming.py).
        ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=suffixed(name, f"{name}-ring", self),
            project=args.project,
            location=args.location,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(ignore_changes=keep_existing_name())),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            name="state",
            key_ring=ring.id,
            rotation_period="7776000s",
            purpose="ENCRYPT_DECRYPT",
            labels={**labels, "purpose": "state"},
            opts=stateful,
        )
        storage_agent = gcp.storage.get_project_service_account_output(project=args.project, opts=pulumi.InvokeOutputOptions(parent=self))
        agent_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-storage",
            crypto_key_id=self.key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=storage_agent.email_address.apply(lambda email: f"serviceAccount:{email}"),
            opts=child,
        )

        logs = gcp.storage.Bucket(
            f"{name}-logs",
            project=args.project,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            force_destroy=False,
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": args.log_retention_days}}],
            labels={**labels, "purpose": "access-logs"},
            opts=stateful,
        )
        # Usage logs are written by this Google group; uniform access means an IAM grant, not an ACL.
        log_writer = gcp.storage.BucketIAMMember(
            f"{name}-logs-writer",
            bucket=logs.name,
            role="roles/storage.objectCreator",
            member="group:cloud-storage-analytics@google.com",
            opts=child,
        )
        self.bucket = gcp.storage.Bucket(
            name,
            project=args.project,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            force_destroy=False,
            encryption={"default_kms_key_name": self.key.id},
            lifecycle_rules=[
                {
                    "action": {"type": "Delete"},
                    "condition": {"days_since_noncurrent_time": args.noncurrent_version_days, "with_state": "ARCHIVED"},
                },
                {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}},
            ],
            logging={"log_bucket": logs.name, "log_object_prefix": "state"},
            labels={**labels, "purpose": "state"},
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected, depends_on=[agent_grant, log_writer]),
        )
        for i, member in enumerate(args.writers):
            gcp.storage.BucketIAMMember(
                f"{name}-writer-{i}", bucket=self.bucket.name, role="roles/storage.objectUser", member=member, opts=child
            )
        for i, member in enumerate(args.preview_members):
            gcp.storage.BucketIAMMember(
                f"{name}-reader-{i}", bucket=self.bucket.name, role="roles/storage.objectViewer", member=member, opts=child
            )
            gcp.storage.BucketIAMMember(
                f"{name}-locks-{i}",
                bucket=self.bucket.name,
                role="roles/storage.objectUser",
                member=member,
                condition={
                    "title": "lock-files-only",
                    "description": "preview writes only Pulumi's lock files",
                    "expression": self.bucket.name.apply(
                        lambda b: f'resource.name.startsWith("projects/_/buckets/{b}/objects/{LOCKS_PREFIX}")'
                    ),
                },
                opts=child,
            )

        self.bucket_name = self.bucket.name
        self.key_id = self.key.id
        self.backend_url = pulumi.Output.concat("gs://", self.bucket.name)
        self.register_outputs({"backendUrl": self.backend_url, "keyId": self.key_id})
