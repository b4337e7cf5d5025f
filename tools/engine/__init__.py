"""The offline engine: runs the real stack programs in-process under Pulumi's mock engine: no cloud, no CLI.

`engine` runs one program and records every resource, `fakes` computes the values a provider
would return (with `data/cloudflare_ips.yaml`), `workspace` runs stacks in deploy order and feeds
their StackReferences, `cache` keeps runs on disk by content (CRM_PREVIEW_CACHE), `render` prints a preview as a tree or as JSON, and `sdk_internals` is the
one module that touches private Pulumi SDK names. The checks, reports and diff build on it.
"""

from .engine import UNKNOWN, PreviewResult, RegisteredResource, Secret, run_program, tune_garbage_collector
from .workspace import StackRun, deploy_order, preview_stack, preview_stacks

__all__ = [
    "UNKNOWN",
    "PreviewResult",
    "RegisteredResource",
    "Secret",
    "StackRun",
    "deploy_order",
    "preview_stack",
    "preview_stacks",
    "run_program",
    "tune_garbage_collector",
]
