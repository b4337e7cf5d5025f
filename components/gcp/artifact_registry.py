"""Artifact Registry: a Docker repository with immutable tags and cleanup policies.

Cleanup policies only delete what a DELETE policy matches; a KEEP policy exempts versions from
deletion and deletes nothing by itself, and a version matched by both is kept. So the cap is a
DELETE of every version (tagged or not) plus a KEEP of the `keep_images` most recent versions of
each image: everything beyond the newest `keep_images` versions of an image goes, untagged ones
included (a separate "delete untagged after N days" rule would change nothing: inside the newest
`keep_images` the KEEP wins, outside them the DELETE already applies).

With `kms_key` the images are encrypted with that Cloud KMS key, which must live in the
repository's region; pass the key's grant to Artifact Registry's service agent in
`opts.depends_on` so the repository is created only once the agent may use the key.

The key of an existing repository cannot change: setting it replaces the repository. Its id is
fixed (the images' URLs and the Binary Authorization allowlist name it), so the old repository is
deleted first, **with its images**, and an empty one created under the same URL: copy the images
out before such a change and push them back after it (docs/hardening.md). Outside dev the
repository is protected, so the change stops until that is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component
from components.image_check import ImageCheck


@dataclass
class ArtifactRegistryArgs:
    project: str
    region: str
    repository_id: str
    labels: Mapping[str, str]
    keep_images: int = 30
    kms_key: pulumi.Input[str] | None = None


def cleanup_policies(keep_images: int) -> list[dict]:
    return [
        {"id": "delete-beyond-recent", "action": "DELETE", "condition": {"tag_state": "ANY"}},
        {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": keep_images}},
    ]


class ArtifactRegistry(Component):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None):
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
            cleanup_policies=cleanup_policies(args.keep_images),
            labels=dict(args.labels),
            kms_key_name=args.kms_key,
            opts=self.stateful(depends_on=self.waits_for, delete_before_replace=True),
        )
        self.url = pulumi.Output.concat(args.region, "-docker.pkg.dev/", args.project, "/", self.repository.repository_id)
        self._where = (args.project, args.region)
        self.register_outputs({"url": self.url})

    def image_check(self, image: str, tag: str) -> pulumi.Output[ImageCheck]:
        """The tags `image` has here, read from Artifact Registry (`gcp.artifactregistry.getDockerImages`) once the
        repository (and so its API) exists: unknown in the preview of the update that creates it."""
        project, region = self._where
        found = gcp.artifactregistry.get_docker_images_output(
            location=region,
            project=project,
            repository_id=self.repository.repository_id,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.repository]),
        )
        return found.apply(
            lambda r: ImageCheck(
                f"{r.repository_id}/{image}",
                tag,
                tuple(sorted({t for i in r.docker_images or [] if i.image_name == image for t in (i.tags or [])})),
                "gcp.artifactregistry.getDockerImages",
            )
        )
