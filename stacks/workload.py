"""What both clusters' CRM workloads take from `crm:application`, in one place (the stacks differ only in
identity, registry, secret store and ingress), and how many replicas it starts with."""

from __future__ import annotations

from typing import Any

import pulumi

from components.image_check import ImageCheck

from .config.model import ApplicationSettings
from .config.reader import ConfigProblem, ConfigValidationError

IMAGE_TAG_KEY = "crm:application.imageTag"


def workload_sizing(app: ApplicationSettings) -> dict[str, Any]:
    """The Application component's port, probes, replicas, resources and autoscaling, from config."""
    return {
        "image_tag": app.image_tag,
        "port": app.port,
        "health_path": app.health_path,
        "min_replicas": app.min_replicas,
        "max_replicas": app.max_replicas,
        "cpu_request": app.cpu_request,
        "cpu_limit": app.cpu_limit,
        "memory_request": app.memory_request,
        "memory_limit": app.memory_limit,
        "target_cpu_percent": app.target_cpu_percent,
    }


def starting_replicas(stack: str, tag: str, image: pulumi.Output[ImageCheck], rerun: str) -> pulumi.Output[int | None]:
    """The Deployment's `replicas`: None (the autoscaler's count) once the registry holds the image, 0 while it
    holds no image at all (components/image_check.py).

    The registry is read at deploy time; in the preview of the update that creates the registry the answer is
    unknown, and the preview says what will happen instead. A tag missing from a repository that already holds
    images stops the preview (and so `pulumi up`, which previews first) with an error naming the key.
    """

    async def say_when_unknown(_: str) -> None:
        if pulumi.runtime.is_dry_run() and not await image.is_known():
            pulumi.log.warn(
                f"{IMAGE_TAG_KEY} '{tag}': the application's registry is created in this update and holds no image yet, so "
                f"the workload will be created with 0 replicas and its autoscaler stays inactive; everything else deploys. "
                f"Push the image (`python -m tools first-deploy {stack}` prints the command), then {rerun}."
            )

    def decide(check: ImageCheck) -> int | None:
        if check.present:
            return None
        if check.holds_nothing:
            pulumi.log.warn(
                f"{IMAGE_TAG_KEY} '{check.tag}': {check.repository} holds no image yet ({check.source}), so the workload "
                f"runs 0 replicas and its autoscaler stays inactive; everything else deploys. Push "
                f"{check.repository}:{check.tag} (`python -m tools first-deploy {stack}` prints the command), then {rerun}."
            )
            return 0
        held = ", ".join(list(check.held_tags)[-5:])
        problem = ConfigProblem(
            IMAGE_TAG_KEY,
            f"'{check.tag}' is not in {check.repository} (it holds {held}; {check.source}): push it first, or name a tag it holds",
        )
        try:
            raise ConfigValidationError(stack, [problem])
        except ConfigValidationError as error:
            raise pulumi.RunError(str(error)) from None

    explained = pulumi.Output.from_input(stack).apply(say_when_unknown)
    return pulumi.Output.all(image, explained).apply(lambda values: decide(values[0]))
