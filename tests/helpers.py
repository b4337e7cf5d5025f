"""Assertion helpers shared by tests."""
from __future__ import annotations

import json
from typing import Any

from stacks.offline import Secret, UNKNOWN


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def secret_value(value: Any) -> Any:
    assert isinstance(value, Secret), f"expected a secret, got {value!r}"
    return value.value


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def json_input(value: Any) -> Any:
    if isinstance(value, Secret):
        value = value.value
    return json.loads(value)
