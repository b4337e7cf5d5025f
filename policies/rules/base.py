"""What a rule is, and the plain view of a resource it judges.

A rule is a pure function from resources to violation messages, so tests call it directly; the
pack wraps the same function in a pulumi-policy `ResourceValidationPolicy` or
`StackValidationPolicy`. Every rule states what a missing property means: `missing` is either
"fails closed" or names the provider default it relies on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime.rpc import UNKNOWN as UNKNOWN_SENTINEL  # the engine's wire value for "known only after deploy"
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

ENVIRONMENTS = ("dev", "staging", "production", "dr")
MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown until deploy>"

    def __copy__(self) -> _Unknown:
        return self  # a singleton: rules compare with `is UNKNOWN`

    def __deepcopy__(self, memo) -> _Unknown:
        return self


UNKNOWN = _Unknown()


def plain(value: Any) -> Any:
    """The pack's proxies, unwrapped, with unknown values as UNKNOWN."""
    try:
        value = value["__target"]  # the policy SDK's unknown-checking proxies keep the raw value here
    except (KeyError, TypeError, IndexError):
        pass
    if isinstance(value, str) and value == UNKNOWN_SENTINEL:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def json_document(value: Any) -> Any:
    """A policy document as the pack sees it: a JSON string parsed (None when it is not JSON), anything else as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def as_list(value: Any) -> list:
    """IAM's one-or-many fields (Action, Resource, Statement) as a list."""
    return value if isinstance(value, list) else [value]


def environment_of(urn: str) -> str:
    """The environment a stack's name ends with (aws-dr -> dr); production when it cannot be told."""
    try:
        stack = urn.split("::")[0].split(":")[-1]
    except (AttributeError, IndexError):
        return "production"
    suffix = stack.rsplit("-", 1)[-1]
    return suffix if suffix in ENVIRONMENTS else "production"


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    props: dict
    protect: bool = False
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def environment(self) -> str:
        return environment_of(self.urn)

    def get(self, path: str, default: Any = None) -> Any:
        """A dotted path into the properties (`settings.ipConfiguration.ipv4Enabled`)."""
        value: Any = self.props
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return default if value is None else value

    def describe(self) -> str:
        return f"{self.type.split(':')[-1]} '{self.name}'"


ResourceCheck = Callable[[Resource], Iterable[str]]
StackCheck = Callable[[Sequence[Resource]], Iterable[str]]


@dataclass
class Rule:
    name: str
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    missing: str
    resource_types: tuple[str, ...] = ()
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    skip_in_dev: bool = False

    def violations(self, resource: Resource) -> list[str]:
        if self.check is None or resource.type not in self.resource_types:
            return []
        if self.skip_in_dev and resource.environment == "dev":
            return []
        return [f"{resource.describe()}: {message}" for message in self.check(resource)]

    def stack_violations(self, resources: Sequence[Resource]) -> list[str]:
        return list(self.stack_check(resources)) if self.stack_check else []

    def to_policy(self):
        description = f"{self.description} (missing property: {self.missing})"
        if self.stack_check is not None:

            def validate_stack(args, report_violation):
                resources = [
                    Resource(
                        r.resource_type,
                        r.name,
                        r.urn,
                        plain(r.props),
                        bool(getattr(r.opts, "protect", False)),
                        [d.urn for d in r.dependencies],
                        {k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
                    )
                    for r in args.resources
                ]
                for message in self.stack_violations(resources):
                    report_violation(message)

            return StackValidationPolicy(
                name=self.name, description=description, validate=validate_stack, enforcement_level=self.enforcement, severity=self.severity
            )

        def validate_resource(args, report_violation):
            resource = Resource(args.resource_type, args.name, args.urn, plain(args.props), bool(getattr(args.opts, "protect", False)))
            for message in self.violations(resource):
                report_violation(message, args.urn)

        return ResourceValidationPolicy(
            name=self.name, description=description, validate=validate_resource, enforcement_level=self.enforcement, severity=self.severity
        )


def is_set(value: Any) -> bool:
    """Present and not empty; a value known only after deploy counts as set."""
    return value is UNKNOWN or value not in (None, "", [], {})


def world(cidrs: Any) -> bool:
    return any(c in ("0.0.0.0/0", "::/0") for c in (cidrs if isinstance(cidrs, list) else [cidrs]) if isinstance(c, str))
