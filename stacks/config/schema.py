"""The config schema: each section a pydantic model, each setting one field of it.

A setting is one line on a section model in `model.py`:

    disk_size_gb: int = setting("diskSizeGb", "node disk size", default=50, ge=20, le=16384)

The annotation is the attribute's type; `setting()` is a pydantic `Field` whose alias is the key in
the stack file, with the description, the default (one value, a per-environment row from `sizes.py`,
or derived from other settings), the limits, and any rule about the value alone. From that one
declaration come the validation (one `model_validate` of the section checks every value against its
type and limits), the error messages, the "did you mean …?" for a misspelt key, and the reference in
docs/configuration.md (`python -m tools.reports.config_doc`). Rules that relate several settings are
in relations.py and run only on values that are themselves valid, so one wrong value gives one error.

Reading a stack file (`read`) validates a section with a `Context` as pydantic's validation context:
`Section`'s model validator supplies the per-environment and derived defaults of the keys the file
leaves out and reports unknown keys; its field validator turns each value's pydantic errors into
problems naming the key, leaving the value `UNSET` so every other value is still read and judged.
A section built by the program itself (`Rotation(generation=1)`) is taken as given, as a plain
record would be.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import ipaddress
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from annotated_types import Ge, Le
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, PydanticUndefined

from .reader import ConfigProblem, Problems, Unavailable


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED: Any = _Sentinel("(required)")
# A value that is wrong, or derives from one that is (its problem is reported): the section is incomplete.
UNSET: Any = _Sentinel("(unavailable)")
# A key the stack file leaves out: the field validator puts the setting's default in its place.
_DEFAULT: Any = _Sentinel("(default)")
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
    nested: type | None = None  # a sub-section whose own settings are read (when the annotation is not that section)
    file_type: Any = None  # the type in the stack file, resolved when the section is declared

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

    def reads(self, cloud: str | None) -> bool:
        return self.clouds is None or cloud is None or cloud in self.clouds


def setting(key: str, description: str, *, default: Any = REQUIRED, attr_default: Any = REQUIRED, **kwargs: Any) -> Any:
    """Declares one setting on a section model: a pydantic field aliased to its key (see the module docstring).

    `attr_default` gives the attribute a default of its own (for stacks that do not read the
    setting, see `clouds`); otherwise a single `default` is also the attribute's.
    """
    declared = Setting(key, description, default=default, **kwargs)
    python_default = attr_default if attr_default is not REQUIRED else default
    single = kwargs.get("by_env") is None and kwargs.get("derive") is None and kwargs.get("convert") is None
    if python_default is REQUIRED or (attr_default is REQUIRED and not single):
        python_default = PydanticUndefined
    return Field(python_default, alias=key, description=description, json_schema_extra={"setting": declared})  # type: ignore[arg-type]


def setting_of(info: FieldInfo) -> Setting | None:
    extra = info.json_schema_extra
    return extra.get("setting") if isinstance(extra, dict) else None  # type: ignore[return-value]


def settings_of(cls: type[BaseModel]) -> list[tuple[Declared, Setting]]:
    """(field, setting) of each setting of a section, in declaration order."""
    found = []
    for name, info in cls.model_fields.items():
        spec = setting_of(info)
        if spec is not None:
            found.append((Declared(name, info), spec))
    return found


@dataclass(frozen=True)
class Declared:
    name: str  # the attribute
    info: FieldInfo


class Section(BaseModel):
    """A section of the stack file (`crm:network`) or a sub-object of one (`crm:loadBalancer.monitor`).

    Frozen like the records it replaces; built positionally or by attribute name by the program, by
    key (the alias) or name when validated.
    """

    model_config = ConfigDict(
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",  # unknown keys are reported by `_from_file`, with the nearest known key
        arbitrary_types_allowed=True,
        coerce_numbers_to_str=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            kwargs.update(zip(type(self).model_fields, args, strict=False))
        super().__init__(**kwargs)

    # Validation (`model_validate`) does not go through this constructor, and so keeps its context.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _type_settings(cls)

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any, info: Any) -> Any:
        """Reading a stack file: unknown keys reported, and every setting the file leaves out marked for its default."""
        context = info.context
        if not isinstance(context, Context) or not isinstance(data, Mapping):
            return data
        prefix = context.prefix
        declared = [(f.name, s) for f, s in settings_of(cls) if s.reads(context.cloud) and f.name not in context.exclude]
        known = {s.key for _, s in declared}
        for name in sorted({k for k, v in data.items() if v is not None} - known, key=str):
            moved = MOVED_KEYS.get(f"{prefix}{name}")
            if moved:
                context.problems.value(f"{prefix}{name}", f"has moved to {moved}")
            else:
                context.problems.value(f"{prefix}{name}", unknown_key_message(str(name), known, prefix=prefix))
        values = {name: data[s.key] if data.get(s.key) is not None else _DEFAULT for name, s in declared}
        for name, field in cls.model_fields.items():
            if name not in values and field.is_required():
                values[name] = UNSET  # not read here (another kind of stack's setting, or set by the program)
        return values

    @field_validator("*", mode="wrap")
    @classmethod
    def _setting_value(cls, value: Any, handler: Callable[[Any], Any], info: Any) -> Any:
        """One setting's value, validated; its problems are recorded and the value left UNSET."""
        context = info.context
        if not isinstance(context, Context):
            return value  # built by the program: taken as given
        spec = setting_of(cls.model_fields[info.field_name])
        if value is UNSET or spec is None:
            return value
        path = context.path(spec.key)
        defaulted = value is _DEFAULT
        nested = _nested(cls, info.field_name)
        if nested is not None:
            raw = {} if defaulted else value
            if not isinstance(raw, Mapping):
                context.problems.value(path, f"must be an object, got {_type_name(raw)}")
                return UNSET
            with context.entering(path):
                section = handler(raw)
            if not complete(section, context.cloud):
                return UNSET
            return spec.convert(section) if spec.convert else section
        if defaulted:
            try:
                value = spec.default_for(context.with_values(info.data))
            except LookupError:
                context.problems.value(path, f"is required but not set ({spec.description})")
                return UNSET
            except Unavailable:
                return UNSET
        try:
            typed = handler(value)
        except ValidationError as error:
            found = [ConfigProblem(_path(path, e["loc"]), message(e, spec, spec.file_type)) for e in error.errors(include_url=False)]
            # A default derived from a wrong value: that value's own error says what to fix.
            (context.problems.deferred if defaulted else context.problems.items).extend(found)
            return UNSET
        return spec.convert(typed) if spec.convert else typed


