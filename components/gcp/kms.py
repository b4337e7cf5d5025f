"""Cloud KMS: a key ring with one rotating key per purpose, usable by the service that needs it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component, ready_after
from components.naming import keep_existing_name, suffixed

ROTATION_PERIOD = "7776000s"  # 90 days
# Services whose agent exists only once asked for (Cloud SQL's is created on first CMEK use).
# Artifact Registry's and Secret Manager's likewise: ask for them so the key grant precedes the first
# repository or secret that uses the key.
AGENTS_TO_CREATE = {
    "sql": "sqladmin.googleapis.com",
    "registry": "artifactregistry.googleapis.com",
    "secrets": "secretmanager.googleapis.com",
}
# The Google-managed service agent that encrypts with each purpose's key.
SERVICE_AGENTS = {
    "gke": "container-engine-robot.iam.gserviceaccount.com",
    "sql": "gcp-sa-cloud-sql.iam.gserviceaccount.com",
    "redis": "cloud-redis.iam.gserviceaccount.com",
    "registry": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "secrets": "gcp-sa-secretmanager.iam.gserviceaccount.com",
}


@dataclass
class GcpKmsArgs:
    project: str
    region: str
    purposes: Sequence[str]
    labels: Mapping[str, str]

    def __post_init__(self) -> None:
        unknown = set(self.purposes) - set(SERVICE_AGENTS)
        if unknown:
            raise ValueError(f"no service agent known for key purpose(s) {sorted(unknown)}")


class GcpKms(Component):
    def __init__(self, name: str, args: GcpKmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:Kms", name, None, opts)
        stateful = pulumi.ResourceOptions(parent=self, protect=self.protected)
        # Key rings and keys are never deleted in GCP (a destroy only forgets them), so their names are never free
        # again: the ring's name carries a suffix drawn once per incarnation of the stack, and a ring deployed
        # before the suffix keeps its recorded name (components/naming.py). Protected like the keys.
        ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=suffixed(name, f"{name}-ring", self),
            project=args.project,
            location=args.region,
            opts=self.stateful(ignore_changes=keep_existing_name()),
        )
        project_number = gcp.organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)).number
        self.keys: dict[str, gcp.kms.CryptoKey] = {}
        self.grants: dict[str, gcp.kms.CryptoKeyIAMMember] = {}
        for purpose in args.purposes:
            key = gcp.kms.CryptoKey(
                f"{name}-{purpose}",
                name=purpose,
                key_ring=ring.id,
                rotation_period=ROTATION_PERIOD,
                purpose="ENCRYPT_DECRYPT",
                labels={**args.labels, "purpose": purpose},
                opts=stateful,
            )
            agent_exists = []
            if purpose in AGENTS_TO_CREATE:
                agent_exists.append(
                    gcp.projects.ServiceIdentity(
                        f"{name}-{purpose}-agent",
                        project=args.project,
                        service=AGENTS_TO_CREATE[purpose],
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            self.grants[purpose] = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{purpose}-agent",
                crypto_key_id=key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=project_number.apply(lambda n, p=purpose: f"serviceAccount:service-{n}@{SERVICE_AGENTS[p]}"),
                # opts.depends_on: what makes the other agents exist (the APIs whose enabling creates them).
                opts=pulumi.ResourceOptions(parent=self, depends_on=agent_exists + self.waits_for),
            )
            self.keys[purpose] = key
        self.register_outputs({purpose: key.id for purpose, key in self.keys.items()})

    def key_id(self, purpose: str) -> pulumi.Output[str]:
        """The key's id, usable once its service agent may encrypt with it: what takes it waits for the grant."""
        return ready_after(self.keys[purpose].id, self.grants[purpose])
