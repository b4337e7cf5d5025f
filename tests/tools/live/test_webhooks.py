"""The SES webhooks get confirmed on a first deploy: `python -m tools webhooks` against a fake SNS that sends
confirmation requests the way SNS does, through a fake Cloudflare edge in front of the application."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

import botocore.session
import pytest
from botocore.validate import validate_parameters

from tools import cli
from tools.live import verify, webhooks

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:crm-dr-mail-ses-events"
AWS_HOST, GCP_HOST = "crm-dr-aws.example.com", "crm-dr-gcp.example.com"
SNS_MODEL = botocore.session.get_session().get_service_model("sns")


def endpoint(host: str) -> str:
    return f"https://{host}/api/webhooks/ses"


class Server:
    """A local HTTP server calling `handle(method, path, body) -> (status, headers, body)`."""

    def __init__(self, handle):
        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                status, headers, body = handle(self.command, self.path, self.rfile.read(length) if length else b"")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll: shutdown() waits for the loop's next look, half a second by default, twice per test.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeSns:
    """What SNS does for the calls the command makes, with every request checked against botocore's SNS model.

    An HTTPS subscription stays pending until its endpoint's owner visits the SubscribeURL of a
    confirmation request. SNS sends one when the subscription is created and again when `Subscribe` is
    called for a subscription still pending; a request is retried while the endpoint fails with 5xx or
    cannot be reached (three retries by default) and counts as delivered on any 2xx-4xx.
    """

    RETRIES = 3

    def __init__(self, post):
        self.post = post  # (url, body) -> HTTP status, or None when nothing answered
        self.subscriptions: dict[str, dict] = {}
        self.calls: list[str] = []
        self.deliveries: list[tuple[str, int | None]] = []
        self.http = Server(self._visit)

    def _check(self, operation: str, params: dict) -> None:
        validate_parameters(params, SNS_MODEL.operation_model(operation).input_shape)
        self.calls.append(operation)

    def _visit(self, method, path, body):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        for subscription in self.subscriptions.values():
            if query.get("Action") == ["ConfirmSubscription"] and query.get("Token") == [subscription.get("token")]:
                subscription["pending"] = False
                return 200, {}, b"<ConfirmSubscriptionResponse/>"
        return 404, {}, b"<Error><Code>NotFound</Code></Error>"

    def _request_confirmation(self, subscription: dict) -> None:
        subscription["token"] = uuid.uuid4().hex
        message = {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": subscription["token"],
            "TopicArn": subscription["topic"],
            "Message": f"You have chosen to subscribe to the topic {subscription['topic']}.",
            "SubscribeURL": f"{self.http.base}/?Action=ConfirmSubscription&TopicArn={subscription['topic']}&Token={subscription['token']}",
        }
        for _ in range(1 + self.RETRIES):
            status = self.post(subscription["endpoint"], json.dumps(message).encode())
            self.deliveries.append((subscription["endpoint"], status))
            if status is not None and status < 500:
                return

    def subscribe(self, **params):
        self._check("Subscribe", params)
        key = f"{params['TopicArn']} {params['Protocol']} {params['Endpoint']}"
        subscription = self.subscriptions.get(key)
        if subscription is None:
            subscription = self.subscriptions[key] = {
                "arn": f"{params['TopicArn']}:{uuid.uuid4()}",
                "topic": params["TopicArn"],
                "protocol": params["Protocol"],
                "endpoint": params["Endpoint"],
                "pending": True,
            }
        if subscription["pending"]:
            self._request_confirmation(subscription)
        shown = subscription["arn"] if params.get("ReturnSubscriptionArn") or not subscription["pending"] else "pending confirmation"
        return {"SubscriptionArn": shown}

    def list_subscriptions_by_topic(self, **params):
        self._check("ListSubscriptionsByTopic", params)
        return {
            "Subscriptions": [
                {
                    "SubscriptionArn": webhooks.PENDING if s["pending"] else s["arn"],
                    "Owner": ACCOUNT,
                    "Protocol": s["protocol"],
                    "Endpoint": s["endpoint"],
                    "TopicArn": s["topic"],
                }
                for s in self.subscriptions.values()
                if s["topic"] == params["TopicArn"]
            ]
        }

    def get_subscription_attributes(self, **params):
        self._check("GetSubscriptionAttributes", params)
        found = next(s for s in self.subscriptions.values() if s["arn"] == params["SubscriptionArn"])
        return {"Attributes": {"PendingConfirmation": "true" if found["pending"] else "false", "SubscriptionArn": found["arn"]}}

    def pending(self) -> list[str]:
        return [s["endpoint"] for s in self.subscriptions.values() if s["pending"]]


class Estate:
    """Cloudflare's edge in front of both origins, with the switches a first deploy turns on in order."""

    def __init__(self):
        self.origin_pulls = False  # the global stack turns on authenticated origin pulls; the ALB asks for the client certificate
        self.app = {AWS_HOST: False, GCP_HOST: False}  # the application serves on the origin
        self.confirms = True  # the application honours SubscriptionConfirmation
        self.edge = Server(self._edge)

    def _edge(self, method, path, body):
        host, _, rest = path.lstrip("/").partition("/")
        if host == AWS_HOST and not self.origin_pulls:
            return 525, {"CF-RAY": "1-ICN"}, b"SSL handshake failed"  # the ALB refused Cloudflare's connection
        if not self.app.get(host):
            return 503, {"CF-RAY": "1-ICN"}, b"no healthy target"
        if rest == "health":
            return 200, {"CF-RAY": "1-ICN", "X-Cloud-Provider": "aws" if "aws" in host else "gcp"}, b"ok"
        message = json.loads(body or b"{}")
        if message.get("Type") == "SubscriptionConfirmation" and self.confirms:
            urllib.request.urlopen(message["SubscribeURL"], timeout=5).read()
        return 200, {"CF-RAY": "1-ICN"}, b""

    def post(self, url: str, body: bytes):
        host_and_path = url.split("://", 1)[1]
        request = urllib.request.Request(f"{self.edge.base}/{host_and_path}", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None


@pytest.fixture
def estate():
    world = Estate()
    sns = FakeSns(world.post)
    outputs = {"aws-dr": {"region": REGION, "sesEventsTopicArn": TOPIC}, "gcp-dr": {"region": "asia-northeast3"}, "global": {}}
    sources = verify.Sources(
        outputs=lambda stack: outputs[stack],
        aws=lambda service, region: sns if (service, region) == ("sns", REGION) else pytest.fail(f"unexpected {service} {region}"),
        url=world.edge.base + "/{host}{path}",
    )
    yield world, sns, sources
    world.edge.close()
    sns.http.close()


def provider_creates(sns: FakeSns, host: str) -> None:
    """What `pulumi up` does for an aws.sns.TopicSubscription (terraform-provider-aws resourceTopicSubscriptionCreate)."""
    sns.subscribe(TopicArn=TOPIC, Protocol="https", Endpoint=endpoint(host), ReturnSubscriptionArn=True)


def no_wait(**extra):
    return dict(wait_seconds=0, sleep=lambda _: None, **extra)


def test_a_first_deploy_ends_with_both_webhooks_confirmed(estate):
    world, sns, sources = estate
    provider_creates(sns, AWS_HOST)  # pulumi up -s aws-dr: the ALB refuses Cloudflare until origin pulls are on
    provider_creates(sns, GCP_HOST)  # pulumi up -s gcp-dr: the application is not serving yet
    assert sns.pending() == [endpoint(AWS_HOST), endpoint(GCP_HOST)]
    assert [status for _, status in sns.deliveries] == [525] * 4 + [503] * 4  # SNS's one request and its retries, all failed

    done, code = webhooks.run(["aws-dr", "gcp-dr"], sources, **no_wait())
    assert code == 0 and [o.state for o in done[0][1]] == ["waiting", "waiting"]
    assert sns.calls.count("Subscribe") == 2  # nothing asked again while the endpoints cannot answer

    world.origin_pulls = True  # pulumi up -s global
    world.app = {AWS_HOST: True, GCP_HOST: True}  # the application runs in both clouds
    assert sns.pending() == [endpoint(AWS_HOST), endpoint(GCP_HOST)]  # SNS does not ask again on its own

    done, code = webhooks.run(["global"], sources, **no_wait())
    assert code == 0 and done[0][0] == "aws-dr"
    assert [(o.endpoint, o.state) for o in done[0][1]] == [(endpoint(AWS_HOST), "requested"), (endpoint(GCP_HOST), "requested")]
    assert sns.pending() == []


def test_one_endpoint_ready_is_confirmed_and_the_other_waits(estate):
    world, sns, sources = estate
    provider_creates(sns, AWS_HOST)
    provider_creates(sns, GCP_HOST)
    world.origin_pulls, world.app[GCP_HOST] = True, True
    done, code = webhooks.run(["gcp-dr"], sources, **no_wait())
    assert code == 0 and {o.endpoint: o.state for o in done[0][1]} == {endpoint(AWS_HOST): "waiting", endpoint(GCP_HOST): "requested"}
    assert sns.pending() == [endpoint(AWS_HOST)]


def test_an_endpoint_that_answers_but_never_confirms_fails_the_run(estate):
    world, sns, sources = estate
    world.origin_pulls, world.app[AWS_HOST], world.confirms = True, True, False
    provider_creates(sns, AWS_HOST)
    ticks = iter(range(1000))
    done, code = webhooks.run(["aws-dr"], sources, wait_seconds=30, sleep=lambda _: None, clock=lambda: next(ticks) * 10)
    assert code == 1
    (outcome,) = done[0][1]
    assert outcome.state == "unconfirmed" and "SubscriptionConfirmation" in outcome.detail


def test_confirmed_webhooks_are_left_alone(estate):
    world, sns, sources = estate
    world.origin_pulls, world.app[AWS_HOST] = True, True
    provider_creates(sns, AWS_HOST)  # confirmed at once: the estate was up
    assert sns.pending() == []
    done, code = webhooks.run(["aws-dr"], sources, **no_wait())
    assert code == 0 and [o.state for o in done[0][1]] == ["confirmed"]
    assert sns.calls.count("Subscribe") == 1


def test_require_confirmed_fails_while_an_endpoint_cannot_answer(estate):
    _world, sns, sources = estate
    provider_creates(sns, AWS_HOST)
    assert webhooks.run(["aws-dr"], sources, require_confirmed=True, **no_wait())[1] == 1


def test_stacks_without_mail_have_nothing_to_confirm(estate):
    _, sns, sources = estate
    sources.outputs = lambda stack: {"region": REGION}  # aws-dev: no sesEventsTopicArn
    assert webhooks.run(["aws-dev", "gcp-dev"], sources, **no_wait()) == ([], 0)
    assert sns.calls == []


def test_verify_reports_a_pending_webhook(estate):
    _, sns, sources = estate
    provider_creates(sns, AWS_HOST)
    checks = [c for c in verify.verify_stack("aws-dr", sources) if c.name == "ses webhook confirmed"]
    assert [(c.target, c.ok) for c in checks] == [(AWS_HOST, False)]
    assert "python -m tools webhooks aws-dr" in checks[0].detail


def test_the_command_line_names_each_webhook_and_exits_non_zero_when_one_fails(estate, capsys):
    world, sns, sources = estate
    world.origin_pulls, world.app[AWS_HOST], world.confirms = True, True, False
    provider_creates(sns, AWS_HOST)
    code = cli.main(["webhooks", "global", "--wait", "0"], verify_sources=sources)
    out = capsys.readouterr().out
    assert code == 1 and f"aws-dr  {endpoint(AWS_HOST)}  unconfirmed" in out


def test_every_call_is_an_sns_operation_in_botocore_s_model(estate):
    world, sns, sources = estate
    provider_creates(sns, AWS_HOST)
    world.origin_pulls, world.app[AWS_HOST] = True, True
    webhooks.run(["aws-dr"], sources, **no_wait())
    assert set(sns.calls) == {"Subscribe", "ListSubscriptionsByTopic", "GetSubscriptionAttributes"}
    assert set(sns.calls) <= set(SNS_MODEL.operation_names)
