"""Secret Manager: the application's `app_env` JSON, its payload always a Pulumi secret."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
import pulumi_gcp as gcp

from components.base import Component


@dataclass
class AppEnvSecretArgs:
    project: str
    secret_id: str
    payload: Mapping[str, pulumi.Input[Any]]
    labels: Mapping[str, str]
    deletion_protection: bool = True  # the cloud's own guard against deletion (Pulumi's protect is opts.protect)


class AppEnvSecret(Component):
    def __init__(self, name: str, args: AppEnvSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:gcp:AppEnvSecret", name, None, opts)
        self.secret = gcp.secretmanager.Secret(
            f"{name}-app-env", project=args.project, secret_id=args.secret_id, replication={"auto": {}},
            labels=dict(args.labels), deletion_protection=args.deletion_protection, opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        self.payload = pulumi.Output.secret(pulumi.Output.json_dumps(dict(args.payload)))
        self.version = gcp.secretmanager.SecretVersion(
            f"{name}-app-env", secret=self.secret.id, secret_data=self.payload, opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_id = self.secret.secret_id
        self.secret_name = self.secret.name
        self.register_outputs({"secretId": self.secret_id})
