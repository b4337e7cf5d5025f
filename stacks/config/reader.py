"""Reads raw config values into typed values, collecting every problem instead of stopping at the first.

A `Section` wraps one config object (for example `crm:database`). Each accessor returns a usable
fallback when the value is wrong, so parsing continues and the user sees all errors at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

NAMESPACE = "crm"
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MISSING = object()


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


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


class Section:
    """One config object, addressed as `<namespace>:<name>` in messages."""

    def __init__(self, problems: Problems, key: str, raw: Any):
        self.problems = problems
        self.key = key
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            problems.value(key, f"must be an object, got {_type_name(raw)}")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self._read: set[str] = set()

    def _path(self, name: str) -> str:
        return f"{self.key}.{name}"

    def _get(self, name: str, default: Any) -> Any:
        self._read.add(name)
        value = self.raw.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                self.problems.value(self._path(name), "is required but not set")
                return None
            return default
        return value

    def string(self, name: str, default: Any = _MISSING, choices: Optional[Iterable[str]] = None) -> str:
        value = self._get(name, default)
        if value is None:
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.problems.value(self._path(name), f"must be a string, got {_type_name(value)}")
            return "" if default is _MISSING else default
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                self.problems.value(self._path(name), f"must be one of {', '.join(allowed)}; got '{value}'")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._get(name, default)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            if value is not None:
                self.problems.value(self._path(name), f"must be true or false, got '{value}'")
            return bool(default) if default is not _MISSING else False
        return value

    def integer(self, name: str, default: Any = _MISSING, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
        value = self._get(name, default)
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            if value is not None:
                self.problems.value(self._path(name), f"must be a whole number, got '{value}'")
            return default if isinstance(default, int) else 0
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "" if minimum is None else str(minimum)
            high = "" if maximum is None else str(maximum)
            self.problems.value(self._path(name), f"must be between {low or '-inf'} and {high or 'inf'}, got {value}")
        return value

    def number(self, name: str, default: Any = _MISSING, minimum: Optional[float] = None) -> Optional[float]:
        """A whole or decimal number (sizes, money, usage figures); None when missing or wrong."""
        value = self._get(name, default)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if value is not None:
                self.problems.value(self._path(name), f"must be a number, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.problems.value(self._path(name), f"must be at least {minimum:g}, got {value:g}")
            return None
        return float(value)

    def strings(self, name: str, default: Any = _MISSING) -> list[str]:
        value = self._get(name, default)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.value(self._path(name), f"must be a list of strings, got {value!r}")
            return []
        return list(value)

    def integers(self, name: str, default: Any = _MISSING) -> list[int]:
        value = self._get(name, default)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            self.problems.value(self._path(name), f"must be a list of whole numbers, got {value!r}")
            return list(default) if isinstance(default, list) else []
        return list(value)

    def network(self, name: str, default: Any = _MISSING) -> Optional[ipaddress.IPv4Network]:
        value = self._get(name, default)
        if value is None:
            return None
        return parse_cidr(self.problems, self._path(name), value)

    def networks(self, name: str, default: Any = _MISSING) -> list[ipaddress.IPv4Network]:
        values = self.strings(name, default)
        parsed = [parse_cidr(self.problems, f"{self._path(name)}[{i}]", v) for i, v in enumerate(values)]
        return [p for p in parsed if p is not None]

    def section(self, name: str) -> "Section":
        self._read.add(name)
        return Section(self.problems, self._path(name), self.raw.get(name))

    def finish(self) -> None:
        """Reports keys nobody read: a misspelt key must not silently fall back to a default."""
        from .schema import unknown_key_message

        for name in sorted(set(self.raw) - self._read):
            self.problems.value(self._path(name), unknown_key_message(str(name), self._read, prefix=f"{self.key}."))


def parse_cidr(problems: Problems, key: str, value: Any) -> Optional[ipaddress.IPv4Network]:
    if not isinstance(value, str):
        problems.add(key, f"must be a CIDR string such as 10.0.0.0/16, got {value!r}")
        return None
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        problems.add(key, f"'{value}' is not a valid IPv4 CIDR ({error})")
        return None


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


def check_hosts(problems: Problems, key: str, hosts: Sequence[str]) -> None:
    for i, host in enumerate(hosts):
        if not HOST_NAME.match(host):
            problems.add(f"{key}[{i}]", f"'{host}' is not a lower-case DNS host name")
