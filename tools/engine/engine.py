"""The mock engine run: one stack program, its own event loop and mock monitor, nothing shared.

What the mock monitor receives is what the Pulumi engine would receive from the same program, so
the recorded registrations (type, name, parent, protect, dependencies, aliases, inputs with secrets and
unknowns marked) are a faithful plan of what `pulumi up` would create.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, run_in_stack, set_all_config

from . import fakes, sdk_internals


class _Unknown:
    """A value known only after deploy."""

    def __repr__(self) -> str:
        return "[unknown]"

    def __copy__(self) -> _Unknown:
        return self  # a singleton: compared with `is UNKNOWN`

    def __reduce__(self) -> str:
        return "UNKNOWN"  # pickled as the module's one instance (runs kept on disk, tools/engine/cache.py)

    def __deepcopy__(self, memo) -> _Unknown:
        return self


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret. Its text is never printed."""

    value: Any

    def __repr__(self) -> str:
        return "[secret]"


def map_markers(
    value: Any,
    *,
    secret: Callable[[Any], Any],
    unknown: Callable[[], Any],
    other: Callable[[Any], Any] = lambda v: v,
) -> Any:
    """Rebuilds a value tree, letting the caller decide what a secret or an unknown becomes.

    `secret` receives the secret's inner value, already mapped; `other` sees every remaining leaf.
    """
    if isinstance(value, Secret):
        return secret(map_markers(value.value, secret=secret, unknown=unknown, other=other))
    if isinstance(value, _Unknown):
        return unknown()
    if isinstance(value, dict):
        return {k: map_markers(v, secret=secret, unknown=unknown, other=other) for k, v in value.items()}
    if isinstance(value, list):
        return [map_markers(v, secret=secret, unknown=unknown, other=other) for v in value]
    return other(value)


def deployed_urn(urn: str) -> str:
    """The URN the Pulumi engine gives the resource: the mocks put the root stack's type in the parent chain
    of every resource, the engine leaves it out (`urn:pulumi:<stack>::<project>::<type chain>::<name>`)."""
    return urn.replace("pulumi:pulumi:Stack$", "", 1)


def reveal(value: Any) -> Any:
    """The plain value, secrets opened (for tests that check what a secret holds)."""
    return map_markers(value, secret=lambda inner: inner, unknown=lambda: UNKNOWN)


def _from_struct(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return UNKNOWN if value == rpc.UNKNOWN else value
    if isinstance(value, list):
        return [_from_struct(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(sdk_internals.SIG_KEY)
        if sig == sdk_internals.SECRET_SIG and "value" in value:
            return Secret(_from_struct(value["value"]))
        if sig == sdk_internals.SECRET_SIG:
            return Secret(UNKNOWN)
        if sig == sdk_internals.RESOURCE_SIG:
            return value.get("urn", "")
        return {k: _from_struct(v) for k, v in value.items()}
    return value


def struct_to_python(struct: Any) -> dict:
    return {k: _from_struct(v) for k, v in json_format.MessageToDict(struct).items()}


@dataclass
class RegisteredResource:
    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    protect: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    op: str = "create"
    provider: str = ""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    id: Any = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    """What the engine answered: a custom resource's state as its provider (here the mocks) returned
    it, a component's registered outputs. In a preview, values computed by the provider are absent."""
    # Each alias as registered: a full URN ({"urn": ...}) or a spec ({"name", "type", "parentUrn", "noParent", ...}).
    aliases: list[dict[str, Any]] = field(default_factory=list)
    # The lifecycle options the program set, in the state file's spelling: ignoreChanges, replaceOnChanges
    # (property paths), deleteBeforeReplace, retainOnDelete (true). Options left unset are absent.
    options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)

    def output(self, key: str) -> Any:
        """One value of the resource's recorded state (`id` is the resource's id), for tests that check
        an input of one resource is this resource's ARN, id, name or endpoint."""
        if key == "id":
            return self.id
        if key not in self.outputs:
            raise KeyError(f"{self.type} '{self.name}' has no output '{key}' (have: {sorted(self.outputs)})")
        return self.outputs[key]


@dataclass
class PreviewResult:
    stack: str
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    preview: bool = True
    diagnostics: list[tuple[str, str]] = field(default_factory=list)
    """What the program logged through `pulumi.log` (severity, message), as `pulumi preview` lists under Diagnostics."""
    invokes: list[str] = field(default_factory=list)
    """The provider functions (data sources) the program called, by token, each once, in the order first called."""

    def warnings(self) -> list[str]:
        return [message for severity, message in self.diagnostics if severity == "warning"]

    def of_type(self, type_: str) -> list[RegisteredResource]:
        """Resources of a type token (`aws:rds/instance:Instance`) or its short form (`aws:rds:Instance`)."""
        return [r for r in self.resources if _type_matches(r.type, type_)]

    def one(self, type_: str, name: str | None = None) -> RegisteredResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise AssertionError(f"expected one {type_}{' named ' + name if name else ''}, found {len(found)} (have: {names})")
        return found[0]

    def count_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))


