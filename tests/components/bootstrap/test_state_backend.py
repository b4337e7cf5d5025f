"""The state bucket's guarantees: versioned, KMS-encrypted, private, TLS-only, logged, old versions expire; S3 sub-resources in sequence."""

from __future__ import annotations

import itertools
import json

import pulumi
import pytest

from components.bootstrap.state_backend import GcsStateBackend, GcsStateBackendArgs, S3StateBackend, S3StateBackendArgs

DEPLOYER = "arn:aws:iam::123456789012:role/github-crm-deploy"
S3_PARTS = (
    "bucketPublicAccessBlock",
    "bucketOwnershipControls",
    "bucketServerSideEncryptionConfiguration",
    "bucketVersioning",
    "bucketLifecycleConfiguration",
    "bucketLogging",
    "bucketPolicy",
)


@pytest.fixture
def s3(run_component):
    return run_component(
        lambda: S3StateBackend(
            "state",
            S3StateBackendArgs(region="ap-northeast-2", tags={"role": "state"}, key_users=[DEPLOYER]),
            opts=pulumi.ResourceOptions(protect=True),
        )
    )


def part(result, kind: str, name: str = "state"):
    return next(r for r in result.resources if r.type.split(":")[-1][0].lower() + r.type.split(":")[-1][1:] == kind and r.name == name)


def test_state_bucket_is_versioned(s3):
    assert part(s3, "bucketVersioning")["versioningConfiguration"] == {"status": "Enabled"}


def test_state_bucket_is_encrypted_with_its_own_rotating_key(s3):
    key = s3.one("aws:kms/key:Key")
    rule = part(s3, "bucketServerSideEncryptionConfiguration")["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.output("arn"),
    }
    assert rule["bucketKeyEnabled"] is True
    assert key["enableKeyRotation"] is True


def test_state_bucket_blocks_all_public_access(s3):
    block = part(s3, "bucketPublicAccessBlock")
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert part(s3, "bucketOwnershipControls")["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_state_bucket_refuses_plain_http(s3):
    statement = json.loads(part(s3, "bucketPolicy")["policy"])["Statement"]
    bucket = s3.one("aws:s3/bucket:Bucket", "state").output("arn")
    assert statement == [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket, f"{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_state_bucket_logs_to_its_log_bucket_which_admits_only_s3_log_delivery(s3):
    logging = part(s3, "bucketLogging")
    assert logging["targetBucket"] == "state-logs-id" and logging["targetPrefix"] == "state/"
    statements = json.loads(part(s3, "bucketPolicy", "state-logs")["policy"])["Statement"]
    assert statements[0]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert statements[0]["Condition"]["ArnLike"] == {"aws:SourceArn": s3.one("aws:s3/bucket:Bucket", "state").output("arn")}
    assert part(s3, "bucketServerSideEncryptionConfiguration", "state-logs")["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }


def test_old_state_versions_expire(s3):
    rule = part(s3, "bucketLifecycleConfiguration")["rules"][0]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


def test_buckets_and_key_are_protected(s3, run_component):
    stateful = [r for r in s3.resources if r.type in ("aws:s3/bucket:Bucket", "aws:kms/key:Key")]
    assert len(stateful) == 3 and all(r.protect for r in stateful)  # the state bucket, its log bucket, its key
    dev = run_component(lambda: S3StateBackend("state", S3StateBackendArgs(region="ap-northeast-2", tags={}, key_users=[DEPLOYER])))
    assert dev.resources and not any(r.protect for r in dev.resources)


def test_state_bucket_sub_resources_wait_for_each_other(s3):
    """S3 answers concurrent changes to one bucket with 409 OperationAborted."""
    chain = [part(s3, kind) for kind in S3_PARTS]
    for before, after in itertools.pairwise(chain):
        assert before.urn in after.dependencies, f"{after.type} does not wait for {before.type}"


def test_only_the_named_principals_use_the_state_key(s3):
    statements = json.loads(s3.one("aws:kms/key:Key")["policy"])["Statement"]
    admin, use = statements
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert not any(a.startswith(("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")) for a in admin["Action"])
    assert use["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [DEPLOYER]}}


@pytest.mark.parametrize("changes", [{"key_users": []}, {"noncurrent_version_days": 0}, {"log_retention_days": 5000}])
def test_bad_arguments_are_refused_early(changes):
    values = dict(region="ap-northeast-2", tags={}, key_users=[DEPLOYER])
    with pytest.raises(ValueError):
        S3StateBackendArgs(**{**values, **changes})


# ---------------------------------------------------------------- GCS


@pytest.fixture
def gcs(run_component):
    return run_component(
        lambda: GcsStateBackend(
            "state",
            GcsStateBackendArgs(
                project="acme-ci",
                location="asia-northeast3",
                labels={"role": "state"},
                writers=["serviceAccount:deploy@acme-ci.iam.gserviceaccount.com"],
                preview_members=["serviceAccount:preview@acme-ci.iam.gserviceaccount.com"],
            ),
            opts=pulumi.ResourceOptions(protect=True),
        )
    )


def test_gcs_state_bucket_has_the_same_guarantees(gcs):
    bucket = gcs.one("gcp:storage/bucket:Bucket", "state")
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["encryption"] == {"defaultKmsKeyName": "state-key-id"}
    assert bucket["logging"] == {"logBucket": "state-logs", "logObjectPrefix": "state"}
    assert {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 90, "withState": "ARCHIVED"}} in bucket["lifecycleRules"]
    assert bucket.protect


def test_gcs_key_rotates_and_the_storage_agent_may_use_it(gcs):
    assert gcs.one("gcp:kms/cryptoKey:CryptoKey")["rotationPeriod"] == "7776000s"
    grant = gcs.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert grant["member"] == "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com"
    assert grant.urn in gcs.one("gcp:storage/bucket:Bucket", "state").dependencies


def test_gcs_preview_member_writes_only_lock_files(gcs):
    grants = [g for g in gcs.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if g["member"].startswith("serviceAccount:preview@")]
    writes = [g for g in grants if g["role"] != "roles/storage.objectViewer"]
    assert len(writes) == 1
    assert writes[0]["condition"]["expression"] == 'resource.name.startsWith("projects/_/buckets/state/objects/.pulumi/locks/")'
