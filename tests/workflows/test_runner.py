"""Every workflow on a stock ubuntu-latest runner: the project installed from the lock the way dev.py
does, the Pulumi CLI at the SDK's version, PostgreSQL 15 (PGDG) and Graphviz where the DR code and
the tests run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
JOBS = [(path.name, name, job) for path in WORKFLOWS for name, job in yaml.safe_load(path.read_text())["jobs"].items() if "steps" in job]
IDS = [f"{file}:{name}" for file, name, _ in JOBS]


def runs(step: dict) -> str:
    return step.get("run", "")


def index(steps: list[dict], predicate) -> int | None:
    return next((i for i, step in enumerate(steps) if predicate(step)), None)


def needs_the_project(step: dict) -> bool:
    # `pulumi stack output` reads state only; everything else runs the program or selects the stack it runs.
    return bool(re.search(r"\.venv/|\.ci/run|dev\.py (?!install)|\bpulumi (up|preview|stack select)", runs(step)))


def runs_the_dr_code(step: dict) -> bool:
    return "python -m dr drill" in runs(step) or ".ci/run" in runs(step)


def sdk_version() -> str:
    match = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, "requirements.txt pins no pulumi SDK"
    return match[1]


@pytest.mark.parametrize(
    ("file", "name", "job"),
    [j for j in JOBS if any(needs_the_project(s) for s in j[2]["steps"])],
    ids=[i for i, j in zip(IDS, JOBS) if any(needs_the_project(s) for s in j[2]["steps"])],
)
def test_the_project_is_installed_from_the_lock_before_it_is_used(file, name, job):
    install = index(job["steps"], lambda step: runs(step).strip() == "python3 dev.py install")
    assert install is not None and install < index(job["steps"], needs_the_project)


@pytest.mark.parametrize(("file", "name", "job"), JOBS, ids=IDS)
def test_no_job_runs_tests_to_install_the_project(file, name, job):
    assert not [runs(step) for step in job["steps"] if "dev.py test" in runs(step)]


def test_every_pulumi_cli_is_the_sdks_version():
    clis = [step for _, _, job in JOBS for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
    assert clis and [str(step.get("with", {}).get("pulumi-version")) for step in clis] == [sdk_version()] * len(clis)


def test_postgresql_15_comes_from_pgdg_before_the_dr_code_runs():
    jobs = [(f"{file}:{name}", job["steps"]) for file, name, job in JOBS if any(runs_the_dr_code(s) for s in job["steps"])]
    assert {label for label, _ in jobs} == {"infrastructure.yml:offline", "scheduled.yml:drill"}
    for label, steps in jobs:
        pgdg = index(steps, lambda step: "apt.postgresql.org.sh" in runs(step) and re.search(r"install .*\bpostgresql-15\b", runs(step)))
        assert pgdg is not None and pgdg < index(steps, runs_the_dr_code), label


def test_graphviz_is_installed_before_the_tests_run():
    steps = next(job["steps"] for file, name, job in JOBS if (file, name) == ("infrastructure.yml", "offline"))
    graphviz = index(steps, lambda step: re.search(r"apt-get install .*\bgraphviz\b", runs(step)))
    assert graphviz is not None and graphviz < index(steps, lambda step: ".ci/run" in runs(step))