def complete(section: BaseModel, cloud: str | None = None, exclude: Iterable[str] = ()) -> bool:
    """True when every setting the stack's kind reads has a valid value."""
    return not any(getattr(section, f.name) is UNSET for f, s in settings_of(type(section)) if s.reads(cloud) and f.name not in exclude)


def _type_settings(cls: type) -> None:
    """Gives each setting of a section being declared its type in the stack file, with the setting's limits and rules."""
    annotations = cls.__annotations__  # the class's own (Python 3.10+), read by pydantic after this hook
    namespace = {**vars(sys.modules[cls.__module__]), **vars(cls)}
    for name, annotation in list(annotations.items()):
        info = cls.__dict__.get(name)
        spec = setting_of(info) if isinstance(info, FieldInfo) else None
        if spec is None:
            continue
        kind = eval(annotation, namespace) if isinstance(annotation, str) else annotation  # the class body's own annotation text
        file_type = spec.nested or spec.value_type or kind
        object.__setattr__(spec, "file_type", file_type)  # the declaration's own record, completed once
        annotations[name] = file_type if _section_type(file_type) is not None else _value_type(file_type, spec)


def _section_type(kind: Any) -> type | None:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _nested(cls: type[BaseModel], name: str) -> type | None:
    """The sub-section a setting holds (None for a plain value)."""
    spec = setting_of(cls.model_fields[name])
    return None if spec is None else _section_type(spec.file_type)


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
    """The validation context of a stack file's sections: what defaults derive from, and where problems go.

    `common` is the stack's common settings, `extra` what defaults take from other sections; a
    derived default reads this section's values before it as `context["name"]`.
    """

    common: Any
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    environment_valid: bool = True
    problems: Problems = dataclasses.field(default_factory=Problems)
    cloud: str | None = None
    exclude: frozenset[str] = frozenset()
    prefixes: list[str] = dataclasses.field(default_factory=list)  # the section being read, innermost last

    @property
    def env(self) -> str:
        if not self.environment_valid:
            raise Unavailable("crm:environment")
        return self.common.environment

    def __getitem__(self, name: str) -> Any:
        value = self.values.get(name, UNSET)
        if value is not UNSET:
            return value
        if name in self.extra:
            return self.extra[name]
        raise Unavailable(name)

    @property
    def prefix(self) -> str:
        return self.prefixes[-1]

    def path(self, key: str) -> str:
        return f"{self.prefix}{key}"

    @contextlib.contextmanager
    def entering(self, path: str) -> Iterator[None]:
        self.prefixes.append(f"{path}.")
        try:
            yield
        finally:
            self.prefixes.pop()

    def with_values(self, values: Mapping[str, Any]) -> Context:
        return dataclasses.replace(self, values=values)


class Parsed:
    """A section as read: its valid values by attribute name; reading a wrong one raises Unavailable."""

    _section: BaseModel | None

    def __init__(self, key: str, section: BaseModel | None, complete: bool, given: set[str]):
        self._key, self._section, self._complete, self._given = key, section, complete, given

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = UNSET if self._section is None else getattr(self._section, name, UNSET)
        if value is UNSET:
            raise Unavailable(f"{self._key}.{name}")
        return value

    @property
    def _values(self) -> dict[str, Any]:
        if self._section is None:
            return {}
        return {name: value for name, value in self._section if value is not UNSET}

    def given(self, key: str) -> bool:
        """True when the stack file sets `key` (the name in the file) in this section."""
        return key in self._given

    @property
    def complete(self) -> bool:
        return self._complete

    def build(self) -> Any:
        if not self._complete or self._section is None:
            raise Unavailable(self._key)
        return self._section


def read(
    problems: Problems,
    key: str,
    raw: Any,
    cls: type[Section],
    context: Context,
    *,
    cloud: str | None = None,
    separator: str = ".",
    exclude: Iterable[str] = (),
) -> Parsed:
    """Validates one section (`crm:network`) with one `model_validate`; every problem is added to `problems`."""
    if key in problems.suppressed:
        return Parsed(key, None, False, set())
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.value(key, f"must be an object, got {_type_name(raw)}")
        return Parsed(key, None, False, set())
    reading = dataclasses.replace(
        context, problems=problems, cloud=cloud, exclude=frozenset(exclude), prefixes=[f"{key}{separator}"], values={}
    )
    section = cls.model_validate(raw, context=reading)
    given = {str(k) for k in raw if raw.get(k) is not None}
    return Parsed(key, section, complete(section, cloud, exclude), given)


def known_keys(cls: type[BaseModel], cloud: str | None = None) -> list[str]:
    return [s.key for _, s in settings_of(cls) if s.reads(cloud)]


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
