"""Local stand-ins for what a game day talks to, behaving as the real services do.

- AWS: moto for FIS, CloudWatch and EC2. The templates and the guard alarm are created from what
  aws-dr's preview registers (so the API model checks their shape); `FisEngine` plays FIS's own
  part, which moto does not model: an experiment runs once started, the aws-outage one swaps a
  `managedByFIS` network ACL onto the target subnets, and the ACL goes when the experiment is
  stopped or its duration ends.
- `FakeEdge`: one local HTTP server answering like Cloudflare's pool-health API
  (`GET /client/v4/accounts/{account}/load_balancers/pools/{pool}/health`) and like the public host
  and `aws.<host>` through Cloudflare (`/<host>/health`: status, `cf-ray`, `X-Cloud-Provider`). While
  the aws-outage experiment runs, AWS's origin fails at once; its pool turns unhealthy after
  `detect` seconds (the health check's detection), from then on every request is served by GCP;
  after the experiment ends AWS answers again after `recover` seconds.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

ACCOUNT, REGION = "123456789012", "ap-northeast-2"
CLOUDFLARE_ACCOUNT = "0123456789abcdef0123456789abcdef"
POOLS = {"aws": "pool-aws-0001", "gcp": "pool-gcp-0002"}


def _api(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


def api_template(inputs: dict) -> dict:
    """A FIS CreateExperimentTemplate request from the ExperimentTemplate's Pulumi inputs (camelCase lists -> API maps)."""
    return {
        "description": inputs["description"],
        "roleArn": inputs["roleArn"],
        "stopConditions": [{"source": c["source"], "value": c["value"]} for c in inputs["stopConditions"]],
        "actions": {
            a["name"]: {
                "actionId": a["actionId"],
                "parameters": {p["key"]: p["value"] for p in a.get("parameters") or []},
                "targets": {a["target"]["key"]: a["target"]["value"]},
            }
            for a in inputs["actions"]
        },
        "targets": {
            t["name"]: {"resourceType": t["resourceType"], "resourceArns": t["resourceArns"], "selectionMode": t["selectionMode"]}
            for t in inputs["targets"]
        },
        "experimentOptions": {
            "accountTargeting": inputs["experimentOptions"]["accountTargeting"],
            "emptyTargetResolutionMode": inputs["experimentOptions"]["emptyTargetResolutionMode"],
        },
        "tags": inputs["tags"],
    }


def api_alarm(inputs: dict) -> dict:
    return {
        "AlarmName": inputs["name"],
        "Namespace": inputs["namespace"],
        "MetricName": inputs["metricName"],
        "Dimensions": [{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()],
        "Statistic": inputs["statistic"],
        "Period": inputs["period"],
        "EvaluationPeriods": inputs["evaluationPeriods"],
        "Threshold": float(inputs["threshold"]),
        "ComparisonOperator": inputs["comparisonOperator"],
        "TreatMissingData": inputs["treatMissingData"],
    }


@dataclass
class AwsEstate:
    """The parts of aws-dr the game day touches, in moto: a VPC with the application subnets, the guard, the templates."""

    vpc_id: str
    subnet_ids: list[str]
    templates: dict[str, str]  # scenario -> template id
    guard_alarm: str

    @classmethod
    def create(cls, preview) -> AwsEstate:
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{10 + i}.0/24")["Subnet"]["SubnetId"] for i in range(2)]
        arns = [f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{s}" for s in subnets]
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        guard = preview.one("aws:cloudwatch/metricAlarm:MetricAlarm", "crm-dr-gameday-guard")
        cloudwatch.put_metric_alarm(**api_alarm(guard.inputs))
        fis = boto3.client("fis", region_name=REGION)
        templates = {}
        for template in preview.of_type("aws:fis/experimentTemplate:ExperimentTemplate"):
            request = api_template(template.inputs)
            if template.inputs["tags"]["scenario"] == "aws-outage":
                next(iter(request["targets"].values()))["resourceArns"] = arns
            created = fis.create_experiment_template(clientToken=template.name, **request)
            templates[template.inputs["tags"]["scenario"]] = created["experimentTemplate"]["id"]
        return cls(vpc, subnets, templates, guard.inputs["name"])


class FisEngine(threading.Thread):
    """What FIS does with a started experiment: runs it, holds the fault for its duration, undoes it on stop."""

    def __init__(self, estate: AwsEstate, duration: float, start_delay: float = 0.1):
        super().__init__(name="fake-fis", daemon=True)
        from moto.fis.models import fis_backends
        from moto.moto_api import state_manager

        state_manager.set_transition("fis::experiment", {"progression": "manual", "times": 10**9})  # this engine moves the states
        self.backend = fis_backends[ACCOUNT][REGION]
        self.estate, self.duration, self.start_delay = estate, duration, start_delay
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.outage: dict[str, float | None] = {"start": None, "end": None}
        self.stopping = threading.Event()
        self._acl: str | None = None
        self._originals: dict[str, str] = {}

    def run(self) -> None:
        while not self.stopping.is_set():
            now = time.monotonic()
            for experiment in list(self.backend.experiments.values()):
                status = experiment._status
                outage = experiment.experiment_template_id == self.estate.templates.get("aws-outage")
                started = getattr(experiment, "_started_at", None)
                if started is None:
                    experiment._started_at = started = now
                if status == "pending" and now - started >= self.start_delay:
                    experiment.status = "running"
                    if outage:
                        self._cut()
                elif status == "running" and now - started >= self.start_delay + self.duration:
                    experiment.status = "completed"
                    if outage:
                        self._restore()
                elif status == "stopping":
                    experiment.status = "stopped"
                    if outage:
                        self._restore()
            time.sleep(0.02)

    def _cut(self) -> None:
        acl = self.ec2.create_network_acl(
            VpcId=self.estate.vpc_id,
            TagSpecifications=[{"ResourceType": "network-acl", "Tags": [{"Key": "managedByFIS", "Value": "true"}]}],
        )["NetworkAcl"]["NetworkAclId"]
        for subnet in self.estate.subnet_ids:
            [current] = self.ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]
            association = next(a for a in current["Associations"] if a["SubnetId"] == subnet)
            self._originals[subnet] = current["NetworkAclId"]
            self.ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl)
        self._acl = acl
        self.outage["start"] = time.monotonic()

    def _restore(self) -> None:
        if self._acl is None:
            return
        for subnet, original in self._originals.items():
            [current] = self.ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]
            association = next(a for a in current["Associations"] if a["SubnetId"] == subnet)
            self.ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"], NetworkAclId=original)
        self.ec2.delete_network_acl(NetworkAclId=self._acl)
        self._acl = None
        self.outage["end"] = time.monotonic()


