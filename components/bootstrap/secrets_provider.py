"""The key behind every stack's Pulumi secrets provider: `awskms://` (default) or `gcpkms://`.

Only the deployers (the CI deploy identity and the named operators) encrypt and decrypt with it;
the preview identity only decrypts. The key rotates; its alias (AWS) or resource name (GCP) is
what the stack files name as `secretsprovider:`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.base import Component
from components.naming import keep_existing_name, suffixed

from .key_policy import deployer_key_policy


@dataclass
class AwsSecretsKeyArgs:
    alias: str  # without the alias/ prefix; the stack files' secretsprovider names it
    region: str
    tags: Mapping[str, str]
    users: Sequence[pulumi.Input[str]]  # IAM principal ARNs that encrypt and decrypt
    decrypters: Sequence[pulumi.Input[str]] = field(default_factory=list)  # IAM principal ARNs that only decrypt (preview)

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("users must name at least one principal, or no stack could write a secret")
        if self.alias.startswith(("alias/", "aws/")):
            raise ValueError(f"alias '{self.alias}' must be given without the alias/ prefix and must not start with aws/")


class AwsSecretsKey(Component):
    key_arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: AwsSecretsKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:bootstrap:AwsSecretsKey", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: Pulumi secrets provider of every stack",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(partition, account_id, pulumi.Output.all(*args.users), pulumi.Output.all(*args.decrypters)).apply(
                lambda a: deployer_key_policy(a[0], a[1], a[2], a[3])
            ),
            tags={**args.tags, "purpose": "pulumi-secrets"},
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        self.alias = aws.kms.Alias(
            f"{name}-key", name=f"alias/{args.alias}", target_key_id=self.key.key_id, opts=pulumi.ResourceOptions(parent=self)
        )
        self.key_arn = self.key.arn
        self.url = pulumi.Output.concat("awskms://", self.alias.name, f"?region={args.region}")
        self.register_outputs({"url": self.url, "keyArn": self.key_arn})


@dataclass
class GcpSecretsKeyArgs:
    project: str
    location: str
    labels: Mapping[str, str]
    users: Sequence[pulumi.Input[str]]  # IAM members that encrypt and decrypt
    decrypters: Sequence[pulumi.Input[str]] = field(default_factory=list)
    rotation_period: str = "7776000s"  # 90 days

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("users must name at least one member, or no stack could write a secret")
        seconds = self.rotation_period[:-1]
        if not (self.rotation_period.endswith("s") and seconds.isdigit() and int(seconds) >= 86400):
            raise ValueError(f"rotation_period must be seconds ending in 's', at least 86400s; got '{self.rotation_period}'")


class GcpSecretsKey(Component):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: GcpSecretsKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:bootstrap:GcpSecretsKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=self.protected)
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
            name="pulumi-secrets",
            key_ring=ring.id,
            rotation_period=args.rotation_period,
            purpose="ENCRYPT_DECRYPT",
            labels={**args.labels, "purpose": "pulumi-secrets"},
            opts=stateful,
        )
        for i, member in enumerate(args.users):
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-user-{i}", crypto_key_id=self.key.id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=member, opts=child
            )
        for i, member in enumerate(args.decrypters):
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-decrypter-{i}", crypto_key_id=self.key.id, role="roles/cloudkms.cryptoKeyDecrypter", member=member, opts=child
            )
        self.key_id = self.key.id
        self.url = pulumi.Output.concat("gcpkms://", self.key.id)
        self.register_outputs({"url": self.url, "keyId": self.key_id})
