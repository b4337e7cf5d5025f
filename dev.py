#!/usr/bin/env python3
"""Sets up the project's virtualenv and runs its everyday commands. Needs only Python 3.11+.

    python3 dev.py preview     # offline preview of every stack, in deploy order
    python3 dev.py test        # the whole test suite, one worker per core
    python3 dev.py check       # the policy pack over every stack's offline preview
    python3 dev.py bench       # preview time and peak memory per stack

The virtualenv is `.venv`, the one Pulumi.yaml names, so `pulumi up` uses the same packages.
It is (re)installed only when requirements.txt changes.
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
COMMANDS = {
    "preview": ["-m", "tools", "preview", "--all"],
    "test": ["-m", "pytest", "-n", "auto", "--dist", "loadgroup"],  # one worker per core (pytest-xdist); see docs/development.md
    "check": ["-m", "tools", "check", "--all"],
    "bench": ["benchmarks/preview_benchmark.py"],
}


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    requirements = (ROOT / "requirements.txt").read_bytes()
    digest = hashlib.sha256(requirements).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing requirements.txt into .venv ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(ROOT / "requirements.txt")], check=True)
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_environment()
    return subprocess.run([str(PYTHON), *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
