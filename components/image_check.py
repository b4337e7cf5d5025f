"""Whether a registry holds the application's image yet, read at deploy time with the provider's own data source.

A new stack creates its registry and its workload in the same `pulumi up`. Until the application's
CI has pushed an image there, pods pulling `<repository>:<tag>` sit in ImagePullBackOff and
pulumi-kubernetes fails the update when the Deployment's (and the Service's) await times out after
ten minutes. The programs read the registry first and hold the workload at zero replicas while the
repository holds no image at all (`ImageCheck.holds_nothing`): the platform comes up, the registry
exists, and the next `pulumi up` after the first push starts the pods. A tag missing from a
repository that already holds images is a mistake (an unpushed release, a typo), never a reason to
scale a running workload down: that stops the program with an error naming the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageCheck:
    """What the registry answered for one repository: the tags it holds (empty when it does not exist yet)."""

    repository: str  # how a person names it: `crm-dr/crm-api` (ECR), `crm-dr/crm-api` in Artifact Registry
    tag: str
    held_tags: Sequence[str] = ()
    source: str = ""  # the data source that answered, for the messages

    @property
    def present(self) -> bool:
        return self.tag in self.held_tags

    @property
    def holds_nothing(self) -> bool:
        """No image at all: the registry is new (or not created yet) and the application was never pushed."""
        return not self.held_tags
