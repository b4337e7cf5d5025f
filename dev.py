#!/usr/bin/env python3
"""Sets up the project's virtualenv and runs its everyday commands. Needs only Python 3.11+.

    python3 dev.py install     # only create or refresh .venv (what CI runs before using it)
    python3 dev.py preview     # offline preview of every stack, in deploy order
    python3 dev.py test        # the whole test suite, one worker per core and one more
    python3 dev.py check       # the policy pack over every stack's offline preview
    python3 dev.py bench       # preview time and peak memory per stack
    python3 dev.py scan        # Checkov over every stack's Terraform plan export (docs/security-scan.md)
    python3 dev.py iam-scan    # Parliament and Cloudsplaining over every IAM policy document (docs/security-scan.md)
    python3 dev.py lint        # ruff check, ruff format --check and basedpyright (pyproject.toml)
    python3 dev.py lock        # re-lock after editing pyproject.toml's dependencies (uv.lock, requirements*.txt)

The virtualenv is `.venv`, the one Pulumi.yaml names, so `pulumi up` uses the same packages.
It is built from the lock, requirements-dev.txt (every file's hash checked), and rebuilt only when
that file changes. docs/development.md#dependencies says how to add a dependency.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".requirements.sha256"
LOCK = ROOT / "requirements-dev.txt"  # uv.lock exported for pip: runtime, policy pack, dr/, tools/ and dev groups
# uv.lock exported per room, all from the same resolution: (file, `uv export` arguments).
EXPORTS = (
    ("requirements.txt", ["--no-default-groups"]),  # the Pulumi program; Pulumi.yaml's toolchain pip installs it
    ("policies/requirements.txt", ["--only-group", "policy"]),  # `pulumi install` in policies/
    ("dr/requirements.txt", ["--only-group", "dr"]),  # dr/Dockerfile
    ("requirements-dev.txt", ["--all-groups"]),  # .venv
)


def suite_workers() -> int:
    """pytest-xdist workers for the suite: one per core this process may use, and one more. The failover tests and the
    game day spend most of their time waiting (on PostgreSQL, fake clocks and the commands they start); the extra
    worker's tests use the core they leave idle."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        cores = os.cpu_count() or 1
    return cores + 1


COMMANDS = {
    "preview": ["-m", "tools", "preview", "--all"],
    "test": ["-m", "pytest", "-n", str(suite_workers()), "--dist", "loadgroup"],  # see suite_workers and docs/development.md
    "check": ["-m", "tools", "check", "--all"],
    "bench": ["benchmarks/preview_benchmark.py"],
    "scan": ["-m", "tools", "scan", "--all"],
    "iam-scan": ["-m", "tools.iam_scan", "--all"],
}
# Offline runs kept by content (tools/engine/cache.py): the suite, the scans and the policy check of one tree
# preview each stack once between them. Not for bench, which measures the runs themselves.
PREVIEW_CACHE = ROOT / "build" / "preview-cache"
CACHED = ("test", "check", "scan", "iam-scan")
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_REQUIREMENTS = ROOT / "tools" / "checkov-requirements.txt"
IAM_VENV = ROOT / ".venv-iam"
IAM_REQUIREMENTS = ROOT / "tools" / "iam-requirements.txt"


PIP_QUIET = ["--quiet", "--disable-pip-version-check"]


def ensure_environment() -> None:
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print(f"Installing {LOCK.name} into .venv ...", flush=True)
    # uv first, at the lock's version and hash, installed by pip: it installs the rest in seconds where pip
    # takes over a minute.
    uv_requirement = _locked_requirement(LOCK, "uv")
    if uv_requirement:
        pinned = VENV / ".uv-requirement.txt"
        pinned.write_text(uv_requirement)
        subprocess.run([str(PYTHON), "-m", "pip", "install", *PIP_QUIET, "--require-hashes", "-r", str(pinned)], check=True)
    install_requirements(PYTHON, LOCK)
    STAMP.write_text(digest)


