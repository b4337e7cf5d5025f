"""Writing the bootstrap outputs into the repository's variables and the stack files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tools.ci_variables import VARIABLES, MissingOutput, gh_commands, main, variables, with_secrets_provider
from tools.engine.workspace import exported_for_reference

PROJECT = Path(__file__).resolve().parents[2]


def bootstrap_outputs(shipped) -> dict:
    outputs, _ = exported_for_reference(shipped("bootstrap", preview=False))
    return outputs


def test_every_variable_the_workflow_reads_is_a_bootstrap_output(shipped):
    workflow = (PROJECT / ".github/workflows/pulumi-stack.yml").read_text()
    assert set(variables(bootstrap_outputs(shipped))) == set(VARIABLES)
    assert {name for name in VARIABLES if f"vars.{name}" in workflow} == set(VARIABLES)
    assert "PULUMI_CONFIG_PASSPHRASE" not in workflow


def test_a_missing_output_names_it():
    with pytest.raises(MissingOutput, match="awsDeployRoleArn"):
        variables({"backendUrl": "s3://b"})


def test_commands_set_each_variable_on_the_repository():
    commands = gh_commands({"PULUMI_BACKEND_URL": "s3://b?region=r"}, "acme/crm")
    assert commands == [["gh", "variable", "set", "PULUMI_BACKEND_URL", "--body", "s3://b?region=r", "--repo", "acme/crm"]]


def test_dry_run_prints_one_command_per_variable(shipped, tmp_path, capsys):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps(bootstrap_outputs(shipped)))
    assert main(["--outputs", str(saved), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(VARIABLES)
    assert all(line.startswith("gh variable set ") and line.endswith("--repo example-org/crm-infrastructure") for line in lines)


def test_stack_files_get_the_secrets_provider(shipped, tmp_path):
    for path in PROJECT.glob("Pulumi.*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    outputs = {
        **bootstrap_outputs(shipped),
        "secretsProvider": "gcpkms://projects/acme-ci/locations/asia-northeast3/keyRings/k/cryptoKeys/pulumi-secrets",
    }
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps(outputs))
    assert main(["--outputs", str(saved), "--dry-run", "--stack-files", "--project-dir", str(tmp_path)]) == 0
    assert "gcpkms" not in (tmp_path / "Pulumi.aws-dr.yaml").read_text()  # a dry run writes nothing
    assert main(["--outputs", str(saved), "--stack-files", "--project-dir", str(tmp_path)]) == 0
    providers = {p.name: yaml.safe_load(p.read_text()).get("secretsprovider") for p in tmp_path.glob("Pulumi.*.yaml")}
    assert providers.pop("Pulumi.bootstrap.yaml") is None
    assert set(providers.values()) == {outputs["secretsProvider"]} and len(providers) == 9


def test_setting_the_provider_replaces_the_line_and_keeps_the_config():
    text = (PROJECT / "Pulumi.gcp-dr.yaml").read_text()
    updated = with_secrets_provider(text, "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k")
    document = yaml.safe_load(updated)
    assert document["secretsprovider"] == "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"
    assert document["config"] == yaml.safe_load(text)["config"]
    assert yaml.safe_load(with_secrets_provider("config:\n  a: 1\n", "awskms://alias/x"))["secretsprovider"] == "awskms://alias/x"


def _workflow(name: str) -> dict:
    return yaml.safe_load((PROJECT / ".github/workflows" / name).read_text())


def test_every_up_job_runs_in_an_environment_the_deploy_identities_trust():
    from stacks.config import load, read_stack_file

    trusted = set(load("bootstrap", read_stack_file("bootstrap")).github.deploy_environments)
    jobs = _workflow("infrastructure.yml")["jobs"]
    up_environments = set()
    for job in jobs.values():
        if job.get("with", {}).get("command") == "up":
            value = job["with"].get("environment")
            # An expression `${{ <condition> && 'a' || 'b' }}` picks one of its two results.
            choices = re.findall(r"&& '([^']+)' \|\| '([^']+)' }}$", value or "")
            up_environments |= set(choices[0]) if choices else {value}
    assert up_environments and up_environments <= trusted
    previews = [job for job in jobs.values() if job.get("with", {}).get("command") == "preview"]
    assert previews and all(not job["with"].get("environment") for job in previews)  # sub = pull_request / ref: the preview identities


def test_bootstrap_is_never_run_by_ci():
    text = (PROJECT / ".github/workflows/infrastructure.yml").read_text()
    assert "bootstrap" not in [
        s for job in _workflow("infrastructure.yml")["jobs"].values() for s in job.get("strategy", {}).get("matrix", {}).get("stack", [])
    ]
    assert "stack: bootstrap" not in text


def test_credentials_follow_the_command():
    steps = _workflow("pulumi-stack.yml")["jobs"]["run"]["steps"]
    aws = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    gcp = next(s for s in steps if s.get("uses", "").startswith("google-github-actions/auth"))
    assert (
        "inputs.command == 'up' && (inputs.environment == 'production' && vars.AWS_PRODUCTION_DEPLOY_ROLE_ARN || vars.AWS_DEPLOY_ROLE_ARN)"
        " || vars.AWS_PREVIEW_ROLE_ARN" in aws["with"]["role-to-assume"]
    )
    assert "inputs.command == 'up' && vars.GCP_DEPLOY_SERVICE_ACCOUNT || vars.GCP_PREVIEW_SERVICE_ACCOUNT" in gcp["with"]["service_account"]
    assert "s3://" in aws["if"] and "gs://" in gcp["if"]


def _aws_roles_assumed(workflow: str) -> list[tuple[str, str]]:
    """(job environment, role-to-assume) of every AWS sign-in of a workflow's jobs."""
    found = []
    for job in _workflow(workflow)["jobs"].values():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
                found.append((str(job.get("environment", "")), step["with"]["role-to-assume"]))
    return found


def test_jobs_in_the_production_environment_assume_the_production_deploy_role():
    """The deploy role trusts only the non-production environments: a production job signs in with the production role."""
    assumed = _aws_roles_assumed("pulumi-stack.yml") + _aws_roles_assumed("scheduled.yml")
    deploying = [(env, role) for env, role in assumed if "DEPLOY_ROLE_ARN" in role]
    assert len(deploying) == 3
    for environment, role in deploying:
        if environment == "production":
            assert "vars.AWS_PRODUCTION_DEPLOY_ROLE_ARN" in role and "vars.AWS_DEPLOY_ROLE_ARN" not in role
        else:  # the reusable workflow's jobs: the environment is its input
            assert "inputs.environment == 'production' && vars.AWS_PRODUCTION_DEPLOY_ROLE_ARN || vars.AWS_DEPLOY_ROLE_ARN" in role
