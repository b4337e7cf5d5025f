"""Offline runs kept on disk, keyed by everything a run is a function of.

A run of a stack under the mock engine depends only on the program's files, the installed Pulumi
SDKs, the stack's config, the outputs of the stacks it references, whether it is a preview, the
UTC day (rotation keepers follow the calendar) and what the fake providers answer. The key is a
digest of all of them, so an edited file, an upgraded SDK or a new day is a new key and a stale
run is never read back.

Off unless `CRM_PREVIEW_CACHE` names a directory: `python3 dev.py` sets it to `build/preview-cache`
so that the test suite, `tools.docs --check`, the scans, the policy check and the cost estimate
of one tree preview each stack once between them. A command run by hand previews afresh.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from . import fakes

ENVIRONMENT = "CRM_PREVIEW_CACHE"


class _Switch:
    """Whether runs in this process use the directory. The test suite turns it off in its own process, where a
    test may replace a program's function before a run (its subprocesses, which no test can patch, still use it)."""

    on = True


IN_THIS_PROCESS = _Switch()
# What the programs are made of, relative to the project: their code, the data they read and the fakes.
PROGRAM = ("stacks", "components", "tools/engine")
PROGRAM_FILES = ("Pulumi.yaml", "__main__.py")
SUFFIXES = (".py", ".yaml", ".yml", ".json", ".txt", ".pem")
# A tree's entries are kept this long after their last use; other trees' entries are left alone until then.
KEEP_DAYS = 3
T = TypeVar("T")


def directory() -> Path | None:
    return directory_for_child_processes() if IN_THIS_PROCESS.on else None


def directory_for_child_processes() -> Path | None:
    """CRM_PREVIEW_CACHE's directory even where this process's own runs bypass it (the test suite's): for what a child
    process computes from files alone, which nothing in this process can patch (the base of a diff)."""
    value = os.environ.get(ENVIRONMENT)
    return Path(value) if value else None


@functools.cache
def program_digest(project_dir: Path) -> str:
    """The program's files (path and content), the installed packages' versions and the Python version, as one digest
    (read once per process: a command's runs are all of the tree it started with)."""
    digest = hashlib.sha256()
    files = [project_dir / name for name in PROGRAM_FILES]
    for folder in PROGRAM:
        files.extend(sorted(path for path in (project_dir / folder).rglob("*") if path.suffix in SUFFIXES and path.is_file()))
    add_files(digest, project_dir, files)
    # Every installed package: the SDKs, and what reads the config (pydantic, PyYAML) or computes the fakes.
    installed = sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions())
    digest.update(json.dumps([installed, sys.version]).encode())
    return digest.hexdigest()


def add_files(digest: Any, project_dir: Path, files: Iterable[Path]) -> None:
    """Adds each file's path (relative to the project) and content to `digest`, in the order given; compiled
    modules (__pycache__) and paths that are not files are left out."""
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Runs inside read and keep nothing: for a caller that records more of a run than its result (tools/diff/snapshot.py)."""
    saved, IN_THIS_PROCESS.on = IN_THIS_PROCESS.on, False
    try:
        yield
    finally:
        IN_THIS_PROCESS.on = saved


def key(project_dir: Path, *parts: Any) -> str | None:
    """The key of a run described by `parts`; None when the fake providers are not the shipped ones (not cacheable)."""
    answers = fakes.state()
    if answers is None:
        return None
    text = json.dumps([program_digest(project_dir), _today(), answers, *parts], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def remember(project_dir: Path, parts: tuple, compute: Callable[[], T], *, where: Path | None = None) -> T:
    """`compute()`, or what it returned for the same key before (in `where`, else CRM_PREVIEW_CACHE's directory)."""
    root = where or directory()
    entry = key(project_dir, *parts) if root else None
    if root is None or entry is None:
        return compute()
    folder = root / program_digest(project_dir)[:16]
    path = folder / f"{entry}.pickle"
    found = _read(path)
    if found is not None:
        _touch(folder)
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    # One process computes a run; another that wants it meanwhile (the test suite's other worker, a scan
    # started beside it) waits for it and reads it, instead of computing it a second time.
    with _computing(folder / f"{entry}.lock"):
        found = _read(path)
        if found is not None:
            return found[0]
        value = compute()
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(pickle.dumps(value))
        partial.replace(path)  # atomic: a reader that takes no lock gets all of it or nothing
    _touch(folder)
    _forget_old(root, keep=folder)
    return value


def _read(path: Path) -> tuple[Any] | None:
    """(the kept value,), or None when there is none (or only a damaged one, which is computed again)."""
    try:
        return (pickle.loads(path.read_bytes()),)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None


@contextlib.contextmanager
def _computing(lock: Path) -> Iterator[None]:
    """Holds `lock` exclusively (an flock, released by the system if the holder dies); no lock where there is no fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: two processes may compute the same run, and the last write wins
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _touch(folder: Path) -> None:
    os.utime(folder)  # the tree's last use, for _forget_old


def _forget_old(root: Path, keep: Path) -> None:
    """Entries of trees unused for KEEP_DAYS (an older commit, another branch) go."""
    cutoff = time.time() - KEEP_DAYS * 86400
    for folder in root.iterdir():
        if folder != keep and folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
