"""The secret header value that proves a request to the GCP origin came through this Cloudflare zone.

Cloudflare's published ranges are shared by every Cloudflare customer, and the GKE Gateway cannot ask
for a client certificate (GKE's GCPGatewayPolicy offers only allowGlobalAccess, region and sslPolicy:
GoogleCloudPlatform/gke-gateway-api config/crd, docs/hardening.md). So the global stack adds a header
with a secret value to every request of the zone and to the monitor's health checks, and Cloud Armor
refuses requests without it (components/gcp/cloud_armor.py). The AWS stack of the DR pair reads the accepted
values back and its ALB requires them too (components/aws/alb.py, stacks/aws_stack.py).

Rotation without an outage: two generated values in slots A and B. `crm:rotation` replaces one slot per
rotation step (A on odd steps, B on even ones); `current` is the slot replaced last, what the global stack
should send. Cloud Armor accepts both slots and also `still_sent`, the value the global stack sent at its
last deploy, read back from it: when the step moves by more than one between deploys of this stack (two
intervals elapsed, a generation raised by two, rotation first switched on) both slots are replaced at
once, and the value Cloudflare still sends stays accepted until `global` is deployed and this stack after
it (docs/runbooks/rotation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components.base import Component

VALUE_LENGTH = 48


@dataclass
class OriginAuthSecretArgs:
    rotation_step: int | None = None  # crm:rotation's step (stacks/config/model.py Rotation.step); None: never rotated
    # Secret: the value the global stack sends now (its output originAuthHeader); None before its first deploy.
    still_sent: pulumi.Input[str | None] | None = None


def accepted_values(slots: Sequence[str], still_sent: str | None) -> list[str]:
    """The slots' values and the one Cloudflare still sends, each once."""
    return list(dict.fromkeys([*slots, *([still_sent] if still_sent else [])]))


class OriginAuthSecret(Component):
    accepted: pulumi.Output[list[str]]
    current: pulumi.Output[str]

    def __init__(self, name: str, args: OriginAuthSecretArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:OriginAuthSecret", name, None, opts)
        step = args.rotation_step
        keepers = {
            "a": {"origin-auth": f"a{(step + 1) // 2}"} if step is not None else None,
            "b": {"origin-auth": f"b{step // 2}"} if step is not None else None,
        }
        # Letters and digits only: the value sits in a Cloud Armor expression and an HTTP header.
        self.slots = {
            slot: random.RandomPassword(
                f"{name}-{slot}", length=VALUE_LENGTH, special=False, keepers=keepers[slot], opts=pulumi.ResourceOptions(parent=self)
            )
            for slot in ("a", "b")
        }
        current = "a" if step is None or step % 2 else "b"
        self.current = pulumi.Output.secret(self.slots[current].result)
        slot_values = [p.result for p in self.slots.values()]
        self.accepted = pulumi.Output.secret(
            pulumi.Output.all(pulumi.Output.all(*slot_values), args.still_sent).apply(lambda v: accepted_values(v[0], v[1]))
        )
        self.register_outputs({"accepted": pulumi.Output.secret(self.accepted), "current": pulumi.Output.secret(self.current)})
