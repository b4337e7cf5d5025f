"""The one private S3 bucket: hardened in sequence, TLS-only, and moved here from its callers without a replacement."""

from __future__ import annotations

import itertools
import json

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.private_bucket import ObjectWriter, PrivateBucket, PrivateBucketArgs, ServerAccessLogs

STEPS = (
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
)


def logs_args(**changes) -> PrivateBucketArgs:
    values = dict(
        tags={"team": "platform"},
        expiration_days=30,
        noncurrent_version_days=7,
        writers=[ObjectWriter("ServiceWrites", {"Service": "delivery.example.amazonaws.com"}, "app/")],
    )
    values.update(changes)
    return PrivateBucketArgs(**values)


class Caller(pulumi.ComponentResource):
    """Stands in for the component that built the bucket itself before."""

    protected = True  # as a Component with opts.protect reads it

    def __init__(self, build):
        super().__init__("test:index:Caller", "caller", None)
        build(self)
        self.register_outputs({})


@pytest.fixture
def logs(run_component):
    def build(caller):
        bucket = PrivateBucket("logs", logs_args(), opts=pulumi.ResourceOptions(parent=caller))
        aws.s3.BucketObjectv2("logs-readme", bucket=bucket.bucket_id, key="README", content="x", opts=pulumi.ResourceOptions(parent=caller))

    return run_component(lambda: Caller(build))


def test_public_access_is_blocked_and_acls_are_off(logs):
    block = logs.one(STEPS[0])
    assert [block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")] == [True] * 4
    assert logs.one(STEPS[1])["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert logs.one(STEPS[3])["versioningConfiguration"] == {"status": "Enabled"}


def test_sse_s3_without_a_key_and_sse_kms_with_a_bucket_key(logs, run_component):
    assert logs.one(STEPS[2])["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    kms = run_component(lambda: PrivateBucket("state", PrivateBucketArgs(tags={}, kms_key_arn="arn:aws:kms:key/1")))
    assert kms.one(STEPS[2])["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:key/1"}, "bucketKeyEnabled": True}
    ]


def test_the_policy_admits_only_the_writers_and_refuses_plain_http(logs):
    arn = logs.one("aws:s3/bucket:Bucket").output("arn")
    statements = json.loads(logs.one(STEPS[5])["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["ServiceWrites", "TlsOnly"]
    assert statements[0]["Principal"] == {"Service": "delivery.example.amazonaws.com"} and statements[0]["Resource"] == f"{arn}/app/*"
    assert statements[0]["Action"] == "s3:PutObject"
    assert statements[1]["Effect"] == "Deny" and statements[1]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements[1]["Resource"] == [arn, f"{arn}/*"]


def test_a_bucket_without_writers_is_still_tls_only(run_component):
    result = run_component(lambda: PrivateBucket("trust", PrivateBucketArgs(tags={})))
    assert [s["Sid"] for s in json.loads(result.one(STEPS[5])["policy"])["Statement"]] == ["TlsOnly"]
    assert result.of_type(STEPS[4]) == []  # nothing expires unless asked


def test_lifecycle_expires_objects_old_versions_and_abandoned_uploads(logs):
    (rule,) = logs.one(STEPS[4])["rules"]
    assert rule["expiration"] == {"days": 30} and rule["noncurrentVersionExpiration"] == {"noncurrentDays": 7}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7} and rule["status"] == "Enabled"


def test_each_step_waits_for_the_one_before(logs):
    """S3 answers concurrent changes to one bucket with 409 OperationAborted."""
    chain = [logs.one(step) for step in STEPS]
    for before, after in itertools.pairwise(chain):
        assert before.urn in after.dependencies, f"{after.type} does not wait for {before.type}"


def test_a_reader_of_the_bucket_waits_for_its_policy(logs):
    readme = logs.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert logs.one(STEPS[5]).urn in readme.dependencies
    assert readme["bucket"] == logs.one("aws:s3/bucket:Bucket").id


def test_the_bucket_is_protected_with_its_caller(logs):
    assert logs.one("aws:s3/bucket:Bucket").protect is True
    assert not any(logs.one(step).protect for step in STEPS)


def test_every_child_keeps_the_urn_it_had_under_its_caller(logs):
    """The children were the caller's own before: each aliases the caller as its parent, under the same name."""
    caller = logs.one("test:index:Caller")
    component = logs.one("crm:aws:PrivateBucket")
    children = [r for r in logs.resources if r.parent == component.urn]
    assert len(children) == 1 + len(STEPS)
    for child in children:
        # The provider SDK adds type aliases of its own (a renamed resource type); ours keeps the type and names the parent.
        moves = [a["spec"] for a in child.aliases if "type" not in a["spec"]]
        assert moves == [{"parentUrn": caller.urn}], child.name
        assert child.name == "logs"


def test_server_access_logs_go_to_a_log_bucket_that_admits_only_s3_log_delivery(run_component):
    result = run_component(
        lambda: PrivateBucket(
            "state", PrivateBucketArgs(tags={"purpose": "state"}, access_logs=ServerAccessLogs(retention_days=365, key_prefix="state/"))
        )
    )
    logs = result.one("aws:s3/bucket:Bucket", "state-logs")
    assert logs["tags"] == {"purpose": "access-logs"}
    logging = result.one("aws:s3/bucketLogging:BucketLogging")
    assert logging["targetBucket"] == logs.id and logging["targetPrefix"] == "state/"
    delivery = json.loads(result.one(STEPS[5], "state-logs")["policy"])["Statement"][0]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": result.one("aws:s3/bucket:Bucket", "state").output("arn")}
    assert result.one(STEPS[5], "state-logs").urn in logging.dependencies
    assert result.one(STEPS[4], "state-logs")["rules"][0]["expiration"] == {"days": 365}


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(expiration_days=0), "expiration_days must be 1-3650"),
        (dict(noncurrent_version_days=4000), "noncurrent_version_days must be 1-3650"),
        (dict(writers=[ObjectWriter("TlsOnly", {"AWS": "a"}, "x/")]), "distinct Sids"),
    ],
)
def test_bad_arguments_are_refused_by_name(changes, message):
    with pytest.raises(ValueError, match=message):
        logs_args(**changes)


def test_an_access_log_prefix_must_end_with_a_slash():
    with pytest.raises(ValueError, match="must end with '/'"):
        ServerAccessLogs(retention_days=30, key_prefix="state")
