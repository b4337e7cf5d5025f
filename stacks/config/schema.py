"""The config schema: each setting declared once, on the typed object that carries it.

A setting is one line on a dataclass in `model.py`:

    disk_size_gb: int = setting("diskSizeGb", "node disk size", default=50, ge=20, le=16384)

The attribute's annotation is the type; `setting()` holds the key in the stack file, the
description, the default (one value, a per-environment row from `sizes.py`, or derived from other
settings), the limits, and any rule about the value alone. From that one declaration come the
validation (pydantic checks each value against its type and limits), the error messages, the "did
you mean …?" for a misspelt key, and the reference in docs/configuration.md
(`python -m tools.reports.config_doc`). Rules that relate several settings are in relations.py and
run only on values that are themselves valid, so one wrong value gives one error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import ipaddress
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from annotated_types import Ge, Le
from pydantic import AfterValidator, BeforeValidator, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from .reader import ConfigProblem, Problems, Unavailable


class _Required:
    def __repr__(self) -> str:
        return "(required)"


REQUIRED: Any = _Required()
ENVIRONMENTS = ("dev", "staging", "production", "dr")
# Keys that moved, old -> new: a stack file written for an older release is told where each went
# (CHANGELOG.md says when) instead of being asked whether it misspelt them.
MOVED_KEYS = {
    "crm:monitoring.monthlyBudgetUsd": "crm:budget.monthlyUsd",
    "crm:monitoring.budgetAlertPercents": "crm:budget.alertPercents",
}


@dataclass(frozen=True)
class Setting:
    key: str  # the name in the stack file (camelCase), under its section
    description: str  # one line for the reference
    default: Any = REQUIRED  # one value for every environment
    by_env: Mapping[str, Any] | None = None  # environment -> default (the sizing matrix)
    derive: Callable[[Context], Any] | None = None  # default computed from other settings
    derive_doc: str = ""  # how the derived default is computed, for the reference
    ge: float | None = None
    le: float | None = None
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None  # a rule on the value alone: message or None
    item_check: Callable[[Any], str | None] | None = None  # the same for each entry of a list
    clouds: tuple[str, ...] | None = None  # the kinds of stacks that read it (None: all that read the section)
    convert: Callable[[Any], Any] | None = None  # the validated value -> the attribute's value
    value_type: Any = None  # the type in the stack file when it differs from the attribute's (see convert)
    nested: type | None = None  # a sub-object whose own settings are read (when the annotation is not that dataclass)

    def default_for(self, context: Context) -> Any:
        if self.derive is not None:
            return self.derive(context)
        if self.by_env is not None:
            return self.by_env[context.env]
        if self.default is REQUIRED:
            raise LookupError(self.key)
        return (
            list(self.default)
            if isinstance(self.default, (list, tuple)) and not isinstance(self.default, str) and self.choices is None
            else self.default
        )

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.by_env is None and self.derive is None


def setting(key: str, description: str, *, default: Any = REQUIRED, attr_default: Any = REQUIRED, **kwargs: Any) -> Any:
    """Declares one setting on a config dataclass (see the module docstring).

    `attr_default` gives the attribute a default of its own (for stacks that do not read the
    setting, see `clouds`); otherwise a single `default` is also the attribute's.
    """
    declared = Setting(key, description, default=default, **kwargs)
    python_default = attr_default if attr_default is not REQUIRED else default
    single = kwargs.get("by_env") is None and kwargs.get("derive") is None and kwargs.get("convert") is None
    if python_default is not REQUIRED and (attr_default is not REQUIRED or single):
        if isinstance(python_default, list):
            return dataclasses.field(default_factory=lambda: list(python_default), metadata={"setting": declared})
        return dataclasses.field(default=python_default, metadata={"setting": declared})
    return dataclasses.field(metadata={"setting": declared})


def section(cls: type) -> type:
    """`@dataclass(frozen=True)` for a config object whose fields are settings.

    A setting with one default gives the attribute that default; a field without a default that
    follows one with a default becomes keyword-only. So a new setting is one line added at the
    end of its dataclass, whatever its default.
    """
    seen_default = False
    for name in list(inspect.get_annotations(cls)):
        spec = cls.__dict__.get(name)
        if isinstance(spec, dataclasses.Field):
            has_default = spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING
        else:
            has_default = name in cls.__dict__
        if has_default:
            seen_default = True
        elif seen_default:
            metadata = spec.metadata if isinstance(spec, dataclasses.Field) else {}
            setattr(cls, name, dataclasses.field(metadata=metadata, kw_only=True))
    return dataclass(frozen=True)(cls)


def settings_of(cls: type) -> list[tuple[dataclasses.Field, Setting]]:
    return [(f, f.metadata["setting"]) for f in dataclasses.fields(cls) if "setting" in f.metadata]


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


# ---------------------------------------------------------------- value types


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "must be a whole number, got '{value}'", {"value": value})
    return value


def _not_bool_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "must be a number, got {value}", {"value": value})
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "must be true or false, got '{value}'", {"value": value})
    return value


def _cidr(value: Any) -> ipaddress.IPv4Network:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("cidr_type", "must be a CIDR string such as 10.0.0.0/16, got {value}", {"value": repr(value)})
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise PydanticCustomError("cidr", "'{value}' is not a valid IPv4 CIDR ({reason})", {"value": value, "reason": str(error)}) from None


def _rule(check: Callable[[Any], str | None]) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        message = check(value)
        if message:
            raise PydanticCustomError("rule", "{message}", {"message": message})
        return value

    return validate


def _value_type(annotation: Any, spec: Setting) -> Any:
    """The pydantic type of one setting: the attribute's type plus the declared limits and rules."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        annotation = typing.get_args(annotation)[0]
        origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return Optional[_value_type(members[0], spec)]  # noqa: UP045 - a type built at run time from a computed one
    if origin in (list, Sequence) or annotation in (list, tuple):
        (item,) = typing.get_args(annotation) or (str,)
        item_type = _scalar(item, Setting(spec.key, "", choices=spec.choices, check=spec.item_check))
        return Annotated[list[item_type], AfterValidator(_rule(spec.check))] if spec.check else list[item_type]
    return _scalar(annotation, spec)