def install_requirements(python: Path, requirements_file: Path, *, no_deps: bool = False) -> None:
    """Installs a hash-pinned requirements file into `python`'s environment: with .venv's uv when it is there,
    and with pip when it is not or uv cannot (uv reads no pip.conf: an index only pip is configured for)."""
    extra = ["--no-deps"] if no_deps else []
    uv = Path(tool("uv"))
    if uv.exists():
        env = {**os.environ}
        if "PIP_INDEX_URL" in os.environ:
            env.setdefault("UV_DEFAULT_INDEX", os.environ["PIP_INDEX_URL"])
        # --compile-bytecode: as pip does. Python compiles nothing itself where PYTHONDONTWRITEBYTECODE is set (CI
        # images set it), and every process would parse the provider SDKs' sources again: twice the import time.
        command = [str(uv), "pip", "install", "--quiet", "--require-hashes", "--compile-bytecode", *extra]
        command += ["--python", str(python), "-r", str(requirements_file)]
        if subprocess.run(command, env=env).returncode == 0:
            return
        print(f"uv could not install {requirements_file.name}; installing it with pip ...", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", *PIP_QUIET, "--require-hashes", *extra, "-r", str(requirements_file)], check=True)


def _locked_requirement(lock: Path, name: str) -> str:
    """The lock's entry for one package (its `name==version` line and its hash lines), or "" when it has none."""
    entry: list[str] = []
    for line in lock.read_text().splitlines():
        if entry and not line.startswith((" ", "\t")):
            break
        if entry or line.startswith(f"{name}=="):
            entry.append(line)
    return "\n".join(entry) + "\n" if entry else ""


def ensure_checkov() -> None:
    """Checkov gets its own virtualenv: it pins libraries the project's .venv also has."""
    ensure_tool_environment(CHECKOV_VENV, CHECKOV_REQUIREMENTS)


def ensure_iam_analysers() -> None:
    """Parliament and Cloudsplaining get their own virtualenv: Parliament needs a setuptools the lock no longer has."""
    ensure_tool_environment(IAM_VENV, IAM_REQUIREMENTS)


def ensure_tool_environment(environment: Path, requirements_file: Path) -> None:
    """A tool's own virtualenv from its hash-pinned requirements, rebuilt only when they change."""
    requirements = requirements_file.read_bytes()
    digest = hashlib.sha256(requirements).hexdigest()
    stamp = environment / ".requirements.sha256"
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return
    if not python.exists():
        print(f"Creating {environment.name} ...", flush=True)
        venv.create(environment, with_pip=True)
    print(f"Installing {requirements_file.relative_to(ROOT)} into {environment.name} ...", flush=True)
    install_requirements(python, requirements_file, no_deps=True)
    stamp.write_text(digest)


def tool(name: str) -> str:
    return str(PYTHON.parent / (name + (".exe" if os.name == "nt" else "")))


def lock(args: list[str]) -> int:
    """`uv lock` (extra arguments go to it, e.g. --upgrade-package NAME), then the pip-installable exports."""
    uv = tool("uv")
    if subprocess.run([uv, "lock", *args], cwd=ROOT).returncode != 0:
        return 1
    for path, selection in EXPORTS:
        command = [uv, "export", "--frozen", "--no-emit-project", "--quiet", *selection, "--output-file", path]
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            return 1
    return 0


def lint(args: list[str]) -> int:
    """Every check runs, whatever the earlier ones found; non-zero when any fails."""
    checks = [[tool("ruff"), "check", *args, "."], [tool("ruff"), "format", "--check", "."], [tool("basedpyright")]]
    # The provider SDKs' type information outgrows Node's default heap, where pyright slows to a crawl.
    env = {**os.environ, "NODE_OPTIONS": (os.environ.get("NODE_OPTIONS", "") + " --max-old-space-size=8192").strip()}
    return max(subprocess.run(command, cwd=ROOT, env=env).returncode for command in checks)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*COMMANDS, "install", "lint", "lock"):
        print(__doc__)
        return 2
    ensure_environment()
    if argv[0] == "scan":
        ensure_checkov()
    if argv[0] == "iam-scan":
        ensure_iam_analysers()
    if argv[0] == "install":
        return 0
    if argv[0] in ("lint", "lock"):
        return {"lint": lint, "lock": lock}[argv[0]](argv[1:])
    return subprocess.run([str(PYTHON), *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT, env=command_environment(argv[0])).returncode


def command_environment(command: str) -> dict[str, str]:
    """The environment a command runs in: the preview cache where it reads previews, and Python's own bytecode cache.

    Where PYTHONDONTWRITEBYTECODE is set, every process compiled the project's modules again, and pytest rewrote
    every test module's asserts again: each test worker, and each command a test starts. That was about a tenth
    of the suite's time. The compiled files go where Python puts them (__pycache__/, which git ignores)."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if command in CACHED:
        env.setdefault("CRM_PREVIEW_CACHE", str(PREVIEW_CACHE))
    return env


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
