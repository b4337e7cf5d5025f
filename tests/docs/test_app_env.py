"""docs/architecture.md's app_env table names exactly the keys the stacks put in the application's app_env, in the shapes they have."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import ALL_STACKS
from tests.helpers import markdown_table
from tools.engine.engine import reveal

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
APP_ENV_SECRETS = {
    "aws:secretsmanager/secretVersion:SecretVersion": "secretString",
    "gcp:secretmanager/secretVersion:SecretVersion": "secretData",
}


def _table() -> list[list[str]]:
    return markdown_table(DOC, "| key | AWS | GCP |")


def _payloads(shipped) -> dict[str, dict[str, str]]:
    found = {}
    for stack in ALL_STACKS:
        for r in shipped(stack, preview=False).resources:
            if r.type in APP_ENV_SECRETS and r.name.endswith("-app-env"):
                found[stack] = json.loads(reveal(r.inputs[APP_ENV_SECRETS[r.type]]))
    return found


def test_the_table_names_every_key_the_stacks_set_and_no_other(shipped):
    documented = {key for row in _table() for key in re.findall(r"`([A-Z][A-Z0-9_]+)`", row[0])}
    payloads = _payloads(shipped)
    assert {"aws-dr", "gcp-dr"} <= set(payloads)
    assert documented == set().union(*payloads.values())


def test_the_documented_kafka_address_on_gcp_is_the_shape_the_stack_sets(shipped):
    [row] = [row for row in _table() if "`KAFKA_BOOTSTRAP_SERVERS`" in row[0]]
    shape = re.search(r"`(<cluster>[^`]+)`", row[2]).group(1)
    pattern = re.escape(shape).replace(re.escape("<cluster>"), r"[a-z0-9-]+").replace(re.escape("<namespace>"), r"[a-z0-9-]+")
    address = _payloads(shipped)["gcp-dr"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert re.fullmatch(pattern, address), (shape, address)
