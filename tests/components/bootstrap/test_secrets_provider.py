"""The secrets-provider key: rotating, usable by the deployers, decrypt-only for preview; its URL is what stack files name."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.bootstrap.secrets_provider import AwsSecretsKey, AwsSecretsKeyArgs, GcpSecretsKey, GcpSecretsKeyArgs

DEPLOYER = "arn:aws:iam::123456789012:role/github-crm-deploy"
PREVIEW = "arn:aws:iam::123456789012:role/github-crm-preview"


def test_aws_key_policy_names_who_uses_and_who_only_decrypts(run_component):
    result = run_component(
        lambda: AwsSecretsKey(
            "s",
            AwsSecretsKeyArgs(alias="crm-pulumi-secrets", region="ap-northeast-2", tags={}, users=[DEPLOYER], decrypters=[PREVIEW]),
            opts=pulumi.ResourceOptions(protect=True),
        )
    )
    key = result.one("aws:kms/key:Key")
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert statements["DeployersUse"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [DEPLOYER]
    assert statements["PreviewDecrypts"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [PREVIEW]
    assert statements["PreviewDecrypts"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert "kms:*" not in statements["AccountAdministers"]["Action"]
    assert key["enableKeyRotation"] is True and key.protect
    assert result.one("aws:kms/alias:Alias")["name"] == "alias/crm-pulumi-secrets"


def test_gcp_key_rotates_and_grants_only_the_named_members(run_component):
    result = run_component(
        lambda: GcpSecretsKey(
            "s",
            GcpSecretsKeyArgs(
                project="acme-ci",
                location="asia-northeast3",
                labels={},
                users=["serviceAccount:d@x.iam.gserviceaccount.com"],
                decrypters=["serviceAccount:p@x.iam.gserviceaccount.com"],
            ),
        )
    )
    assert result.one("gcp:kms/cryptoKey:CryptoKey")["rotationPeriod"] == "7776000s"
    grants = sorted((g["member"], g["role"]) for g in result.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"))
    assert grants == [
        ("serviceAccount:d@x.iam.gserviceaccount.com", "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
        ("serviceAccount:p@x.iam.gserviceaccount.com", "roles/cloudkms.cryptoKeyDecrypter"),
    ]


@pytest.mark.parametrize("changes", [{"users": []}, {"alias": "alias/crm"}, {"alias": "aws/crm"}])
def test_aws_key_arguments_are_checked(changes):
    with pytest.raises(ValueError):
        AwsSecretsKeyArgs(**{**dict(alias="crm", region="ap-northeast-2", tags={}, users=[DEPLOYER]), **changes})


@pytest.mark.parametrize("period", ["3600s", "90d", ""])
def test_gcp_rotation_period_is_checked(period):
    with pytest.raises(ValueError):
        GcpSecretsKeyArgs(project="p", location="l", labels={}, users=["user:a@b.io"], rotation_period=period)


def test_the_account_cannot_grant_itself_use_of_the_key(run_component):
    result = run_component(lambda: AwsSecretsKey("s", AwsSecretsKeyArgs(alias="crm", region="ap-northeast-2", tags={}, users=[DEPLOYER])))
    admin = json.loads(result.one("aws:kms/key:Key")["policy"])["Statement"][0]
    assert not any(action in ("kms:*", "kms:Create*", "kms:CreateGrant") for action in admin["Action"])
