"""The problems found in a stack's config, collected instead of stopping at the first, and the checks
on network ranges and node counts that the parsers of each kind of stack share.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Sequence

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


def check_no_overlap(problems: Problems, named: Sequence[tuple[str, Optional[ipaddress.IPv4Network]]], context: str = "") -> None:
    """Adds one problem per overlapping pair of ranges."""
    ranges = [(k, n) for k, n in named if n is not None]
    for i, (key_a, net_a) in enumerate(ranges):
        for key_b, net_b in ranges[i + 1 :]:
            if net_a.overlaps(net_b):
                problems.add(key_a, f"range {net_a} overlaps {key_b} ({net_b}){context}")


def check_within(
    problems: Problems, key: str, net: Optional[ipaddress.IPv4Network], parent_key: str, parent: Optional[ipaddress.IPv4Network]
) -> None:
    if net is not None and parent is not None and not net.subnet_of(parent):
        problems.add(key, f"range {net} is not inside {parent_key} ({parent})")


def check_counts(problems: Problems, key: str, minimum: int, desired: int, maximum: int, names: tuple[str, str, str]) -> None:
    if not minimum <= desired <= maximum:
        low, mid, high = names
        problems.add(key, f"node counts must satisfy {low} <= {mid} <= {high}; got {minimum} <= {desired} <= {maximum}")
