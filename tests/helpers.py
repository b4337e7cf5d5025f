"""Assertion helpers shared by tests."""
from __future__ import annotations

from typing import Any

from tools.offline import Secret


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def secret_value(value: Any) -> Any:
    assert isinstance(value, Secret), f"expected a secret, got {value!r}"
    return value.value
