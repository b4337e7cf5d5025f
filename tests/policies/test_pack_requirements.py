"""The policy pack loads from its own requirements (policies/requirements.txt) alone.

`pulumi preview --policy-pack policies` may run the pack where only those are installed: every module
the pack imports, its rules and the project modules they share, must come from the standard library,
the project, or a distribution that file lists. .ci/run also starts the pack from a fresh virtualenv
built from that file (`tools check --pack-python`).
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pack_distributions() -> set[str]:
    text = (ROOT / "policies" / "requirements.txt").read_text()
    return {re.sub(r"[-_.]+", "-", m.group(1)).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", text, re.MULTILINE)}


def _blocked_modules() -> set[str]:
    """Top-level modules installed here by distributions the pack's requirements do not list."""
    allowed = _pack_distributions()
    blocked = set()
    for module, distributions in metadata.packages_distributions().items():
        if not {re.sub(r"[-_.]+", "-", d).lower() for d in distributions} & allowed:
            blocked.add(module)
    return blocked - {"policies", "components", "tests", "tools", "stacks"}


def test_the_project_has_modules_the_pack_may_not_use():
    assert {"pulumi_cloudflare", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes"} <= _blocked_modules()


def test_the_pack_imports_nothing_outside_its_requirements():
    code = f"""
import importlib.abc, sys
BLOCKED = {sorted(_blocked_modules())!r}
class OnlyThePacksRequirements(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError(f"{{name}} is not installed by policies/requirements.txt")
sys.meta_path.insert(0, OnlyThePacksRequirements())
sys.path.insert(0, {str(ROOT)!r})
import policies.rules
print(len(policies.rules.ALL_RULES))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "policies")
    assert done.returncode == 0, done.stderr[-1500:]
    assert int(done.stdout) >= 40
