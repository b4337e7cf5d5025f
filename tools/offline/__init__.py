"""Runs the real stack programs in-process under Pulumi's mock engine: no cloud, no CLI."""

from .engine import PreviewResult, RegisteredResource, Secret, UNKNOWN, run_program
from .workspace import StackRun, deploy_order, preview_stack, preview_stacks

__all__ = [
    "PreviewResult",
    "RegisteredResource",
    "Secret",
    "UNKNOWN",
    "run_program",
    "StackRun",
    "deploy_order",
    "preview_stack",
    "preview_stacks",
]
