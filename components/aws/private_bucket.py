"""A private S3 bucket with the estate's hardening, for every bucket the programs create.

Public access blocked, objects owned by the bucket owner (no ACLs), default encryption (SSE-S3, or
SSE-KMS with a bucket key), versioning, an optional lifecycle, a bucket policy that refuses plain
HTTP, and optionally server access logs to a log bucket of its own (built the same way). S3
applies one configuration change to a bucket at a time and answers 409 OperationAborted to the
others, so each step waits for the one before it; `bucket_name` is known only once the last step
exists (and `bucket_id`, the same value), so whatever reads them (an object, a load balancer's
access logs) waits for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.iam import policy_document
from components.base import Component, ready_after

ABORT_INCOMPLETE_UPLOADS_DAYS = 7
LOG_NONCURRENT_VERSION_DAYS = 7


def _check_days(key: str, days: int | None) -> None:
    if days is not None and not 1 <= days <= 3650:
        raise ValueError(f"{key} must be 1-3650 days, got {days}")


@dataclass
class ObjectWriter:
    """A principal that may put objects under `key_prefix` (a service delivering logs, say)."""

    sid: str
    principal: pulumi.Input[Mapping[str, pulumi.Input[str]]]  # {"AWS": arn} or {"Service": name}
    key_prefix: str


@dataclass
class ServerAccessLogs:
    """Server access logs to a private bucket of their own (SSE-S3: S3 log delivery writes nothing else)."""

    retention_days: int
    key_prefix: str

    def __post_init__(self) -> None:
        _check_days("retention_days", self.retention_days)
        if not self.key_prefix.endswith("/"):
            raise ValueError(f"the access logs' key_prefix must end with '/', got '{self.key_prefix}'")


@dataclass
class PrivateBucketArgs:
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str] | None = None  # SSE-KMS with this key; None: SSE-S3 (ALB and S3 log delivery accept only that)
    expiration_days: int | None = None  # current objects expire after this many days (logs); None: kept
    noncurrent_version_days: int | None = None  # old versions expire after this many days; None: kept
    writers: Sequence[ObjectWriter] = field(default_factory=list)
    access_logs: ServerAccessLogs | None = None

    def __post_init__(self) -> None:
        _check_days("expiration_days", self.expiration_days)
        _check_days("noncurrent_version_days", self.noncurrent_version_days)
        sids = [w.sid for w in self.writers]
        if len(set(sids)) != len(sids) or "TlsOnly" in sids:
            raise ValueError(f"the bucket policy's writers need distinct Sids other than TlsOnly, got {sids}")


class PrivateBucket(Component):
    """A hardened, versioned, TLS-only S3 bucket (and its access-log bucket when asked), named after the component.

    The buckets and their sub-resources were first created by the callers themselves, under the
    same names: each child carries an alias to the caller (this component's parent), so moving them
    here replaces nothing.
    """

    bucket_id: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    log_bucket_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:PrivateBucket", name, None, opts)
        caller = opts.parent if opts is not None else None
        self._moved_from = [pulumi.Alias(parent=caller)] if caller is not None else []
        tags = dict(args.tags)

        logs: aws.s3.Bucket | None = None
        log_steps: pulumi.Resource | None = None
        if args.access_logs is not None:
            logs = self._bucket(f"{name}-logs", {**tags, "purpose": "access-logs"})
            log_steps = self._lifecycle(
                f"{name}-logs",
                logs,
                self._harden(f"{name}-logs", logs, None),
                "expire-logs",
                args.access_logs.retention_days,
                LOG_NONCURRENT_VERSION_DAYS,
            )

        self.bucket = self._bucket(name, tags)
        log_policy: aws.s3.BucketPolicy | None = None
        if logs is not None and log_steps is not None and args.access_logs is not None:
            account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
            prefix = args.access_logs.key_prefix
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
                                "Resource": f"{a[0]}/{prefix}*",
                                "Condition": {"ArnLike": {"aws:SourceArn": a[1]}, "StringEquals": {"aws:SourceAccount": a[2]}},
                            },
                            tls_only(a[0]),
                        ]
                    )
                ),
                opts=self._after(log_steps),
            )

        last = self._harden(name, self.bucket, args.kms_key_arn)
        if args.expiration_days is not None or args.noncurrent_version_days is not None:
            rule_id = "expire" if args.expiration_days is not None else "expire-old-versions"
            last = self._lifecycle(name, self.bucket, last, rule_id, args.expiration_days, args.noncurrent_version_days)
        if logs is not None and log_policy is not None and args.access_logs is not None:
            last = aws.s3.BucketLogging(
                name,
                bucket=self.bucket.id,
                target_bucket=logs.id,
                target_prefix=args.access_logs.key_prefix,
                opts=self._after(last, log_policy),
            )
        writers = list(args.writers)
        policy = aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, [w.principal for w in writers]).apply(
                lambda a: policy_document(
                    [
                        *(
                            {
                                "Sid": w.sid,
                                "Effect": "Allow",
                                "Principal": principal,
                                "Action": "s3:PutObject",
                                "Resource": f"{a[0]}/{w.key_prefix}*",
                            }
                            for w, principal in zip(writers, a[1])
                        ),
                        tls_only(a[0]),
                    ]
                )
            ),
            opts=self._after(last),
        )

        # The same value (S3's id is the name), as each reader has taken it so far: a changed input would replace an object.
        self.bucket_id = ready_after(self.bucket.id, policy)
        self.bucket_name = ready_after(self.bucket.bucket, policy)
        self.bucket_arn = self.bucket.arn
        self.log_bucket_arn = logs.arn if logs is not None else None
        outputs: dict[str, Any] = {"bucketId": self.bucket_id, "bucketName": self.bucket_name, "bucketArn": self.bucket_arn}
        if self.log_bucket_arn is not None:
            outputs["logBucketArn"] = self.log_bucket_arn
        self.register_outputs(outputs)

    def _after(self, *previous: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(previous), aliases=self._moved_from)

    def _bucket(self, name: str, tags: Mapping[str, str]) -> aws.s3.Bucket:
        # Protected (outside dev), a bucket keeps its objects; unprotected, a destroy empties it (it is versioned, so
        # S3 would otherwise refuse to delete it and the stack could not be destroyed).
        return aws.s3.Bucket(name, force_destroy=not self.protected, tags=dict(tags), opts=self.stateful(aliases=self._moved_from))

    def _harden(self, name: str, bucket: aws.s3.Bucket, kms_key_arn: pulumi.Input[str] | None) -> pulumi.Resource:
        """Public access block -> ownership -> default encryption -> versioning, one after another."""
        access = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=pulumi.ResourceOptions(parent=self, aliases=self._moved_from),
        )
        ownership = aws.s3.BucketOwnershipControls(
            name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=self._after(access)
        )
        if kms_key_arn is None:
            rule: dict[str, Any] = {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
        else:
            rule = {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn},
                "bucket_key_enabled": True,  # one KMS request per bucket key, not per object
            }
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=bucket.id, rules=[rule], opts=self._after(ownership))
        return aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=self._after(encryption))

    def _lifecycle(
        self,
        name: str,
        bucket: aws.s3.Bucket,
        previous: pulumi.Resource,
        rule_id: str,
        expiration_days: int | None,
        noncurrent_version_days: int | None,
    ) -> aws.s3.BucketLifecycleConfiguration:
        rule: dict[str, Any] = {"id": rule_id, "status": "Enabled", "filter": {"prefix": ""}}
        if expiration_days is not None:
            rule["expiration"] = {"days": expiration_days}
        if noncurrent_version_days is not None:
            rule["noncurrent_version_expiration"] = {"noncurrent_days": noncurrent_version_days}
        rule["abort_incomplete_multipart_upload"] = {"days_after_initiation": ABORT_INCOMPLETE_UPLOADS_DAYS}
        return aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=[rule], opts=self._after(previous))


def tls_only(bucket_arn: str) -> dict:
    """The statement that refuses every request over plain HTTP, to the bucket and its objects."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
