"""Starts the policy pack's analyzer (the Pulumi CLI runs this: `pulumi preview --policy-pack policies`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.rules import ALL_RULES

PolicyPack(
    name="crm-platform",
    description="Guards every stack of the CRM DR platform",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[rule.to_policy() for rule in ALL_RULES],
)
