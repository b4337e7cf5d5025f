"""Rules for AWS FIS experiment templates: each can be stopped, ends on its own, and runs under a role scoped to its targets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import Severity

from components.aws.experiments import DURATION_ACTIONS, INSTANT_ACTIONS, MAX_ACTION_MINUTES, duration_seconds

from .base import MANDATORY, UNKNOWN, Resource, Rule, as_list, json_document

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
FIS = "fis.amazonaws.com"
READ_ONLY = ("Describe", "Get", "List")


def stop_condition(r: Resource):
    conditions = r.get("stopConditions") or []
    alarms = [c for c in conditions if isinstance(c, dict) and c.get("source") == "aws:cloudwatch:alarm" and c.get("value")]
    if not alarms:
        yield "has no CloudWatch-alarm stop condition: nothing but its own end can stop the experiment"


def _parameters(action: dict) -> dict:
    return {p.get("key"): p.get("value") for p in action.get("parameters") or [] if isinstance(p, dict)}


def bounded_duration(r: Resource):
    for action in r.get("actions") or []:
        if not isinstance(action, dict):
            continue
        action_id, name = action.get("actionId"), action.get("name", "?")
        if action_id in INSTANT_ACTIONS:
            continue
        duration = _parameters(action).get("duration")
        if duration is UNKNOWN:
            continue  # known only after deploy
        seconds = duration_seconds(duration)
        if seconds is None:
            known = "takes a duration" if action_id in DURATION_ACTIONS else "is not known to end on its own"
            yield f"action '{name}' ({action_id}) {known} and has no ISO 8601 duration parameter (PT10M)"
        elif seconds > MAX_ACTION_MINUTES * 60:
            yield f"action '{name}' ({action_id}) runs {duration}, longer than {MAX_ACTION_MINUTES} minutes"


def _statements(document: Any) -> Iterator[dict]:
    if isinstance(document, dict):
        for statement in as_list(document.get("Statement")):
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                yield statement


def _role_of(template: Resource, by_urn: dict[str, Resource]) -> Resource | None:
    for urn in template.property_dependencies.get("roleArn", []) or template.dependencies:
        found = by_urn.get(urn)
        if found is not None and found.type == ROLE:
            return found
    return None


def _depends_on(resource: Resource, urn: str, prop: str) -> bool:
    return urn in (resource.property_dependencies.get(prop) or []) or (not resource.property_dependencies and urn in resource.dependencies)


def role_scoped(resources: Sequence[Resource]):
    """Each template's role trusts only FIS and grants changes only on named resources (reads may be account-wide)."""
    by_urn = {r.urn: r for r in resources}
    for template in (r for r in resources if r.type == TEMPLATE):
        role = _role_of(template, by_urn)
        if role is None:
            if isinstance(template.get("roleArn"), str):  # a literal ARN: a role from outside the stack
                yield f"{template.describe()}: its role ({template.get('roleArn')}) is not created in this stack, so its rights cannot be checked"
            continue  # an unknown role ARN with no dependency to follow is not judged
        trust = json_document(role.get("assumeRolePolicy"))
        if trust is not UNKNOWN:
            for statement in _statements(trust):
                principal = statement.get("Principal")
                services = as_list(principal.get("Service")) if isinstance(principal, dict) else [principal]
                if services != [FIS] or (isinstance(principal, dict) and set(principal) != {"Service"}):
                    yield f"{template.describe()}: role {role.name} trusts {principal}, not only {FIS}"
        for attachment in (r for r in resources if r.type == ATTACHMENT and _depends_on(r, role.urn, "role")):
            yield f"{template.describe()}: role {role.name} has a managed policy attached ({attachment.get('policyArn')}); grant the targets inline"
        for policy in (r for r in resources if r.type == ROLE_POLICY and _depends_on(r, role.urn, "role")):
            document = policy.get("policy")
            if document is UNKNOWN:
                continue  # known once its targets exist
            for statement in _statements(json_document(document)):
                actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
                if any(a == "*" or a.endswith(":*") for a in actions):
                    yield f"{template.describe()}: role {role.name} allows {actions}; name the actions"
                    continue
                changes = [a for a in actions if not a.split(":")[-1].startswith(READ_ONLY)]
                if changes and "*" in as_list(statement.get("Resource")):
                    yield f"{template.describe()}: role {role.name} allows {', '.join(changes)} on every resource; name the targets"


RULES = [
    Rule(
        "fis-stop-condition",
        "Every FIS experiment template has a CloudWatch-alarm stop condition",
        Severity.HIGH,
        MANDATORY,
        "fails closed (a template without stop conditions runs to its end whatever happens)",
        (TEMPLATE,),
        stop_condition,
    ),
    Rule(
        "fis-bounded-duration",
        f"Every FIS action ends on its own: a one-shot action, or a duration of at most {MAX_ACTION_MINUTES} minutes",
        Severity.HIGH,
        MANDATORY,
        "fails closed (an action not known to end on its own needs a duration)",
        (TEMPLATE,),
        bounded_duration,
    ),
    Rule(
        "fis-role-scoped",
        "Every FIS template's role trusts only FIS and changes only named resources (no managed policies, no '*' on changes)",
        Severity.HIGH,
        MANDATORY,
        "fails closed for a role from outside the stack; a policy known only after deploy is judged then",
        stack_check=role_scoped,
    ),
]
