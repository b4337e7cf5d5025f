"""External Secrets Operator: several controllers, one of them reconciling at a time."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_STACKS

RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.mark.parametrize("stack", [s for s in ALL_STACKS if s.startswith(("aws-", "gcp-"))])
def test_replicated_controllers_elect_a_leader(stack, shipped):
    releases = [r for r in shipped(stack).of_type(RELEASE) if r["chart"] == "external-secrets"]
    assert len(releases) == 1
    values = releases[0]["values"]
    # Without leader election every replica reconciles every ExternalSecret (chart 2.9.0 defaults leaderElect to false).
    assert values["replicaCount"] > 1 and values["leaderElect"] is True
