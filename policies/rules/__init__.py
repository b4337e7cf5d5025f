"""Every rule of the pack. Importing this starts nothing: tests call the rules directly."""

from __future__ import annotations

from . import aws, cloudflare, encryption, fault_injection, gcp, hardening, identity, interconnect, kubernetes, monitoring, stack, state
from .base import Resource, Rule

ALL_RULES: list[Rule] = [
    *aws.RULES,
    *gcp.RULES,
    *interconnect.RULES,
    *cloudflare.RULES,
    *stack.RULES,
    *identity.RULES,
    *state.RULES,
    *monitoring.RULES,
    *kubernetes.RULES,
    *hardening.RULES,
    *encryption.RULES,
    *fault_injection.RULES,
]
RULES_BY_NAME = {rule.name: rule for rule in ALL_RULES}
assert len(RULES_BY_NAME) == len(ALL_RULES), "rule names must be unique"

__all__ = ["ALL_RULES", "RULES_BY_NAME", "Resource", "Rule"]
