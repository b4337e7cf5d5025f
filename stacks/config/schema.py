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
from typing import Annotated, Any, ClassVar, Literal, Optional

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, PydanticUndefined

from . import rules
from .reader import NAMESPACE, ConfigProblem, Problems, Unavailable


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
    def _from_file(cls, data: Any, info: ValidationInfo) -> Any:
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
    def _setting_value(cls, value: Any, handler: Callable[[Any], Any], info: ValidationInfo) -> Any:
        """One setting's value, validated; its problems are recorded and the value left UNSET."""
        context = info.context
        if not isinstance(context, Context):
            return value  # built by the program: taken as given
        name = typing.cast(str, info.field_name)
        spec = setting_of(cls.model_fields[name])
        if value is UNSET or spec is None:
            return value
        path = context.path(spec.key)
        defaulted = value is _DEFAULT
        nested = _nested(cls, name)
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
    # Reading a whole stack file (StackModel): its name, the provider settings the program reads, the
    # keys each section sets, and whether every value was valid.
    stack: str = ""
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    provider: dict[str, str] = dataclasses.field(default_factory=dict)
    given: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    complete: bool = True

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


# ---------------------------------------------------------------- the stack file

# Provider settings the programs read (outside the `crm` namespace), by kind of stack.
PROVIDER_SETTINGS = {
    "aws:region": Setting("aws:region", "AWS region of the stack", clouds=("aws", "bootstrap")),
    "gcp:project": Setting("gcp:project", "GCP project of the stack", clouds=("gcp", "bootstrap")),
    "gcp:region": Setting("gcp:region", "GCP region of the stack", clouds=("gcp", "bootstrap")),
    "cloudflare:apiToken": Setting(
        "cloudflare:apiToken",
        "Cloudflare API token (`pulumi config set --secret`; without it CLOUDFLARE_API_TOKEN); bootstrap: one that may create tokens",
        default=None,
        clouds=("aws", "gcp", "cloudflare", "bootstrap"),
    ),
}
# A key in a provider's namespace this close to a setting the program reads, while that setting is
# unset, is a misspelling of it (`aws:regin`); other provider keys (`aws:profile`) are the provider's.
_PROVIDER_TYPO_CUTOFF = 0.75


@dataclass(frozen=True)
class Part:
    """Where a field of a stack's typed config comes from in the stack file."""

    kind: Literal["common", "provider", "section", "top-level"]
    key: str = ""  # the provider setting (`aws:region`), or the section (`network` for crm:network)
    optional: bool = False  # a section read only when the file has it (None otherwise)
    model: type[Section] | None = None  # top-level settings: the section model declaring them


def common_part() -> Any:
    """The stack's common top-level settings (`crm:cloud`, `crm:environment`, ...)."""
    return Field(json_schema_extra=_extra(Part("common")))


def provider_part(key: str) -> Any:
    """A provider setting the program reads (`aws:region`)."""
    return Field(json_schema_extra=_extra(Part("provider", key)))


def section_part(key: str, *, optional: bool = False, default_factory: Callable[[], Any] | None = None) -> Any:
    """A section of the stack file, `crm:<key>`, read into the field's section model."""
    extra = _extra(Part("section", key, optional))
    if default_factory is not None:
        return Field(default_factory=default_factory, alias=key, json_schema_extra=extra)
    return Field(None if optional else PydanticUndefined, alias=key, json_schema_extra=extra)


def top_level_part(model: type[Section]) -> Any:
    """A top-level setting of one kind of stack (`crm:deployProjects`), declared on `model` under the field's name."""
    return Field(json_schema_extra=_extra(Part("top-level", model=model)))


def _extra(part: Part) -> Any:
    """Where the field comes from, kept with the field (pydantic carries `json_schema_extra` as given)."""
    return {"part": part}


def _part_of(info: FieldInfo) -> Part | None:
    extra = info.json_schema_extra
    return extra.get("part") if isinstance(extra, dict) else None  # type: ignore[return-value]


