"""`python -m tools webhooks <stack>|--all`: gets the SES event webhooks confirmed once their endpoints answer.

SNS sends an HTTPS subscription one confirmation request when the subscription is created (retried
only for a few seconds while the endpoint fails with 5xx; any 2xx-4xx counts as delivered: the SNS
developer guide, "Amazon SNS message delivery retries"). On a first deploy that request comes too
early: aws-dr subscribes its origin host before the application runs and before the global stack
turns on authenticated origin pulls (until then the ALB refuses Cloudflare's connection), and gcp-dr
subscribes before the global stack exists. The subscription then stays pending and SNS delivers
nothing to it.

This command is the confirming step the workflow runs after every `pulumi up` (and a person after
the application's first deploy). For each HTTPS subscription of the SES event topic still pending
confirmation whose endpoint now answers `GET https://<host>/health` with 200 through Cloudflare, it
calls `Subscribe` again with the same topic, protocol and endpoint: SNS then sends a new confirmation
request to the same (still pending) subscription, which the application confirms (docs/ingress.md).
It waits for the confirmation and fails when a ready endpoint does not confirm. A pending
subscription whose endpoint does not answer yet is reported and left for a later run.

Which topic: the stack's own `sesEventsTopicArn` output; for a GCP stack, that of its
`crm:platform.awsStack`; for the global stack, that of its `crm:loadBalancer.awsStack`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .verify import Check, Sources, VerifyError

WEBHOOK_PROTOCOL = "https"
PENDING = "PendingConfirmation"  # ListSubscriptionsByTopic's SubscriptionArn for a subscription not yet confirmed
TOPIC_OUTPUT = "sesEventsTopicArn"


@dataclass(frozen=True)
class Webhook:
    endpoint: str
    confirmed: bool

    @property
    def host(self) -> str:
        return self.endpoint.split("://", 1)[-1].split("/", 1)[0]


@dataclass(frozen=True)
class Outcome:
    endpoint: str
    state: str  # confirmed | requested | waiting | unconfirmed
    detail: str

    @property
    def failed(self) -> bool:
        return self.state == "unconfirmed"


def topic_stack(stack: str, outputs: dict) -> str | None:
    """The stack whose outputs hold the SES event topic the given stack's webhooks are subscribed to."""
    if TOPIC_OUTPUT in outputs:
        return stack
    from stacks.config import GcpStackConfig, GlobalStackConfig, load, read_stack_file

    config = load(stack, read_stack_file(stack), check_peer=False)
    if isinstance(config, GcpStackConfig):
        return config.platform.aws_stack or None
    if isinstance(config, GlobalStackConfig):
        return config.load_balancer.aws_stack
    return None


def webhooks(sns, topic_arn: str) -> list[Webhook]:
    """The topic's HTTPS subscriptions and whether each is confirmed."""
    found, token = [], None
    while True:
        page = sns.list_subscriptions_by_topic(TopicArn=topic_arn, **({"NextToken": token} if token else {}))
        for subscription in page.get("Subscriptions", []):
            if subscription.get("Protocol") != WEBHOOK_PROTOCOL:
                continue
            found.append(Webhook(subscription["Endpoint"], _confirmed(sns, subscription["SubscriptionArn"])))
        token = page.get("NextToken")
        if not token:
            return found


def _confirmed(sns, arn: str) -> bool:
    if arn == PENDING:
        return False
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn).get("Attributes", {})
    return str(attributes.get("PendingConfirmation", "false")).lower() != "true"


def endpoint_ready(sources: Sources, host: str) -> tuple[bool, str]:
    """Whether the host answers through Cloudflare: the path SNS takes to the application."""
    try:
        response = sources.http(sources.url.format(host=host, path="/health"), {"Cache-Control": "no-cache"})
    except OSError as error:
        return False, f"no answer from https://{host}/health: {getattr(error, 'reason', error)}"
    if response.status != 200:
        return False, f"https://{host}/health answers HTTP {response.status}"
    if "cf-ray" not in response.headers:
        return False, f"https://{host}/health is not served through Cloudflare"
    return True, "answers 200 through Cloudflare"


