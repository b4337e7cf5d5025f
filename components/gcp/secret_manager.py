"""Secret Manager: the application's `app_env` JSON, its payload always a Pulumi secret.

With `region` the secret is replicated only there (user-managed replication) instead of wherever
Google chooses; with `kms_key` as well, that replica is encrypted with the Cloud KMS key, which
must live in the same region. Pass the key's grant to Secret Manager's service agent in
`opts.depends_on` so the secret is created only once the agent may use the key.

Replication (region, key) cannot change on an existing secret: changing it replaces the secret.
The id is fixed (the External Secrets Operator and the workload's IAM grant name it), so the old
secret is deleted first and the new one written in the same deploy: the payload comes from the
stack, so only its earlier versions are lost, and the pods keep the Kubernetes Secret the operator
synced meanwhile (it is retained). The provider's `deletion_protection` is a flag in Pulumi's state
only, not the cloud's; it made every replacement fail, so it is off and `opts.protect` guards the
secret outside dev (docs/hardening.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import Component


@dataclass
class AppEnvSecretArgs:
    project: str
    secret_id: str
    payload: Mapping[str, pulumi.Input[Any]]
    labels: Mapping[str, str]
    region: str | None = None
    kms_key: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if self.kms_key is not None and not self.region:
            raise ValueError("a customer-managed key needs the region its replica is kept in (AppEnvSecretArgs.region)")

    def replication(self) -> dict:
        if not self.region:
            return {"auto": {}}
        replica: dict = {"location": self.region}
        if self.kms_key is not None:
            replica["customer_managed_encryption"] = {"kms_key_name": self.kms_key}
        return {"user_managed": {"replicas": [replica]}}


class AppEnvSecret(Component):
    payload: pulumi.Output[str]
    secret: gcp.secretmanager.Secret
    secret_id: pulumi.Output[str]

    def __init__(self, name: str, args: AppEnvSecretArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:AppEnvSecret", name, None, opts)
        self.secret = gcp.secretmanager.Secret(
            f"{name}-app-env",
            project=args.project,
            secret_id=args.secret_id,
            replication=args.replication(),
            labels=dict(args.labels),
            deletion_protection=False,
            opts=self.stateful(depends_on=self.waits_for, delete_before_replace=True),
        )
        self.payload = pulumi.Output.secret(pulumi.Output.json_dumps(dict(args.payload)))
        self.version = gcp.secretmanager.SecretVersion(
            f"{name}-app-env",
            secret=self.secret.id,
            secret_data=self.payload,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_id = self.secret.secret_id
        self.secret_name = self.secret.name
        self.register_outputs({"secretId": self.secret_id, "payload": pulumi.Output.secret(self.payload)})
