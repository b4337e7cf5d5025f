"""Application secrets and settings: one JSON secret in Secrets Manager, settings in SSM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.naming import keep_existing_name, suffixed


@dataclass
class AppSecretsArgs:
    secret_name: str
    kms_key_arn: pulumi.Input[str]
    payload: Mapping[str, pulumi.Input[Any]]
    tags: Mapping[str, str]
    settings: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    sensitive_settings: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    parameter_prefix: str = "/crm"
    recovery_window_days: int = 30


class AppSecrets(Component):
    """`app_env`: the JSON object the application reads at start-up, always a Pulumi secret."""

    payload: pulumi.Output[str]
    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:AppSecrets", name, None, opts)
        tags = dict(args.tags)
        # A deleted secret's name stays taken for its recovery window: the name carries a suffix drawn once per
        # incarnation of the stack, so a destroyed stack deploys again at once; a secret created before keeps
        # its recorded name (components/naming.py). Consumers find it by ARN.
        self.secret = aws.secretsmanager.Secret(
            f"{name}-app-env",
            name=suffixed(args.secret_name, f"{name}-app-env", self),
            description="Environment of the CRM application (JSON object)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=args.recovery_window_days,
            tags=tags,
            opts=self.stateful(ignore_changes=keep_existing_name()),
        )
        self.payload = pulumi.Output.secret(pulumi.Output.json_dumps(dict(args.payload)))
        self.version = aws.secretsmanager.SecretVersion(
            f"{name}-app-env",
            secret_id=self.secret.id,
            secret_string=self.payload,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.parameters: dict[str, aws.ssm.Parameter] = {}
        for key, value in args.settings.items():
            self.parameters[key] = aws.ssm.Parameter(
                f"{name}-{key}",
                name=f"{args.parameter_prefix}/{key}",
                type="String",
                value=value,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        for key, value in args.sensitive_settings.items():
            self.parameters[key] = aws.ssm.Parameter(
                f"{name}-{key}",
                name=f"{args.parameter_prefix}/{key}",
                type="SecureString",
                key_id=args.kms_key_arn,
                value=pulumi.Output.secret(value),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.secret_arn = self.secret.arn
        self.register_outputs({"secretArn": self.secret_arn, "payload": pulumi.Output.secret(self.payload)})