@dataclass
class EdgeBehaviour:
    detect: float = 0.4  # seconds from the cut to the AWS pool unhealthy (Cloudflare's health check)
    recover: float = 0.3  # seconds from the experiment's end to AWS answering and its pool healthy again
    gcp_ms: float = 15.0  # GCP's answer time
    aws_ms: float = 5.0
    gcp_healthy: bool = True
    gcp_fails_with_aws: bool = False  # both clouds down once the outage starts: nothing to fail over to


@dataclass
class FakeEdge:
    """Cloudflare's API and edge in front of both origins, following the FIS engine's outage."""

    engine: FisEngine
    host: str
    origin_hosts: dict[str, str]  # cloud -> the proxied name that reaches only that cloud (the global stack's originHosts)
    behaviour: EdgeBehaviour = field(default_factory=EdgeBehaviour)
    requests: int = 0
    public_requests: int = 0

    def __post_init__(self) -> None:
        edge = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, headers, body = edge.answer(self.path, self.headers)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                payload = body.encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # close() waits for the serving loop to notice the shutdown: it looks every poll_interval (0.5 s by default)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the state of the estate, from the outage the engine runs
    def aws_failing(self) -> bool:
        start, end = self.engine.outage["start"], self.engine.outage["end"]
        now = time.monotonic()
        return start is not None and (end is None or now < end + self.behaviour.recover)

    def aws_pool_down(self) -> bool:
        start = self.engine.outage["start"]
        return self.aws_failing() and start is not None and time.monotonic() >= start + self.behaviour.detect

    def answer(self, path: str, headers) -> tuple[int, dict, str]:
        found = re.match(r"^/client/v4/accounts/([^/]+)/load_balancers/pools/([^/]+)/health$", path)
        if found:
            return self._pool_health(found.group(1), found.group(2), headers)
        found = re.match(r"^/([^/?]+)(/[^?]*)", path)
        if not found:
            return 404, {}, "not found"
        return self._through_the_edge(found.group(1))

    def _pool_health(self, account: str, pool: str, headers) -> tuple[int, dict, str]:
        if headers.get("Authorization") != "Bearer test-token":
            return (
                403,
                {"Content-Type": "application/json"},
                json.dumps({"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}),
            )
        if account != CLOUDFLARE_ACCOUNT or pool not in POOLS.values():
            return (
                404,
                {"Content-Type": "application/json"},
                json.dumps({"success": False, "errors": [{"code": 1003, "message": "pool not found"}]}),
            )
        healthy = (not self.aws_pool_down()) if pool == POOLS["aws"] else self.behaviour.gcp_healthy
        origin = {
            "origin": {
                "healthy": healthy,
                "rtt": "12.1ms",
                "failure_reason": "No failures" if healthy else "HTTP timeout occurred",
                "response_code": 200 if healthy else 0,
            }
        }
        result = {"pool_id": pool, "pop_health": {region: {"healthy": healthy, "origins": [origin]} for region in ("NEAS", "SEAS")}}
        return 200, {"Content-Type": "application/json"}, json.dumps({"success": True, "errors": [], "messages": [], "result": result})

    def _through_the_edge(self, host: str) -> tuple[int, dict, str]:
        self.requests += 1
        ray = {"cf-ray": f"8f{self.requests:08x}-ICN"}
        for cloud, origin_host in self.origin_hosts.items():
            if host == origin_host:  # the per-cloud host, proxied to that cloud's origin only
                return self._origin(cloud, ray)
        if host != self.host:
            return 530, ray, "unknown host"
        # Steering: new sessions alternate between the pools; an unhealthy pool gets none.
        self.public_requests += 1
        if self.aws_pool_down():
            return self._origin("gcp", ray)
        return self._origin("aws" if self.public_requests % 2 else "gcp", ray)

    def _origin(self, cloud: str, ray: dict) -> tuple[int, dict, str]:
        if cloud == "aws" and self.aws_failing():
            return 503, ray, "Service Temporarily Unavailable"  # the ALB with no healthy target
        if cloud == "gcp" and (not self.behaviour.gcp_healthy or (self.behaviour.gcp_fails_with_aws and self.aws_failing())):
            return 502, ray, "Bad Gateway"
        time.sleep((self.behaviour.gcp_ms if cloud == "gcp" else self.behaviour.aws_ms) / 1000)
        return 200, {**ray, "X-Cloud-Provider": cloud, "Content-Type": "text/plain"}, "ok"