def _type_matches(actual: str, wanted: str) -> bool:
    if actual == wanted:
        return True
    package, _, rest = actual.partition(":")
    module, _, kind = rest.partition(":")
    return wanted == f"{package}:{module.split('/')[0]}:{kind}"


READBACK_SUFFIX = "-readback"  # the logical name of stacks/references.py ReadBack's StackReference


class StackReferenceError(Exception):
    pass


class _Mocks(mocks.Mocks):
    def __init__(self, preview: bool, stack_outputs: Mapping[str, Mapping[str, Any]], stack: str):
        self.preview = preview
        self.stack_outputs = stack_outputs
        self.stack = stack
        self.invoked: list[str] = []

    def new_resource(self, args: mocks.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args)
        state = dict(args.inputs)
        if self.preview:
            return "", state
        state.update(fakes.computed(args.typ, args.name, args.inputs))
        return f"{args.name}-id", state

    def _stack_reference(self, args: mocks.MockResourceArgs):
        full_name = args.inputs.get("name") or args.resource_id or args.name
        short = str(full_name).split("/")[-1]
        if short not in self.stack_outputs and str(args.name).endswith(READBACK_SUFFIX):
            # A stack that deploys after this one (stacks/references.py ReadBack): initialized, never deployed.
            return full_name, {"name": full_name, "outputs": {}, "secretOutputNames": []}
        if short not in self.stack_outputs:
            raise StackReferenceError(
                f"stack '{self.stack}' references stack '{full_name}', which has not been previewed first (deploy order)"
            )
        outputs, secret_names = self.stack_outputs[short]
        return full_name, {"name": full_name, "outputs": dict(outputs), "secretOutputNames": list(secret_names)}

    def call(self, args: mocks.MockCallArgs):
        if args.token not in self.invoked:
            self.invoked.append(args.token)
        return fakes.invoke(args.token, args.args), []


def _state(type_: str, state: Any) -> dict[str, Any]:
    """A resource's state as recorded; a StackReference's secret outputs stay secret, as the engine keeps them."""
    values = struct_to_python(state)
    if type_ == "pulumi:pulumi:StackReference" and isinstance(values.get("outputs"), dict):
        secret = set(values.get("secretOutputNames") or [])
        values["outputs"] = {k: v if k not in secret or isinstance(v, Secret) else Secret(v) for k, v in values["outputs"].items()}
    return values


def _lifecycle_options(request) -> dict[str, Any]:
    """The lifecycle options of a registration, as `pulumi preview --json` and the state file name them."""
    options: dict[str, Any] = {}
    for key in ("ignoreChanges", "replaceOnChanges"):
        paths = list(getattr(request, key, []) or [])
        if paths:
            options[key] = paths
    if getattr(request, "deleteBeforeReplace", False):
        options["deleteBeforeReplace"] = True
    if getattr(request, "retainOnDelete", False):
        options["retainOnDelete"] = True
    return options


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, m: mocks.Mocks):
        super().__init__(m)
        self.recorded: list[RegisteredResource] = []
        self.stack_outputs: dict[str, Any] = {}

    def _record(self, request, response, op: str) -> None:
        urn = response.urn
        props = getattr(request, "object", None) or getattr(request, "properties", None)
        state = getattr(response, "object", None) or getattr(response, "properties", None)
        resource_id = response.id if op == "create" else request.id
        self.recorded.append(
            RegisteredResource(
                type=request.type,
                name=request.name,
                urn=urn,
                custom=bool(getattr(request, "custom", True)),
                parent=request.parent,
                protect=bool(getattr(request, "protect", False)),
                dependencies=list(getattr(request, "dependencies", [])),
                inputs=struct_to_python(props) if props is not None else {},
                op=op,
                provider=request.provider,
                property_dependencies={k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()},
                id=(resource_id or UNKNOWN) if bool(getattr(request, "custom", True)) else "",
                outputs=_state(request.type, state) if state is not None and bool(getattr(request, "custom", True)) else {},
                aliases=[json_format.MessageToDict(a) for a in getattr(request, "aliases", [])],
                options=_lifecycle_options(request),
            )
        )

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response, "create")
        return response

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self._record(request, response, "read")
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.stack_outputs = struct_to_python(request.outputs)
        else:  # a component's register_outputs
            for resource in self.recorded:
                if resource.urn == request.urn:
                    resource.outputs = struct_to_python(request.outputs)
        return super().RegisterResourceOutputs(request)


class _DiagnosticsLog(logging.Handler):
    """Collects what the program logs (info and above, as the Pulumi CLI shows by default); the mock
    engine hands `pulumi.log` calls to a standard logger."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))

    def logger(self) -> logging.Logger:
        logger = logging.Logger("pulumi-program", logging.INFO)  # not registered globally: one per run, dropped with it
        logger.addHandler(self)
        logger.propagate = False
        return logger


def _config_values(raw_config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Stack-file config as the engine hands it to programs: text, objects as JSON, secure values as placeholders."""
    values, secret_keys = {}, []
    for key, value in raw_config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            digest = hashlib.sha256(str(value["secure"]).encode()).hexdigest()[:16]
            values[key] = f"offline-secret-{digest}"
            secret_keys.append(key)
        elif isinstance(value, (dict, list)):
            values[key] = json.dumps(value)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        else:
            values[key] = str(value)
    return values, secret_keys