def confirm(
    sns,
    topic_arn: str,
    sources: Sources,
    wait_seconds: float = 120,
    poll_seconds: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Outcome]:
    """Asks SNS again for every pending subscription whose endpoint answers, then waits for the confirmations."""
    outcomes: dict[str, Outcome] = {}
    requested = []
    for hook in webhooks(sns, topic_arn):
        if hook.confirmed:
            outcomes[hook.endpoint] = Outcome(hook.endpoint, "confirmed", "confirmed")
            continue
        ready, why = endpoint_ready(sources, hook.host)
        if not ready:
            outcomes[hook.endpoint] = Outcome(hook.endpoint, "waiting", f"pending; not asked again: {why}")
            continue
        sns.subscribe(TopicArn=topic_arn, Protocol=WEBHOOK_PROTOCOL, Endpoint=hook.endpoint, ReturnSubscriptionArn=True)
        requested.append(hook.endpoint)
    deadline = clock() + wait_seconds
    while requested:
        confirmed = {hook.endpoint for hook in webhooks(sns, topic_arn) if hook.confirmed}
        for endpoint in [e for e in requested if e in confirmed]:
            outcomes[endpoint] = Outcome(endpoint, "requested", "confirmed after SNS was asked again")
            requested.remove(endpoint)
        if not requested or clock() >= deadline:
            break
        sleep(poll_seconds)
    for endpoint in requested:
        outcomes[endpoint] = Outcome(
            endpoint,
            "unconfirmed",
            f"the endpoint answers but did not confirm within {wait_seconds:g} s: check the application's "
            "SubscriptionConfirmation handling (docs/ingress.md, the confirmation contract)",
        )
    return list(outcomes.values())


def run(
    stacks: list[str], sources: Sources, wait_seconds: float = 120, require_confirmed: bool = False, **timing
) -> tuple[list[tuple[str, list[Outcome]]], int]:
    """Confirms the webhooks the stacks are concerned with, each topic once; exit status 1 when one that could confirm did not."""
    done: list[tuple[str, list[Outcome]]] = []
    code = 0
    for stack in stacks:
        try:
            owner = topic_stack(stack, sources.outputs(stack))
            if owner is None or owner in (name for name, _ in done):
                continue
            outputs = sources.outputs(owner)
        except VerifyError as error:
            done.append((stack, [Outcome(stack, "unconfirmed", str(error))]))
            code = 1
            continue
        if TOPIC_OUTPUT not in outputs:
            continue  # that AWS stack sends no mail
        sns = sources.aws("sns", outputs["region"])
        outcomes = confirm(sns, outputs[TOPIC_OUTPUT], sources, wait_seconds, **timing)
        done.append((owner, outcomes))
        if any(o.failed for o in outcomes) or (require_confirmed and any(o.state == "waiting" for o in outcomes)):
            code = 1
    return done, code


def checks(stack: str, outputs: dict, sources: Sources) -> list[Check]:
    """verify's view: each SES webhook of the stack's topic is confirmed (changes nothing)."""
    sns = sources.aws("sns", outputs["region"])
    found = webhooks(sns, outputs[TOPIC_OUTPUT])
    if not found:
        return [Check(stack, "ses webhook confirmed", stack, False, "the SES event topic has no HTTPS subscription")]
    return [
        Check(
            stack,
            "ses webhook confirmed",
            hook.host,
            hook.confirmed,
            "confirmed" if hook.confirmed else f"pending confirmation: run `python -m tools webhooks {stack}` once the endpoint answers",
        )
        for hook in found
    ]


def table(done: list[tuple[str, list[Outcome]]]) -> str:
    rows = [(stack, o.endpoint, o.state, o.detail) for stack, outcomes in done for o in outcomes]
    if not rows:
        return "no SES webhook to confirm"
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row[:3], widths)) + "  " + row[3] for row in rows)
