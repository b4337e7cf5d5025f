"""IAM's evaluation of identity policies, for the questions the deploy-permission check and the tests ask:
would this principal's policies allow this action on this resource, with this request context?

What IAM documents ("Policy evaluation logic", "IAM JSON policy elements: Condition operators"):
an explicit Deny in any statement wins; otherwise an Allow is needed; otherwise the request is
implicitly denied. Action and NotAction match case-insensitively with `*` and `?`; Resource and
NotResource match case-sensitively, `*` spanning `/` and `:`. Condition blocks AND their operators
and keys and OR the values of one key. A missing key makes a positive operator false and a negated
one (StringNotEquals, ArnNotEquals, ...) true; `...IfExists` makes a missing key true; `Null` tests
presence. `ForAnyValue:`/`ForAllValues:` handle multivalued keys. Principal-bearing statements
(trust and resource policies) are outside this evaluator.

Only identity policies: no permissions boundary, SCP or session policy is combined here; callers
that need one evaluate it separately and require both.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitly denied", "implicitly denied"
Document = str | Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    result: str
    statement: str = ""  # the Sid (or index) of the statement that decided, when one did

    @property
    def allowed(self) -> bool:
        return self.result == ALLOWED


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _simple(pattern: str, value: str) -> bool:
    """IAM's wildcards are `*` and `?` only (no character classes)."""
    return _wildcards(pattern).fullmatch(value) is not None


@functools.cache
def _wildcards(pattern: str) -> re.Pattern[str]:
    # Compiled once per pattern: a deploy role's check matches a few hundred patterns against thousands of requests.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _matches_action(patterns: Any, action: str) -> bool:
    return any(isinstance(p, str) and _simple(p.lower(), action.lower()) for p in _list(patterns))


def _matches_resource(patterns: Any, resource: str) -> bool:
    return any(isinstance(p, str) and _simple(p, resource) for p in _list(patterns))


_STRING_OPERATORS = {
    "StringEquals": (lambda want, got: want == got, False),
    "StringNotEquals": (lambda want, got: want == got, True),
    "StringEqualsIgnoreCase": (lambda want, got: want.lower() == got.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda want, got: want.lower() == got.lower(), True),
    "StringLike": (_simple, False),
    "StringNotLike": (_simple, True),
    "ArnEquals": (_simple, False),
    "ArnLike": (_simple, False),
    "ArnNotEquals": (_simple, True),
    "ArnNotLike": (_simple, True),
    "Bool": (lambda want, got: str(want).lower() == str(got).lower(), False),
}


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, Any]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op[: -len("IfExists")] if if_exists else op
    lowered = {k.lower(): v for k, v in context.items()}
    present = key.lower() in lowered
    if op == "Null":
        return all(str(w).lower() == ("false" if present else "true") for w in _list(wanted))
    if op not in _STRING_OPERATORS:
        raise ValueError(f"condition operator '{operator}' is not supported by this evaluator")
    compare, negated = _STRING_OPERATORS[op]
    if not present:
        return if_exists or negated
    values = [str(v) for v in _list(lowered[key.lower()])]
    wants = [str(w) for w in _list(wanted)]
    if qualifier == "ForAllValues":
        hits = [any(compare(w, v) for w in wants) for v in values]
        return all(not h for h in hits) if negated else all(hits)
    # single-valued keys and ForAnyValue: some value matches some wanted value (negated: none does)
    hit = any(compare(w, v) for w in wants for v in values)
    return not hit if negated else hit


def _conditions_hold(conditions: Any, context: Mapping[str, Any]) -> bool:
    if not conditions:
        return True
    return all(_condition_holds(op, key, wanted, context) for op, block in conditions.items() for key, wanted in block.items())


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement and not _matches_action(statement["Action"], request.action):
        return False
    if "NotAction" in statement and _matches_action(statement["NotAction"], request.action):
        return False
    if "Resource" in statement and not _matches_resource(statement["Resource"], request.resource):
        return False
    if "NotResource" in statement and _matches_resource(statement["NotResource"], request.resource):
        return False
    return _conditions_hold(statement.get("Condition"), request.context)


def statements(documents: Iterable[Document]) -> list[tuple[str, Mapping[str, Any]]]:
    found = []
    for document in documents:
        parsed = json.loads(document) if isinstance(document, str) else document
        for i, statement in enumerate(_list(parsed.get("Statement", []))):
            if "Principal" in statement or "NotPrincipal" in statement:
                continue
            found.append((str(statement.get("Sid") or i), statement))
    return found


def evaluate(documents: Iterable[Document], request: Request) -> Decision:
    """IAM's decision for one request against a principal's identity policies."""
    allowed_by = ""
    for sid, statement in statements(documents):
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(EXPLICIT_DENY, sid)
        if statement.get("Effect") == "Allow" and not allowed_by:
            allowed_by = sid
    return Decision(ALLOWED, allowed_by) if allowed_by else Decision(IMPLICIT_DENY)
