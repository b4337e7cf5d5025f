"""The problems found in a stack's config, collected instead of stopping at the first; raw values decoded."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NAMESPACE = "crm"
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigValidationError(Exception):
    """Raised with every problem found in a stack's config; nothing has been registered yet."""

    def __init__(self, stack: str, problems: Sequence[ConfigProblem]):
        self.stack = stack
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"stack '{stack}' has {len(self.problems)} config error(s):\n{lines}")


class Unavailable(Exception):
    """A value that could not be read because it (or what its default derives from) is wrong; already reported."""


class Problems:
    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []
        # Problems of defaults derived from a wrong value: reported only when nothing else is, since
        # that value's own error says what to fix.
        self.deferred: list[ConfigProblem] = []
        # False once crm:environment is wrong: checks relating settings are then judged against no
        # environment at all, and their findings would only echo that one error.
        self.relations = True
        # Keys whose absence is already explained by a misspelt key close to them ("did you mean …?").
        self.suppressed: set[str] = set()

    def add(self, key: str, message: str) -> None:
        """A problem found by relating settings (or outside the schema)."""
        if self.relations:
            self.items.append(ConfigProblem(key, message))

    def value(self, key: str, message: str) -> None:
        """A problem with one value on its own: its type, limits, a rule on it, or an unknown key."""
        self.items.append(ConfigProblem(key, message))

    @contextlib.contextmanager
    def relation(self):
        """A check relating settings; skipped (with anything it added) when a value it reads is itself wrong."""
        mark = len(self.items)
        try:
            yield
        except Unavailable:
            del self.items[mark:]

    def __bool__(self) -> bool:
        return bool(self.items)


def decode(value: Any) -> Any:
    """Pulumi hands structured values to programs as JSON text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