def _scalar(annotation: Any, spec: Setting) -> Any:
    extras: list[Any] = []
    if annotation is bool:
        base: Any = Annotated[bool, BeforeValidator(_boolean)]
    elif annotation is int:
        base = Annotated[int, BeforeValidator(_not_bool)]
    elif annotation is float:
        base = Annotated[float, BeforeValidator(_not_bool_number)]
    elif annotation is ipaddress.IPv4Network:
        base = Annotated[ipaddress.IPv4Network, BeforeValidator(_cidr)]
    elif spec.choices is not None:
        base = Literal[tuple(spec.choices)]  # type: ignore[valid-type]
    else:
        base = annotation
    if spec.ge is not None:
        extras.append(Ge(spec.ge))
    if spec.le is not None:
        extras.append(Le(spec.le))
    if spec.check is not None:
        extras.append(AfterValidator(_rule(spec.check)))
    return Annotated[(base, *extras)] if extras else base


@functools.cache
def adapter(cls: type, name: str) -> TypeAdapter:
    spec = next(s for f, s in settings_of(cls) if f.name == name)
    return TypeAdapter(_value_type(annotation(cls, name), spec), config=ConfigDict(coerce_numbers_to_str=True))


def annotation(cls: type, name: str) -> Any:
    """The type a setting has in the stack file."""
    spec = next(s for f, s in settings_of(cls) if f.name == name)
    return spec.value_type if spec.value_type is not None else hints(cls)[name]


# ---------------------------------------------------------------- messages


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _limits(spec: Setting) -> str:
    def show(number: float | None) -> str:
        return "" if number is None else f"{number:g}"

    if spec.ge is not None and spec.le is not None:
        return f"between {show(spec.ge)} and {show(spec.le)}"
    if spec.ge is not None:
        return f"at least {show(spec.ge)}"
    return f"at most {show(spec.le)}"


def message(error: Mapping[str, Any], spec: Setting, annotation: Any) -> str:
    """One pydantic error in the words of this project's messages."""
    kind, value = error["type"], error.get("input")
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be {_limits(spec)}, got {value}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, got '{value}'"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, got {value!r}"
    if kind == "literal_error":
        return f"must be one of {', '.join(map(str, spec.choices or ()))}; got '{value}'"
    if kind == "list_type":
        item = (typing.get_args(annotation) or (str,))[0]
        noun = {int: "whole numbers", ipaddress.IPv4Network: "CIDR strings"}.get(item, "strings")
        return f"must be a list of {noun}, got {value!r}"
    if kind == "string_type":
        return f"must be a string, got {_type_name(value)}"
    if kind in ("rule", "cidr", "cidr_type", "bool_type") or not error.get("msg", "").startswith("Input"):
        return error["msg"]
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {value!r}"


def _path(base: str, loc: Iterable[Any]) -> str:
    for part in loc:
        base += f"[{part}]" if isinstance(part, int) else f".{part}"
    return base


