"""The deploy workflow can run what the stacks' kubeconfigs need."""

from __future__ import annotations

import json
import re
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


def _job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["run"]


def test_a_stack_missing_from_the_backend_is_created_with_the_bootstrap_key_before_pulumi_runs():
    steps = _job()["steps"]
    create = next(i for i, s in enumerate(steps) if "pulumi stack select --create" in s.get("run", ""))
    assert '--secrets-provider "$PULUMI_SECRETS_PROVIDER" "${{ inputs.stack }}"' in steps[create]["run"]
    env = {**yaml.safe_load(WORKFLOW.read_text()).get("env", {}), **_job().get("env", {})}
    assert env["PULUMI_SECRETS_PROVIDER"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
    assert create < next(i for i, s in enumerate(steps) if "pulumi up" in s.get("run", ""))


def test_runs_of_one_stack_queue_behind_each_other_and_are_never_cancelled():
    concurrency = _job()["concurrency"]
    assert re.findall(r"\$\{\{\s*(.*?)\s*\}\}", concurrency["group"]) == ["inputs.stack"]
    assert concurrency["cancel-in-progress"] is False


def test_every_preview_and_up_goes_through_the_per_stack_workflow():
    jobs = yaml.safe_load(WORKFLOW.with_name("infrastructure.yml").read_text())["jobs"]
    pulumi_runs = [name for name, job in jobs.items() if "pulumi " in json.dumps(job.get("steps", []))]
    callers = [name for name, job in jobs.items() if job.get("uses") == "./.github/workflows/pulumi-stack.yml"]
    assert not pulumi_runs and {"preview", "up-production", "up-global"} <= set(callers)
