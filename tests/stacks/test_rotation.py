"""crm:rotation: the generated credentials are replaced on an explicit generation or a schedule, with their consumers."""

from __future__ import annotations

import datetime

import pytest

from stacks.config.model import Rotation
from tests.stacks.test_config import one_problem

PASSWORD = "random:index/randomPassword:RandomPassword"
D = datetime.date


def _password(result, suffix: str):
    return next(p for p in result.of_type(PASSWORD) if p.name.endswith(suffix))


def test_without_rotation_config_the_generators_carry_no_keepers(shipped):
    result = shipped("aws-production")
    assert [p.name for p in result.of_type(PASSWORD) if p.get("keepers")] == []


@pytest.mark.parametrize("suffix", ["-db-master-password", "-db-roles-app-password", "-cache-auth-token"])
def test_a_generation_rotates_the_aws_credentials(run_stack, suffix):
    result = run_stack("aws-production", {"crm:rotation": {"generation": 1}}, preview=False)
    assert _password(result, suffix)["keepers"] == {"rotation": "g1-p0"}


@pytest.mark.parametrize("suffix", ["-sql-password", "-kafka-app-password"])
def test_a_generation_rotates_the_gcp_credentials(run_stack, suffix):
    result = run_stack("gcp-production", {"crm:rotation": {"generation": 2}}, preview=False)
    assert _password(result, suffix)["keepers"] == {"rotation": "g2-p0"}


def test_the_replication_password_is_left_to_its_runbook(run_stack):
    result = run_stack("aws-dr", {"crm:rotation": {"generation": 1}}, preview=False)
    assert "keepers" not in _password(result, "-db-roles-replication-password").inputs


def test_rotating_credentials_are_replaceable_while_their_stores_stay_protected(shipped):
    result = shipped("aws-production")
    assert not _password(result, "-db-master-password").protect and not _password(result, "-cache-auth-token").protect
    assert result.one("aws:rds/instance:Instance").protect and result.one("aws:elasticache/replicationGroup:ReplicationGroup").protect


def test_a_schedule_changes_the_keepers_only_when_an_interval_starts():
    rotation = Rotation(generation=0, interval_days=90, since=D(2026, 1, 1))
    first, last_day, next_day = (rotation.keepers(day) for day in (D(2026, 1, 1), D(2026, 3, 31), D(2026, 4, 1)))
    assert first == last_day == {"rotation": "g0-p0"} and next_day == {"rotation": "g0-p1"}


def test_a_day_before_the_schedule_starts_is_its_first_interval():
    assert Rotation(interval_days=30, since=D(2026, 6, 1)).keepers(D(2026, 5, 1)) == {"rotation": "g0-p0"}


def test_raising_the_generation_rotates_within_an_interval():
    day = D(2026, 2, 1)
    assert Rotation(1, 90, D(2026, 1, 1)).keepers(day) != Rotation(2, 90, D(2026, 1, 1)).keepers(day)


def test_an_interval_shorter_than_a_week_is_refused():
    assert "at least 7" in one_problem("aws-production", {"crm:rotation": {"intervalDays": 3}}, "crm:rotation.intervalDays")


def test_a_start_that_is_not_a_date_is_refused():
    assert "2026-01-01" in one_problem("gcp-production", {"crm:rotation": {"since": "next monday"}}, "crm:rotation.since")


@pytest.mark.parametrize("stack", ["aws-production", "gcp-production"])
def test_pods_roll_and_app_env_resyncs_when_its_contents_change(shipped, stack):
    result = shipped(stack, preview=False)
    deployment = result.one("kubernetes:apps/v1:Deployment", "crm-production-app-deployment")
    external = result.one("kubernetes:external-secrets.io/v1:ExternalSecret", "crm-production-app-app-env")
    pod_revision = deployment["spec"]["template"]["metadata"]["annotations"]["crm/app-env-revision"]
    assert len(pod_revision) == 16 and external["metadata"]["annotations"]["force-sync"] == pod_revision


def _upstream(result, resource) -> set[str]:
    """Every URN `resource` waits for, through depends_on and through the outputs its inputs take."""
    by_urn = {r.urn: r for r in result.resources}
    seen, todo = set(), [resource]
    while todo:
        current = todo.pop()
        for urn in [*current.dependencies, *(u for urns in current.property_dependencies.values() for u in urns)]:
            if urn not in seen and urn in by_urn:
                seen.add(urn)
                todo.append(by_urn[urn])
    return seen


JOB = "kubernetes:batch/v1:Job"


# Any raised generation: the one the stack's other rotation tests deploy, so that one run serves them.
@pytest.mark.parametrize(
    "stack,generation,secret",
    [
        ("aws-production", 1, "aws:secretsmanager/secretVersion:SecretVersion"),
        ("gcp-production", 2, "gcp:secretmanager/secretVersion:SecretVersion"),
        ("gcp-dr", 1, "gcp:secretmanager/secretVersion:SecretVersion"),
    ],
)
def test_pods_take_a_rotated_password_only_after_the_roles_job_set_it(run_stack, stack, generation, secret):
    result = run_stack(stack, {"crm:rotation": {"generation": generation}}, preview=False)
    job = next(j for j in result.of_type(JOB) if "-db-roles-" in j.name)
    # The Job that runs ALTER ROLE comes first; the cloud secret, the ExternalSecret's re-sync and the
    # Deployment's roll (both keyed on app_env's digest) follow it, so no pod starts with a password the database refuses.
    assert job.urn in _upstream(result, result.one(secret))
    assert job.urn in _upstream(result, result.one("kubernetes:apps/v1:Deployment"))
    app_env = next(e for e in result.of_type("kubernetes:external-secrets.io/v1:ExternalSecret") if e["metadata"]["name"] == "app-env")
    assert job.urn in _upstream(result, app_env)
