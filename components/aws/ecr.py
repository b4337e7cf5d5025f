"""ECR repositories: immutable tags, scan on push, KMS, and a lifecycle that bounds storage.

Repository names are unique per account and region, and our stacks share accounts, so every
repository lives under its environment's namespace (`crm-production/crm-api`), as Artifact
Registry's per-environment repository does on GCP. No stack owns a registry another stack uses:
each environment's images are pushed to, and pulled from, its own repositories.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.image_check import ImageCheck


@dataclass
class ContainerRegistryArgs:
    repositories: Sequence[str]
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    namespace: str  # the environment's prefix, e.g. crm-production: repositories are <namespace>/<repository>
    keep_images: int = 30
    untagged_expiry_days: int = 7


def lifecycle_policy(keep_images: int, untagged_expiry_days: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "drop untagged layers",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def repository_name(namespace: str, repository: str) -> str:
    return f"{namespace}/{repository}"


class ContainerRegistry(Component):
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:ContainerRegistry", name, None, opts)
        self.repositories: dict[str, aws.ecr.Repository] = {}
        for repo in args.repositories:
            repository = aws.ecr.Repository(
                f"{name}-{repo}",
                name=repository_name(args.namespace, repo),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
                force_delete=not self.protected,  # dev only (unprotected): a destroy deletes the images with it
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{repo}",
                repository=repository.name,
                policy=lifecycle_policy(args.keep_images, args.untagged_expiry_days),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.repositories[repo] = repository
        self.repository_urls = {repo: r.repository_url for repo, r in self.repositories.items()}
        self.register_outputs({"repositoryUrls": self.repository_urls})

    def image_check(self, repository: str, tag: str) -> pulumi.Output[ImageCheck]:
        """The tags `repository` holds, read from ECR (`aws.ecr.getImages`) once the repository exists: unknown in the
        preview of the update that creates it, read in the preview of every later one."""
        created = self.repositories[repository]
        images = aws.ecr.get_images_output(repository_name=created.name, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[created]))
        return images.apply(
            lambda found: ImageCheck(
                found.repository_name or "",
                tag,
                tuple(sorted({i.image_tag for i in found.image_ids or [] if i.image_tag})),
                "aws.ecr.getImages",
            )
        )
