"""Binary Authorization: the project's GKE clusters run only images from our registry and the operators'.

The policy is a per-project singleton (`projects/<project>/policy`), enforced by every cluster in
the project whose `binary_authorization.evaluation_mode` is `PROJECT_SINGLETON_POLICY_ENFORCE`.
Each GCP stack has a project of its own (`gcp:project`); two stacks sharing a project would
overwrite each other's policy.

Default rule: ALWAYS_DENY with an allowlist, not REQUIRE_ATTESTATION. Attestations need a signing
step in the image pipeline (an attestor, a KMS signing key, a note in Container Analysis) that the
application's CI does not have; an allowlist of the registries we control and the exact operator
images we install admits what the stacks deploy and nothing else. Images are admitted by name, so
whoever can push to an allowlisted path can run code: the application repository is ours (IAM on
Artifact Registry), the operators' paths are their publishers'. GKE's own system images are
exempt through Google's global policy (`global_policy_evaluation_mode: ENABLE`).

Patterns: a trailing `*` matches within one path segment (tags and digests included), `**` also
matches below it (Binary Authorization's AdmissionWhitelistPattern).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component

ENFORCEMENT = "ENFORCED_BLOCK_AND_AUDIT_LOG"
# What the stacks install from their publishers' registries (the Helm charts' images).
OPERATOR_IMAGES = (
    "quay.io/strimzi/*",  # Strimzi: the cluster operator, Kafka, its entity operators (components/gcp/kafka.py)
    "ghcr.io/external-secrets/*",  # External Secrets Operator and its webhook, cert controller (components/kubernetes/external_secrets.py)
)


@dataclass
class BinaryAuthorizationArgs:
    project: str
    registry_url: pulumi.Input[str]  # <region>-docker.pkg.dev/<project>/<repository>: everything under it is admitted
    images: Sequence[str] = ()  # further exact images the stack runs (database client, DR tool), as configured
    operator_images: Sequence[str] = OPERATOR_IMAGES

    def __post_init__(self) -> None:
        bad = [p for p in [*self.images, *self.operator_images] if not p or "/" not in p or "*" in p.rstrip("*")]
        if bad:
            raise ValueError(f"allowlist patterns must be registry/path with at most a trailing wildcard, got {bad}")


class BinaryAuthorizationPolicy(Component):
    policy: gcp.binaryauthorization.Policy

    def __init__(self, name: str, args: BinaryAuthorizationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:BinaryAuthorizationPolicy", name, None, opts)
        patterns: list = [pulumi.Output.concat(args.registry_url, "/**"), *args.operator_images, *sorted(set(args.images))]
        self.policy = gcp.binaryauthorization.Policy(
            f"{name}-policy",
            project=args.project,
            description="Only our Artifact Registry repository and the operators' images run; GKE system images per Google's global policy",
            global_policy_evaluation_mode="ENABLE",
            admission_whitelist_patterns=[{"name_pattern": p} for p in patterns],
            default_admission_rule={"evaluation_mode": "ALWAYS_DENY", "enforcement_mode": ENFORCEMENT},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"policyId": self.policy.id})
