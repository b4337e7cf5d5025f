"""The only place the tooling reaches into the Pulumi SDK's private parts.

Why they are needed at all: the Pulumi CLI starts a fresh language host process per run, so the SDK
keeps its run state in module globals and offers no public way to reset them. The offline engine runs
many stacks in one process (a whole `preview --all`, the test suite), so between runs it has to drop
the root stack resource and the RPCs and outputs a failed run left behind. The wire signatures that
mark secrets and resource references in a property struct are likewise module-private in
`pulumi.runtime.rpc`; they are read from there rather than copied, so an SDK change shows up here.

The unknown-value sentinel is public (`pulumi.runtime.rpc.UNKNOWN`) and is imported from the SDK
where it is used; it does not belong here. Nothing else in the repository may touch a private SDK
name: when an SDK upgrade breaks one of these, this module is the one file to fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc as _rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime.proto import source_pb2 as _source_pb2

SIG_KEY: str = _rpc._special_sig_key  # the key that marks a special value in a property struct
SECRET_SIG: str = _rpc._special_secret_sig  # ... a secret: {SIG_KEY: SECRET_SIG, "value": ...}
RESOURCE_SIG: str = _rpc._special_resource_sig  # ... a resource reference: {SIG_KEY: RESOURCE_SIG, "urn": ...}


def reset_root_resource() -> None:
    """Forgets the root stack resource so that the next `run_in_stack` creates its own, as a new process would."""
    _settings.set_root_resource(None)  # type: ignore[arg-type]  # None is what the SDK starts with


def forget_pending_work() -> None:
    """Drops the RPCs and outputs a failed run left behind: they belong to an event loop about to close."""
    _settings.SETTINGS.rpc_manager.clear()
    with _settings.SETTINGS.lock:
        _settings.SETTINGS.outputs.clear()


@contextlib.contextmanager
def without_source_positions() -> Iterator[None]:
    """Registrations carry no stack trace or source position while inside.

    The SDK walks the whole Python stack of every registration to tell the Pulumi CLI which line
    declared the resource (for its display); the mock monitor drops both, and the walk is an eighth
    of a run's time. An empty trace is what the SDK itself sends when it finds no user frame."""
    original = _resource._get_stack_trace
    _resource._get_stack_trace = _source_pb2.StackTrace
    try:
        yield
    finally:
        _resource._get_stack_trace = original
