"""Artifact Registry: a Docker repository with immutable tags and cleanup policies."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_gcp as gcp


@dataclass
class ArtifactRegistryArgs:
    project: str
    region: str
    repository_id: str
    labels: Mapping[str, str]
    keep_images: int = 30
    untagged_expiry_days: int = 7
    protect: bool = True


class ArtifactRegistry(pulumi.ComponentResource):
    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("crm:gcp:ArtifactRegistry", name, None, opts)
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-docker",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            description="CRM application images",
            docker_config={"immutable_tags": True},
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": args.keep_images}},
                {"id": "delete-untagged", "action": "DELETE", "condition": {"tag_state": "UNTAGGED", "older_than": f"{args.untagged_expiry_days * 86400}s"}},
            ],
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.url = pulumi.Output.concat(args.region, "-docker.pkg.dev/", args.project, "/", self.repository.repository_id)
        self.register_outputs({"url": self.url})