def _cancel_leftover_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """A run that failed leaves outputs waiting on each other; cancel them rather than let them warn at exit."""
    leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))


# The cyclic garbage collector's default thresholds (700, 10, 10) suit small programs. One stack run makes hundreds
# of thousands of objects: with them a run of aws-production starts over 300 collections, and a process that runs
# many stacks spends a third of its time in full collections over everything alive. With these, a run starts a
# handful and the process's peak memory grows by about a tenth.
COLLECTOR_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collector() -> None:
    """For a process that runs stack programs under the mock engine (the commands, the suite): not for a real
    `pulumi up`, whose language host runs the program once."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


class _RunLoops:
    """The event loops of one run: the run's own, and one per thread of its executor, all closed when it ends.

    The SDK hands each call to the monitor to the loop's default executor, and the mock monitor gives the thread
    it runs on an event loop of its own when it has none (pulumi.runtime.sync_await._ensure_event_loop). Those
    loops are made here instead, with each thread, so that the run closes them: left to the SDK they were
    never closed, and a garbage collection that met one in a cycle reported an "Invalid file descriptor"
    from its __del__ at whatever ran next. The loop the calling thread had before the run is its loop again
    afterwards (the SDK sets one when it awaits synchronously outside a run).
    """

    def __init__(self) -> None:
        # The thread's current loop, read without making one: the policy's get_event_loop() makes one on the main
        # thread's first call, and that loop would stay set, never closed, after every run.
        self._before: asyncio.AbstractEventLoop | None = getattr(getattr(asyncio.get_event_loop_policy(), "_local", None), "_loop", None)
        self._lock = threading.Lock()
        self._thread_loops: list[asyncio.AbstractEventLoop] = []
        self._executor = ThreadPoolExecutor(thread_name_prefix="crm-engine", initializer=self._give_thread_a_loop)
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(self._executor)
        asyncio.set_event_loop(self.loop)

    def _give_thread_a_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with self._lock:
            self._thread_loops.append(loop)

    def close(self) -> None:
        try:
            # A failed run leaves calls to the monitor queued, each running its thread's loop for a moment: the
            # running one finishes and the rest are dropped before any loop is closed (closing a running loop
            # raises, and would replace the run's own error).
            self._executor.shutdown(wait=True, cancel_futures=True)
            self.loop.close()
            with self._lock:
                for loop in self._thread_loops:
                    loop.close()
                self._thread_loops.clear()
        finally:
            asyncio.set_event_loop(self._before if self._before is not None and not self._before.is_closed() else None)


def run_program(
    stack: str,
    raw_config: Mapping[str, Any],
    program: Callable[[], None],
    *,
    preview: bool = True,
    stack_outputs: Mapping[str, tuple[Mapping[str, Any], list[str]]] | None = None,
    project: str = "crm",
    monitor: _RecordingMonitor | None = None,
) -> PreviewResult:
    """Runs `program` as stack `stack` under mocks and returns what it registered.

    preview=True behaves like `pulumi preview` of a new stack: values computed by providers are
    unknown. preview=False behaves like `pulumi up` against fake providers that return plausible
    computed values, so tests can resolve outputs (an app_env JSON, a policy document). `monitor`
    replaces the recording monitor and its mocks (the diff answers with a deployed state).
    """
    sdk_internals.forget_pending_work()
    loops = _RunLoops()
    loop = loops.loop
    monitor = monitor or _RecordingMonitor(_Mocks(preview, stack_outputs or {}, stack))
    diagnostics = _DiagnosticsLog()
    try:
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=diagnostics.logger())
        sdk_internals.reset_root_resource()  # run_in_stack makes the root stack, as the real language host does
        values, secret_keys = _config_values(raw_config)
        set_all_config(values, secret_keys)
        with sdk_internals.without_source_positions():
            loop.run_until_complete(run_in_stack(program))
    except BaseException as error:
        error.registered_resources = list(monitor.recorded)  # what got registered before the failure
        # Every output that depended on the failed one holds the same error; it is raised once, here.
        failure = type(error)
        loop.set_exception_handler(
            lambda lp, context: None if isinstance(context.get("exception"), failure) else lp.default_exception_handler(context)
        )
        raise
    finally:
        sdk_internals.forget_pending_work()
        _cancel_leftover_tasks(loop)
        set_all_config({}, [])
        sdk_internals.reset_root_resource()
        loops.close()
    return PreviewResult(
        stack=stack,
        resources=monitor.recorded,
        outputs=monitor.stack_outputs,
        preview=preview,
        diagnostics=diagnostics.records,
        invokes=list(monitor.mocks.invoked),
    )
