"""The bucket every stack's Pulumi state lives in: S3 (the default) or GCS, with the same guarantees.

Both are versioned (a bad write or delete of a checkpoint can be rolled back), encrypted with a
customer-managed key that rotates, closed to the public, logged to a bucket of their own, and keep
old versions for a bounded time. S3 answers concurrent changes to one bucket's sub-resources with
409 OperationAborted, so every sub-resource waits for the one before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws.private_bucket import PrivateBucket, PrivateBucketArgs, ServerAccessLogs
from components.base import Component
from components.naming import keep_existing_name, suffixed

from .key_policy import deployer_key_policy

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

    backend_url: pulumi.Output[str]  # what `pulumi login` takes
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    log_bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: S3StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
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

        # Moved from this component into PrivateBucket, named as before: aliases keep the deployed buckets.
        self.bucket = PrivateBucket(
            name,
            PrivateBucketArgs(
                tags={**tags, "purpose": "state"},
                kms_key_arn=self.key.arn,
                noncurrent_version_days=args.noncurrent_version_days,
                access_logs=ServerAccessLogs(retention_days=args.log_retention_days, key_prefix="state/"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.bucket_name = self.bucket.bucket_name
        self.bucket_arn = self.bucket.bucket_arn
        self.log_bucket_arn = self.bucket.log_bucket_arn  # type: ignore[assignment]  # set: access_logs is given
        self.key_arn = self.key.arn
        self.backend_url = pulumi.Output.concat("s3://", self.bucket_name, f"?region={args.region}")
        self.register_outputs(
            {
                "backendUrl": self.backend_url,
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "logBucketArn": self.log_bucket_arn,
                "keyArn": self.key_arn,
            }
        )


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

    backend_url: pulumi.Output[str]  # what `pulumi login` takes

    def __init__(self, name: str, args: GcsStateBackendArgs, opts: pulumi.ResourceOptions | None = None):
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