class StackModel(BaseModel):
    """A kind of stack's typed config, read from its stack file in one `model_validate`.

    Its fields are the parts of the file (common settings, provider settings, sections) in the order
    they are judged; each kind's model validator relates the values that are valid (relations.py).
    Validation takes the stack's `namespace:key -> value` mapping with a `Context` (stacks/config/__init__.py).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, validate_by_name=True, validate_by_alias=True)

    CLOUD: ClassVar[str]

    @classmethod
    def parts(cls) -> list[tuple[str, Part]]:
        found = []
        for name, info in cls.model_fields.items():
            part = _part_of(info)
            if part is not None:
                found.append((name, part))
        return found

    @classmethod
    def sections(cls) -> dict[str, type[Section]]:
        """`crm:<name>` -> the section model of each section this kind of stack reads, in order."""
        return {part.key: _field_section(cls, name) for name, part in cls.parts() if part.kind == "section"}

    @classmethod
    def top_level(cls) -> tuple[type[Section], ...]:
        """The section models declaring this kind's own top-level settings."""
        return tuple(part.model for _, part in cls.parts() if part.model is not None)

    @classmethod
    def common_model(cls) -> type[Section]:
        return next(_field_section(cls, name) for name, part in cls.parts() if part.kind == "common")

    @classmethod
    def known_keys(cls) -> tuple[str, ...]:
        """The `crm:` keys a stack of this kind reads."""
        return (
            tuple(known_keys(cls.common_model(), cls.CLOUD))
            + tuple(cls.sections())
            + tuple(key for model in cls.top_level() for key in known_keys(model, cls.CLOUD))
        )

    @classmethod
    def derived_from(cls, part: str, read: Mapping[str, Any], context: Context) -> dict[str, Any]:
        """What a part's derived defaults read from the parts before it (`Context.extra`)."""
        return {}

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any, info: ValidationInfo) -> Any:
        """The stack file's `namespace:key -> value` split into the parts of the typed config."""
        context = info.context
        if not isinstance(context, Context):
            return data
        top = {key.partition(":")[2]: value for key, value in data.items() if key.partition(":")[0] == NAMESPACE}
        split: dict[str, Any] = {}
        for name, part in cls.parts():
            if part.kind == "common":
                split[name] = {key: top.get(key) for key in known_keys(cls.common_model())}
            elif part.kind == "provider":
                split[name] = provider_value(data, part.key)
            elif part.kind == "section":
                split[name] = top.get(part.key)
            else:
                assert part.model is not None
                split[name] = {key: top.get(key) for key in known_keys(part.model, cls.CLOUD)}
        context.raw = data
        return split

    @field_validator("*", mode="wrap")
    @classmethod
    def _read_part(cls, value: Any, handler: Callable[[Any], Any], info: ValidationInfo) -> Any:
        context, name = info.context, typing.cast(str, info.field_name)
        part = _part_of(cls.model_fields[name])
        if not isinstance(context, Context) or part is None:
            return handler(value)
        problems = context.problems
        if part.kind == "provider":
            return value
        if part.kind == "common":
            return _read_common(cls, value, handler, context)
        context.exclude, context.extra = frozenset(), cls.derived_from(part.key or name, info.data, context)
        if part.kind == "top-level":
            assert part.model is not None
            context.prefixes = [f"{NAMESPACE}:"]
            declared = part.model.model_validate(value, context=context)
            if not complete(declared, cls.CLOUD):
                context.complete = False
                return UNSET
            return getattr(declared, name)
        key = f"{NAMESPACE}:{part.key}"
        if part.optional and value is None:
            return None
        if key in problems.suppressed:  # a misspelt key stands for it, and says so
            context.complete = False
            return UNSET
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            problems.value(key, f"must be an object, got {_type_name(value)}")
            context.complete = False
            return UNSET
        context.prefixes = [f"{key}."]
        section = handler(value)
        context.given[part.key] = {str(k) for k in value if value.get(k) is not None}
        if not complete(section, cls.CLOUD):
            context.complete = False
        return section

    def related(self, info: ValidationInfo, rules: Callable[..., None]) -> Any:
        """Runs the rules relating this kind's settings on the values that are valid; the typed config when every value is."""
        context = info.context
        if not isinstance(context, Context):
            return self
        sections = {}
        for name, part in type(self).parts():
            if part.kind != "section":
                continue
            value = getattr(self, name)
            if value is None:
                continue  # an optional section the file does not have
            section = None if value is UNSET else value
            whole = section is not None and complete(section, type(self).CLOUD)
            sections[part.key] = Parsed(f"{NAMESPACE}:{part.key}", section, whole, context.given.get(part.key, set()))
        rules(context.problems, self.common, sections, context.provider)  # type: ignore[attr-defined]
        return self.finished(context, sections) if context.complete else self

    def finished(self, context: Context, sections: Mapping[str, Parsed]) -> Any:
        """The typed config once every value is valid (each kind adds what it derives from several parts)."""
        return self


