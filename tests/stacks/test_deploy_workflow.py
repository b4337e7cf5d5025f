"""The deploy workflow can run what the stacks' kubeconfigs need."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github/workflows/pulumi-stack.yml"


def _steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["run"]["steps"]


def test_gcp_deploys_install_the_auth_plugin_the_gke_kubeconfig_execs(shipped, plain):
    kubeconfig = json.loads(plain(shipped("gcp-dr", preview=False).outputs["kubeconfig"]))
    command = kubeconfig["users"][0]["user"]["exec"]["command"]
    installs = [s for s in _steps() if "setup-gcloud" in s.get("uses", "") and command in s.get("with", {}).get("install_components", "")]
    assert len(installs) == 1 and "gcp-" in installs[0]["if"]


def test_the_plugin_is_installed_after_google_credentials_and_before_pulumi(shipped):
    names = [s.get("uses", "") or s.get("name", "") for s in _steps()]
    auth = next(i for i, n in enumerate(names) if "google-github-actions/auth" in n)
    gcloud = next(i for i, n in enumerate(names) if "setup-gcloud" in n)
    pulumi_run = next(i for i, s in enumerate(_steps()) if "pulumi up" in s.get("run", ""))
    assert auth < gcloud < pulumi_run
