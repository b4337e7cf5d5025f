"""Every rule of the pack. Importing this starts nothing: tests call the rules directly."""
from __future__ import annotations

from . import aws, cloudflare, gcp, interconnect, kubernetes, stack
from .base import Resource, Rule

ALL_RULES: list[Rule] = [*aws.RULES, *gcp.RULES, *interconnect.RULES, *cloudflare.RULES, *kubernetes.RULES, *stack.RULES]
RULES_BY_NAME = {rule.name: rule for rule in ALL_RULES}
assert len(RULES_BY_NAME) == len(ALL_RULES), "rule names must be unique"

__all__ = ["ALL_RULES", "RULES_BY_NAME", "Resource", "Rule"]
