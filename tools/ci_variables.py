"""Writes the bootstrap stack's outputs where CI and the stack files read them.

    python -m tools.ci_variables                 # gh variable set ... for each output (repository from the outputs)
    python -m tools.ci_variables --dry-run       # print the commands instead
    python -m tools.ci_variables --stack-files   # instead: point every Pulumi.<stack>.yaml's secretsprovider at the key

Reads `pulumi stack output --json --stack bootstrap` (or `--outputs FILE`, the same JSON). None of
these values is a secret: they name a bucket, roles, a provider and accounts, not credentials.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Repository variable <- bootstrap output.
VARIABLES = {
    "PULUMI_BACKEND_URL": "backendUrl",
    "PULUMI_SECRETS_PROVIDER": "secretsProvider",
    "AWS_DEPLOY_ROLE_ARN": "awsDeployRoleArn",  # jobs in the non-production environments
    "AWS_PRODUCTION_DEPLOY_ROLE_ARN": "awsProductionDeployRoleArn",  # jobs in the production environment
    "AWS_PREVIEW_ROLE_ARN": "awsPreviewRoleArn",
    "GCP_WORKLOAD_IDENTITY_PROVIDER": "gcpWorkloadIdentityProvider",
    "GCP_DEPLOY_SERVICE_ACCOUNT": "gcpDeployServiceAccount",
    "GCP_PREVIEW_SERVICE_ACCOUNT": "gcpPreviewServiceAccount",
}
_SECRETS_PROVIDER_LINE = re.compile(r"^secretsprovider:.*$", re.MULTILINE)


class MissingOutput(Exception):
    pass


def variables(outputs: Mapping[str, object]) -> dict[str, str]:
    missing = [output for output in VARIABLES.values() if not outputs.get(output)]
    if missing:
        raise MissingOutput(f"the bootstrap stack has no output {', '.join(missing)}; run `pulumi up -s bootstrap` first")
    return {name: str(outputs[output]) for name, output in VARIABLES.items()}


def gh_commands(values: Mapping[str, str], repository: str) -> list[list[str]]:
    return [["gh", "variable", "set", name, "--body", value, "--repo", repository] for name, value in values.items()]


def with_secrets_provider(stack_file: str, url: str) -> str:
    """The stack file with its top-level `secretsprovider:` naming `url` (added above `config:` if absent)."""
    line = f"secretsprovider: {url}"
    if _SECRETS_PROVIDER_LINE.search(stack_file):
        return _SECRETS_PROVIDER_LINE.sub(line, stack_file, count=1)
    return stack_file.replace("\nconfig:\n", f"\n{line}\nconfig:\n", 1) if "\nconfig:\n" in stack_file else f"{line}\n{stack_file}"


def stack_files(project_dir: Path) -> list[Path]:
    return sorted(p for p in project_dir.glob("Pulumi.*.yaml") if p.name != "Pulumi.bootstrap.yaml")


def _read_outputs(path: Path | None, stack: str) -> dict:
    if path is not None:
        return json.loads(path.read_text())
    done = subprocess.run(["pulumi", "stack", "output", "--json", "--stack", stack], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MissingOutput(f"`pulumi stack output --json --stack {stack}` failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ci_variables", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="bootstrap")
    parser.add_argument("--outputs", type=Path, help="a saved `pulumi stack output --json` of the bootstrap stack")
    parser.add_argument("--repository", help="OWNER/REPO (default: the bootstrap stack's repository output)")
    parser.add_argument("--dry-run", action="store_true", help="print the gh commands, run nothing")
    parser.add_argument(
        "--stack-files", action="store_true", help="instead of the variables, set secretsprovider in every other Pulumi.<stack>.yaml"
    )
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        outputs = _read_outputs(args.outputs, args.stack)
        values = variables(outputs)
    except (MissingOutput, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.stack_files:
        for path in stack_files(args.project_dir):
            if args.dry_run:
                print(f"would set secretsprovider: {values['PULUMI_SECRETS_PROVIDER']} in {path.name}")
            else:
                path.write_text(with_secrets_provider(path.read_text(), values["PULUMI_SECRETS_PROVIDER"]))
        return 0
    repository = args.repository or str(outputs.get("repository") or "")
    if not repository:
        print("error: no repository: pass --repository OWNER/REPO", file=sys.stderr)
        return 2
    for command in gh_commands(values, repository):
        if args.dry_run:
            print(" ".join(command))
        elif subprocess.run(command, check=False).returncode != 0:
            print(f"error: `{' '.join(command[:4])}` failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
