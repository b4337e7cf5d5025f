"""renovate.json: valid, and each custom manager finds, at the version the code uses, every chart, image and CLI it is for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tools.engine.engine import reveal

ROOT = Path(__file__).resolve().parents[1]
RENOVATE = json.loads((ROOT / "renovate.json").read_text())
MANAGERS = RENOVATE["customManagers"]
PUBLIC_REGISTRIES = ("docker.io/", "quay.io/", "registry.k8s.io/", "ghcr.io/", "public.ecr.aws/", "gcr.io/")
STACKS = ("aws-dev", "aws-dr", "gcp-dev", "gcp-dr")


def repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def python_regex(javascript: str) -> re.Pattern:
    """Renovate's patterns are ECMAScript (RE2): named groups are written (?<name>...)."""
    return re.compile(javascript.replace("(?<", "(?P<"))


def extract(manager: dict) -> list[dict]:
    """What Renovate would read with one custom regex manager: each match's fields, templates filled in."""
    patterns = [python_regex(p.strip("/")) for p in manager["managerFilePatterns"]]
    found = []
    for name in repository_files():
        if not any(p.search(name) for p in patterns):
            continue
        text = (ROOT / name).read_text()
        for match_string in manager["matchStrings"]:
            for match in python_regex(match_string).finditer(text):
                fields = {k: v for k, v in match.groupdict().items() if v is not None}
                for field in ("depName", "datasource", "registryUrl"):
                    fields.setdefault(field, manager.get(f"{field}Template"))
                found.append({**fields, "file": name})
    return found


def watched(datasource: str) -> set[tuple[str, str]]:
    return {(d["depName"], d["currentValue"]) for m in MANAGERS for d in extract(m) if d["datasource"] == datasource}


def test_the_configuration_is_valid_for_renovate():
    checker = Path(sys.executable).parent / "check-jsonschema"
    completed = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.renovate", "renovate.json"], cwd=ROOT, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_lock_exports_are_regenerated_not_updated_on_their_own():
    assert {"pep621", "custom.regex"} <= set(RENOVATE["enabledManagers"])
    assert "pip_requirements" not in RENOVATE["enabledManagers"]  # requirements*.txt are uv.lock's exports (python3 dev.py lock)
    assert RENOVATE["lockFileMaintenance"]["enabled"]


@pytest.mark.parametrize("manager", MANAGERS, ids=[m["description"].split(":")[0] for m in MANAGERS])
def test_every_custom_manager_matches_files_of_the_repository(manager):
    found = extract(manager)
    assert found, "matches nothing: the code it was written for has moved"
    assert all(d["depName"] and d["datasource"] and d["currentValue"] for d in found)


@pytest.fixture
def installed(shipped) -> dict:
    """Helm charts (name -> version) and container images the shipped stacks install."""
    charts, images = {}, set()

    def image_fields(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "image" and isinstance(inner, str):
                    images.add(inner)
                else:
                    image_fields(inner)
        elif isinstance(value, list):
            for inner in value:
                image_fields(inner)

    for stack in STACKS:
        for resource in shipped(stack).resources:
            if resource.type == "kubernetes:helm.sh/v3:Release":
                charts[resource["chart"].removeprefix("oci://")] = resource["version"]
            elif resource.type.startswith("kubernetes:"):
                image_fields(reveal(resource.inputs))
    return {"charts": charts, "images": {i for i in images if i.startswith(PUBLIC_REGISTRIES)}}


def test_every_helm_chart_the_stacks_install_is_watched_at_its_version(installed):
    assert len(installed["charts"]) >= 4
    helm_or_oci = watched("helm") | watched("docker")
    assert set(installed["charts"].items()) <= helm_or_oci


def test_both_places_that_pin_strimzi_are_watched_together():
    strimzi = [d for m in MANAGERS for d in extract(m) if d["depName"] == "quay.io/strimzi-helm/strimzi-kafka-operator"]
    assert sorted(d["file"] for d in strimzi) == ["components/gcp/kafka.py", "stacks/config/rules.py"]
    assert len({d["currentValue"] for d in strimzi}) == 1


def test_every_public_image_the_stacks_run_is_watched_at_its_tag(installed):
    assert installed["images"]
    assert {tuple(image.rsplit(":", 1)) for image in installed["images"]} <= watched("docker")


def test_the_workflows_pulumi_cli_is_watched_with_the_sdk():
    sdk = next(
        d.split("==")[1]
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
        if d.startswith("pulumi==")
    )
    clis = [d for m in MANAGERS for d in extract(m) if d["depName"] == "pulumi" and d["datasource"] == "pypi"]
    assert len(clis) >= 2 and {d["currentValue"] for d in clis} == {sdk}
    engine = next(rule for rule in RENOVATE["packageRules"] if rule.get("matchPackageNames") == ["pulumi"])
    assert engine["groupName"]  # the SDK (pep621) and the CLIs (regex) in one pull request


def test_the_dr_image_base_is_where_renovates_dockerfile_manager_looks():
    assert re.search(r"^FROM python:\d+\.\d+-slim-\w+$", (ROOT / "dr" / "Dockerfile").read_text(), re.M)
    assert "dockerfile" in RENOVATE["enabledManagers"]
