#!/usr/bin/env python3
"""Sets up the project's virtualenv and runs its everyday commands. Needs only Python 3.11+.

    python3 dev.py preview     # offline preview of every stack, in deploy order
    python3 dev.py test        # the whole test suite
    python3 dev.py check       # the policy pack over every stack's offline preview
    python3 dev.py bench       # preview time and peak memory per stack
    python3 dev.py scan        # Checkov over every stack's Terraform plan export (docs/security-scan.md)

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
    "test": ["-m", "pytest"],
    "check": ["-m", "tools", "check", "--all"],
    "bench": ["benchmarks/preview_benchmark.py"],
    "scan": ["-m", "tools", "scan", "--all"],
}
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_REQUIREMENTS = ROOT / "tools" / "checkov-requirements.txt"


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


def ensure_checkov() -> None:
    """Checkov gets its own virtualenv: it pins libraries the project's .venv also has."""
    requirements = CHECKOV_REQUIREMENTS.read_bytes()
    digest = hashlib.sha256(requirements).hexdigest()
    stamp = CHECKOV_VENV / ".requirements.sha256"
    python = CHECKOV_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return
    if not python.exists():
        print("Creating .venv-checkov ...", flush=True)
        venv.create(CHECKOV_VENV, with_pip=True)
    print("Installing tools/checkov-requirements.txt into .venv-checkov ...", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
                    "--no-deps", "-r", str(CHECKOV_REQUIREMENTS)], check=True)
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_environment()
    if argv[0] == "scan":
        ensure_checkov()
    return subprocess.run([str(PYTHON), *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