def unknown_key_message(name: str, known: Iterable[str], *, prefix: str = "", what: str = "is not a known setting") -> str:
    """`what`, with the nearest known key when one is close (difflib)."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"{what}; did you mean {prefix}{close[0]}?" if close else f"{what} (misspelt?)"


# ---------------------------------------------------------------- reading


@dataclass
class Context:
    """What derived defaults may use: the stack's common settings, this section's valid values, and extras."""

    common: Any
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    environment_valid: bool = True

    @property
    def env(self) -> str:
        if not self.environment_valid:
            raise Unavailable("crm:environment")
        return self.common.environment

    def __getitem__(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.extra:
            return self.extra[name]
        raise Unavailable(name)


class Parsed:
    """A section's valid values by attribute name; reading a wrong one raises Unavailable."""

    def __init__(self, cls: type, key: str, values: dict[str, Any], complete: bool, given: set[str]):
        self._cls, self._key, self._values, self._complete, self._given = cls, key, values, complete, given

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise Unavailable(f"{self._key}.{name}") from None

    def set(self, name: str, value: Any) -> None:
        self._values[name] = value

    def invalidate(self) -> None:
        """A value this section takes from elsewhere is wrong (and reported there)."""
        self._complete = False

    def given(self, key: str) -> bool:
        """True when the stack file sets `key` (the name in the file) in this section."""
        return key in self._given

    @property
    def complete(self) -> bool:
        return self._complete

    def build(self, **extra: Any) -> Any:
        if not self._complete:
            raise Unavailable(self._key)
        return self._cls(**{**self._values, **extra})


def read(
    problems: Problems,
    key: str,
    raw: Any,
    cls: type,
    context: Context,
    *,
    cloud: str | None = None,
    separator: str = ".",
    exclude: Iterable[str] = (),
) -> Parsed:
    """Validates one section (`crm:network`) against the settings of `cls`; every problem is added."""
    prefix = f"{key}{separator}"
    if key in problems.suppressed:
        return Parsed(cls, key, {}, False, set())
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.value(key, f"must be an object, got {_type_name(raw)}")
        return Parsed(cls, key, {}, False, set())
    declared = [(f, s) for f, s in settings_of(cls) if (s.clouds is None or cloud is None or cloud in s.clouds) and f.name not in exclude]
    known = {s.key for _, s in declared}
    for name in sorted({k for k, v in raw.items() if v is not None} - known, key=str):
        moved = MOVED_KEYS.get(f"{prefix}{name}")
        if moved:
            problems.value(f"{prefix}{name}", f"has moved to {moved}")
        else:
            problems.value(f"{prefix}{name}", unknown_key_message(str(name), known, prefix=prefix))
    values: dict[str, Any] = {}
    complete = True
    context = dataclasses.replace(context, values=values)
    for field, spec in declared:
        path = f"{prefix}{spec.key}"
        nested = _nested(cls, field.name)
        given = raw.get(spec.key) is not None
        if nested is not None:
            parsed = read(problems, path, raw.get(spec.key), nested, context, cloud=cloud)
            if parsed.complete:
                built = parsed.build()
                values[field.name] = spec.convert(built) if spec.convert else built
            else:
                complete = False
            continue
        if given:
            value = raw[spec.key]
        else:
            try:
                value = spec.default_for(context)
            except LookupError:
                problems.value(path, f"is required but not set ({spec.description})")
                complete = False
                continue
            except Unavailable:
                complete = False
                continue
        try:
            typed = adapter(cls, field.name).validate_python(value)
        except ValidationError as error:
            complete = False
            found = [
                ConfigProblem(_path(path, e["loc"]), message(e, spec, annotation(cls, field.name))) for e in error.errors(include_url=False)
            ]
            if given:
                problems.items.extend(found)
            else:
                problems.deferred.extend(found)  # a default derived from a wrong value: that value's error says it
            continue
        values[field.name] = spec.convert(typed) if spec.convert else typed
    return Parsed(cls, key, values, complete, {str(k) for k in raw if raw.get(k) is not None})


def _nested(cls: type, name: str) -> type | None:
    spec = next(s for f, s in settings_of(cls) if f.name == name)
    if spec.nested is not None:
        return spec.nested
    kind = hints(cls)[name]
    if typing.get_origin(kind) is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    return kind if dataclasses.is_dataclass(kind) and isinstance(kind, type) else None


def known_keys(cls: type, cloud: str | None = None) -> list[str]:
    return [s.key for _, s in settings_of(cls) if s.clouds is None or cloud is None or cloud in s.clouds]


def valid_or_none(parsed: Parsed, name: str) -> Any:
    """A section's value when it is valid, else None (its own error says why)."""
    try:
        return getattr(parsed, name)
    except Unavailable:
        return None


def provider_value(raw: Mapping[str, Any], key: str) -> str:
    """A provider setting a program reads (`aws:region`); "" when unset or not a string (the loader reports both)."""
    value = raw.get(key)
    return value if isinstance(value, str) else ""
