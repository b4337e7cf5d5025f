"""AWS KMS key policies for the bootstrap keys: the account administers, only the deployers use.

AWS's guidance keeps the account root principal in every key policy so the key can never become
unmanageable; here root gets the administrative actions only. Cryptographic use is allowed to the
account's principals *whose ARN is listed* (an `aws:PrincipalArn` condition), so the policy can
name roles the same deployment creates afterwards without the policy failing on a principal that
does not exist yet. An IAM policy of the principal must allow the use too.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.aws.iam import policy_document

# No kms:CreateGrant: a grant would hand cryptographic use to a principal this policy does not name.
ADMIN_ACTIONS = [
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
DECRYPT_ACTIONS = ["kms:Decrypt", "kms:DescribeKey"]


def deployer_key_policy(
    partition: str, account_id: str, users: Sequence[str], decrypt_only: Sequence[str] = (), service_statements: Sequence[dict] = ()
) -> str:
    root = f"arn:{partition}:iam::{account_id}:root"
    statements = [{"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": root}, "Action": ADMIN_ACTIONS, "Resource": "*"}]
    if users:
        statements.append(
            {
                "Sid": "DeployersUse",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": USE_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(users)}},
            }
        )
    if decrypt_only:
        statements.append(
            {
                "Sid": "PreviewDecrypts",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": DECRYPT_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(decrypt_only)}},
            }
        )
    statements.extend(service_statements)
    return policy_document(statements)


def account_role_arn(role_name: str) -> pulumi.Output[str]:
    """The ARN a role of this name has (or will have) in the deploying account, before the role exists."""
    identity = aws.get_caller_identity_output()
    partition = aws.get_partition_output().partition
    return pulumi.Output.all(partition, identity.account_id).apply(lambda a: f"arn:{a[0]}:iam::{a[1]}:role/{role_name}")
