"""The per-cloud stack programs and the one place that picks between them.

`crm:cloud` in the stack's config names the program: `aws`, `gcp`, `cloudflare` (the global
stack) or `bootstrap` (state backend, secrets key and CI identities, deployed first). Programs receive the typed, validated config and compose components; they never read
`pulumi.Config` themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .config import ConfigValidationError, StackConfig, find_placeholders, load, load_from_pulumi, raw_from_pulumi

PROGRAMS: dict[str, str] = {
    "aws": "stacks.aws_stack",
    "gcp": "stacks.gcp_stack",
    "cloudflare": "stacks.global_stack",
    "bootstrap": "stacks.bootstrap_stack",
}


def program_for(config: StackConfig) -> Callable[[StackConfig], None]:
    module = importlib.import_module(PROGRAMS[config.common.cloud])
    return module.program


def run() -> None:
    """Reads and validates config, then runs the chosen program. Raises ConfigValidationError first."""
    config = load_from_pulumi()
    program_for(config)(config)


def main(*, refuse_placeholders: bool | None = None) -> None:
    """The Pulumi CLI's entry: as `run`, but a config problem ends the program cleanly (no traceback),
    and `pulumi up` refuses the shipped placeholder values before anything is registered.

    `refuse_placeholders` defaults to "when not a preview". The offline engine's runs against fake
    providers (tests, `tools path`) are not deploys and pass False; everything else is this same path.
    """
    import pulumi

    if refuse_placeholders is None:
        refuse_placeholders = not pulumi.runtime.is_dry_run()

    try:
        raw = raw_from_pulumi()
        config = load(pulumi.get_stack(), raw)
        placeholders = find_placeholders(raw)
        if placeholders and refuse_placeholders:
            raise ConfigValidationError(pulumi.get_stack(), placeholders)
        for placeholder in placeholders:
            pulumi.log.warn(f"{placeholder} (a preview is fine; `pulumi up` will refuse it)")
        # A program may refuse a value only the clouds can judge (an image tag its registry lacks) before it registers anything.
        program_for(config)(config)
    except ConfigValidationError as error:
        raise pulumi.RunError(str(error)) from None
