"""Customer-managed KMS keys, one per purpose, with yearly rotation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import policy_document
from components.base import Component

# Services that must use a key directly (not through a role in this account) get a statement of
# their own in that key's policy, limited the way each service's documentation describes.
_SERVICE_GRANTS = {
    "logs": lambda region, account: (
        f"logs.{region}.amazonaws.com",
        {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:*"}},
    ),
    "messaging": lambda region, account: ("ses.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account}}),
}


@dataclass
class KmsKeysArgs:
    purposes: Sequence[str]
    region: str
    tags: Mapping[str, str]
    deletion_window_days: int = 30


class KmsKeys(Component):
    """One key per purpose (eks, rds, logs, ...), so revoking one does not take down the others."""

    def __init__(self, name: str, args: KmsKeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:KmsKeys", name, None, opts)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        self.keys: dict[str, aws.kms.Key] = {}
        for purpose in args.purposes:
            grant = _SERVICE_GRANTS.get(purpose)
            policy = account_id.apply(lambda account, g=grant: _key_policy(account, g(args.region, account) if g else None))
            key = aws.kms.Key(
                f"{name}-{purpose}",
                description=f"{name} {purpose} encryption",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.deletion_window_days,
                policy=policy,
                tags={**args.tags, "purpose": purpose},
                opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
            )
            aws.kms.Alias(
                f"{name}-{purpose}", name=f"alias/{name}-{purpose}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=self)
            )
            self.keys[purpose] = key
        self.register_outputs({purpose: key.arn for purpose, key in self.keys.items()})

    def arn(self, purpose: str) -> pulumi.Output[str]:
        return self.keys[purpose].arn


def account_key_policy(account_id: str) -> str:
    """A key only the account's own IAM policies give access to (what AWS would apply by default, written out)."""
    return _key_policy(account_id, None)


def _key_policy(account_id: str, service_grant: tuple[str, dict] | None) -> str:
    statements = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if service_grant:
        principal, condition = service_grant
        statements.append(
            {
                "Sid": "ServiceUse",
                "Effect": "Allow",
                "Principal": {"Service": principal},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": condition,
            }
        )
    return policy_document(statements)
