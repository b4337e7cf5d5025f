"""Assertion helpers shared by tests."""

from __future__ import annotations

from typing import Any

from tools.offline import Secret


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def secret_value(value: Any) -> Any:
    assert isinstance(value, Secret), f"expected a secret, got {value!r}"
    return value.value


def provider_value(resource: Any, key: str) -> Any:
    """What the (fake) provider reports for `resource`'s `key` after a test `up` (preview=False).

    Lets a test assert "equals resource X's endpoint" instead of repeating a literal the fakes
    in tools/offline/fakes.py happen to produce.
    """
    return resource.output(key)  # the state the engine recorded from the provider's answer