def _field_section(cls: type[BaseModel], name: str) -> type[Section]:
    kind = _section_type(cls.model_fields[name].annotation)
    assert kind is not None, f"{cls.__name__}.{name} is not a section"
    return kind


def _read_common(cls: type[StackModel], value: Mapping[str, Any], handler: Callable[[Any], Any], context: Context) -> Any:
    """The common settings: the environment every default depends on, the stack's name, then the provider settings."""
    context.prefixes, context.exclude, context.extra = [f"{NAMESPACE}:"], frozenset(), {}
    read = handler(value)
    values = {name: v for name, v in read if v is not UNSET and name in cls.common_model().model_fields}
    environment_valid = values.get("environment", UNSET) is not UNSET
    if not environment_valid:
        context.problems.relations = False  # checks against no environment would only echo that one error
    if not complete(read, cls.CLOUD):
        context.complete = False
    public_host = values.get("public_host", value.get("publicHost") if isinstance(value.get("publicHost"), str) else "")
    common = cls.common_model()(
        **{
            **values,
            "stack": context.stack,
            "environment": values.get("environment", str(value.get("environment"))),
            "project": values.get("project", "crm"),
            "organization": values.get("organization", "organization"),
            "public_host": public_host or "",
        }
    )
    context.common, context.environment_valid = common, environment_valid
    read_provider_keys(context.problems, context.raw, cls.CLOUD)
    context.provider = {key: provider_value(context.raw, key) for key in ("aws:region", "gcp:project", "gcp:region")}
    return common


def check_unknown_keys(problems: Problems, raw: Mapping[str, Any], cloud: str, known: Sequence[str]) -> None:
    """Top-level `crm:` keys the program does not read, and misspelt provider keys, each with the nearest known key."""
    for key in sorted(raw):
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE and name not in known:
            problems.value(key, unknown_key_message(name, known, prefix=f"{NAMESPACE}:", what=f"is not a setting of a {cloud} stack"))
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            if close and f"{NAMESPACE}:{close[0]}" not in raw:
                problems.suppressed.add(f"{NAMESPACE}:{close[0]}")
    read = [key for key, spec in PROVIDER_SETTINGS.items() if spec.reads(cloud)]
    unset = [key for key in read if raw.get(key) in (None, "")]
    for key in sorted(raw):
        namespace = key.partition(":")[0]
        if namespace == NAMESPACE or key in read or not any(k.partition(":")[0] == namespace for k in read):
            continue
        close = difflib.get_close_matches(key, unset, n=1, cutoff=_PROVIDER_TYPO_CUTOFF)
        if close:
            problems.value(key, f"is not a setting this stack reads; did you mean {close[0]}?")
            problems.suppressed.add(close[0])
            unset.remove(close[0])


def read_provider_keys(problems: Problems, raw: Mapping[str, Any], cloud: str) -> None:
    for key, spec in PROVIDER_SETTINGS.items():
        if not spec.reads(cloud) or key in problems.suppressed:
            continue
        value = raw.get(key)
        if value in (None, "") and spec.required:
            problems.value(key, "is required but not set")
        elif value not in (None, "") and not isinstance(value, str) and not (isinstance(value, Mapping) and "secure" in value):
            problems.value(key, f"must be a string, got {value!r}" if key != "cloudflare:apiToken" else "must be a string (a secret)")
    project = raw.get("gcp:project")
    if cloud == "bootstrap" and isinstance(project, str) and project and rules.gcp_project(project):
        problems.value("gcp:project", rules.gcp_project(project) or "")


def provider_value(raw: Mapping[str, Any], key: str) -> str:
    """A provider setting a program reads (`aws:region`); "" when unset or not a string (the loader reports both)."""
    value = raw.get(key)
    return value if isinstance(value, str) else ""
