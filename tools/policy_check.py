"""Runs the policy pack over a plan exactly as the Pulumi CLI does: the pack in its own process,
driven through the Analyzer gRPC interface (GetAnalyzerInfo, Configure, ConfigureStack, Analyze per
resource, AnalyzeStack once).

A plan is either an offline preview of a stack or a saved `preview --json` document; in both,
secrets travel as engine secrets and values known only after deploy as the engine's unknown
sentinel, so the pack sees what it would see under `pulumi preview --policy-pack policies`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from .engine import sdk_internals
from .engine.engine import PreviewResult, map_markers

POLICY_PACK = Path(__file__).resolve().parents[1] / "policies"
_SECRET_SIG = {sdk_internals.SIG_KEY: sdk_internals.SECRET_SIG}
_LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
}
_SEVERITY_ORDER = ["critical", "high", "medium", "low", "unspecified"]
# The resource options a plan carries besides protect, named as in `pulumi preview --json` and the state file.
LIFECYCLE_OPTIONS = ("ignoreChanges", "replaceOnChanges", "deleteBeforeReplace", "retainOnDelete")


@dataclass
class PlanResource:
    type: str
    urn: str
    name: str
    inputs: dict
    protect: bool = False
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    custom: bool = True
    # Lifecycle options in the state file's spelling (ignoreChanges, replaceOnChanges, deleteBeforeReplace, retainOnDelete).
    options: dict = field(default_factory=dict)
    provider: str = ""  # the provider reference `URN::ID`: a resource waits for its provider, and what the provider waits for


@dataclass
class Violation:
    policy: str
    severity: str
    enforcement: str
    message: str
    urn: str


def _wire_plan_marker(value: Any) -> Any:
    """A saved plan writes secrets and unknowns as text; turn that text back into what the engine sends."""
    if value == "[unknown]":
        return rpc.UNKNOWN
    if value == "[secret]":
        return {**_SECRET_SIG, "value": "[secret]"}
    return value


def _wire(value: Any) -> Any:
    """An input value as the engine sends it: secrets wrapped, unknowns as the sentinel."""
    return map_markers(value, secret=lambda inner: {**_SECRET_SIG, "value": inner}, unknown=lambda: rpc.UNKNOWN, other=_wire_plan_marker)


def _struct(inputs: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update({k: _wire(v) for k, v in inputs.items() if k != "__defaults"})
    return struct


def from_preview(result: PreviewResult) -> list[PlanResource]:
    return [
        PlanResource(
            r.type, r.urn, r.name, r.inputs, r.protect, r.parent, r.dependencies, r.property_dependencies, r.custom, r.options, r.provider
        )
        for r in result.resources
        if r.op != "read"
    ]


def from_plan_file(path: Path) -> list[PlanResource]:
    """A saved `preview --json`: needs steps[].newState.type, urn and inputs; protect, parent and dependencies when present."""
    document = json.loads(Path(path).read_text())
    if "stacks" in document:
        raise ValueError("the plan holds several stacks; check one `preview <stack> --json` document at a time")
    resources = []
    for i, step in enumerate(document.get("steps", [])):
        state = step.get("newState") or {}
        if not {"type", "urn"} <= set(state):
            raise ValueError(f"steps[{i}].newState needs type and urn")
        resources.append(
            PlanResource(
                type=state["type"],
                urn=state["urn"],
                name=state["urn"].split("::")[-1],
                inputs=state.get("inputs") or {},
                protect=bool(state.get("protect", False)),
                parent=state.get("parent", ""),
                dependencies=list(state.get("dependencies", [])),
                property_dependencies={k: list(v) for k, v in (state.get("propertyDependencies") or {}).items()},
                custom=state.get("custom", True),
                options={k: state[k] for k in LIFECYCLE_OPTIONS if state.get(k)},
                provider=state.get("provider", ""),
            )
        )
    return resources


def stack_of(resources: list[PlanResource]) -> str:
    for r in resources:
        parts = r.urn.split("::")
        if parts and parts[0].startswith("urn:pulumi:"):
            return parts[0][len("urn:pulumi:") :]
    return "unknown"


class PolicyPackProcess:
    """The pack as the CLI runs it: `python policies/__main__.py`, which prints its gRPC port."""

    def __init__(self, stack: str, project: str = "crm", organization: str = "organization", python: Path | None = None):
        env = {
            **os.environ,
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_DRY_RUN": "true",
            "PULUMI_ORGANIZATION": organization,
        }
        self.process = subprocess.Popen(
            # The pack runs in its own folder: a relative interpreter path is taken from the caller's, not the pack's.
            # absolute(), not resolve(): a virtualenv's python is a symlink, and following it would leave the venv.
            [str(Path(python).absolute() if python else sys.executable), str(POLICY_PACK / "__main__.py")],
            cwd=POLICY_PACK,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"the policy pack did not start: {self.process.stderr.read().decode()[-2000:]}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        self.analyzer = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self.stack, self.project, self.organization = stack, project, organization

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def configure(self) -> dict[str, Any]:
        info = self.analyzer.GetAnalyzerInfo(empty_pb2.Empty())
        self.analyzer.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={p.name: analyzer_pb2.PolicyConfig(enforcementLevel=p.enforcementLevel) for p in info.policies}
            )
        )
        self.analyzer.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(stack=self.stack, project=self.project, organization=self.organization, dry_run=True)
        )
        return {p.name: p for p in info.policies}

    policy_count = 0

    def analyze(self, resources: list[PlanResource]) -> list[Violation]:
        policies = self.configure()
        self.policy_count = len(policies)
        diagnostics = []
        for r in resources:
            if not r.custom:
                continue
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type,
                properties=_struct(r.inputs),
                urn=r.urn,
                name=r.name,
                options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
            )
            diagnostics.extend(self.analyzer.Analyze(request).diagnostics)
        stack_request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=_struct(r.inputs),
                    urn=r.urn,
                    name=r.name,
                    parent=r.parent,
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
                    dependencies=r.dependencies,
                    propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()},
                )
                for r in resources
            ]
        )
        diagnostics.extend(self.analyzer.AnalyzeStack(stack_request).diagnostics)
        violations = []
        for d in diagnostics:
            policy = policies.get(d.policyName)
            severity = (
                analyzer_pb2.PolicySeverity.Name(policy.severity).replace("POLICY_SEVERITY_", "").lower() if policy else "unspecified"
            )
            # The pack prefixes each message with the policy's description; keep the finding itself.
            message = d.message.strip()
            if d.description and message.startswith(d.description.strip()):
                message = message[len(d.description.strip()) :].strip()
            violations.append(Violation(d.policyName, severity, _LEVELS.get(d.enforcementLevel, "advisory"), message, d.urn))
        return violations


def evaluate(resources: list[PlanResource], stack: str | None = None, python: Path | None = None) -> tuple[list[Violation], int]:
    """The pack's violations, and how many policies the pack evaluated; `python` runs the pack (default: this interpreter)."""
    with PolicyPackProcess(stack or stack_of(resources), python=python) as pack:
        violations = pack.analyze(resources)
        return violations, pack.policy_count


def check(resources: list[PlanResource], stack: str | None = None) -> list[Violation]:
    return evaluate(resources, stack)[0]


def report(stack: str, violations: Iterable[Violation]) -> str:
    violations = list(violations)
    lines = [
        f"Policy check of {stack}: {sum(v.enforcement == 'mandatory' for v in violations)} mandatory, "
        f"{sum(v.enforcement == 'advisory' for v in violations)} advisory"
    ]
    for severity in _SEVERITY_ORDER:
        group = [v for v in violations if v.severity == severity]
        if group:
            lines.append(f"  {severity.upper()}")
            for v in sorted(group, key=lambda v: (v.enforcement != "mandatory", v.policy, v.message)):
                lines.append(f"    [{v.enforcement}] {v.policy}: {v.message}")
    return "\n".join(lines)


__all__ = ["PlanResource", "Violation", "check", "evaluate", "from_plan_file", "from_preview", "report"]
