"""Assertion helpers shared by tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.engine import Secret

# The longest a test waits for a command it runs before calling it hung. Not a speed check: on a
# machine the whole team's test suites share, a preview of aws-dr that takes 2 s alone took 85 s
# (load average 17 on 2 cores), and a timeout near the usual time fails the run at random.
HANG_TIMEOUT_S = 600


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def secret_value(value: Any) -> Any:
    assert isinstance(value, Secret), f"expected a secret, got {value!r}"
    return value.value


def provider_value(resource: Any, key: str) -> Any:
    """What the (fake) provider reports for `resource`'s `key` after a test `up` (preview=False).

    Lets a test assert "equals resource X's endpoint" instead of repeating a literal the fakes
    in tools/engine/fakes.py happen to produce.
    """
    return resource.output(key)  # the state the engine recorded from the provider's answer


def markdown_table(path: Path, header: str) -> list[list[str]]:
    """The cells of the rows under the markdown table whose header line is `header`."""
    lines = path.read_text().splitlines()
    rows = []
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows
