from __future__ import annotations

import json

from components.aws.kms import KmsKeys, KmsKeysArgs


def test_every_key_rotates(run_stack):
    keys = run_stack("aws-dr", {"crm:platform": {"msk": True}}).of_type("aws:kms/key:Key")  # MSK's key too (MSK is off by default)
    purposes = sorted(k["tags"]["purpose"] for k in keys)
    assert purposes == ["alarms", "cache", "ecr", "eks", "kafka", "logs", "messaging", "rds", "rds-backup-copy", "secrets"]
    assert all(k["enableKeyRotation"] is True for k in keys)


def test_no_key_for_a_store_the_stack_does_not_run(shipped):
    assert "kafka" not in {k["tags"]["purpose"] for k in shipped("aws-dr").of_type("aws:kms/key:Key")}


def test_keys_are_protected_outside_dev(shipped):
    production, dev = shipped("aws-production").of_type("aws:kms/key:Key"), shipped("aws-dev").of_type("aws:kms/key:Key")
    assert production and all(k.protect for k in production)
    assert dev and not any(k.protect for k in dev)


def test_logs_key_lets_cloudwatch_logs_use_it(run_component):
    result = run_component(lambda: KmsKeys("k", KmsKeysArgs(purposes=["logs", "rds"], region="ap-northeast-2", tags={})))
    logs_policy = json.loads(result.one("aws:kms/key:Key", "k-logs")["policy"])
    rds_policy = json.loads(result.one("aws:kms/key:Key", "k-rds")["policy"])
    assert logs_policy["Statement"][1]["Principal"] == {"Service": "logs.ap-northeast-2.amazonaws.com"}
    assert logs_policy["Statement"][1]["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:ap-northeast-2:123456789012:*"}
    }
    assert len(rds_policy["Statement"]) == 1


def test_no_keys_for_switched_off_services(shipped):
    purposes = sorted(k["tags"]["purpose"] for k in shipped("aws-dev").of_type("aws:kms/key:Key"))
    assert purposes == ["alarms", "ecr", "eks", "logs", "messaging", "secrets"]
    gcp_keys = sorted(k["name"] for k in shipped("gcp-dev").of_type("gcp:kms/cryptoKey:CryptoKey"))
    assert gcp_keys == ["gke", "registry", "secrets"]  # no Cloud SQL or Memorystore key in dev
