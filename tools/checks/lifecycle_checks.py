"""Deploy checks on what happens after the first deploy: names a destroy does not free, data a config edit deletes.

- `name-reusable-after-destroy`: a resource whose name the cloud keeps after it is deleted (a Cloud
  KMS key ring and its keys are never deleted, a Cloud SQL instance's name stays reserved for about
  a week, ...; `KEPT_NAMES`, each with its source) must take its name from a suffix kept in state
  (a pulumi-random resource, components/naming.py), or `destroy` -> `up` of the stack fails on the
  name. A resource inside such a parent (a key in a key ring, a provider in a pool) is judged by
  its parent. A Secrets Manager secret deleted without a recovery window frees its name at once.
- `data-kept-on-config-edit`: a resource made for one item of a config list (a Kafka topic) whose
  deletion deletes data must be retained on delete (`retainOnDelete`), so dropping the item from the
  list never deletes what it holds.

Each finding names the resource, the input and the source of the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..policy_check import PlanResource
from .deploy_checks import Finding, deploy_check


@dataclass(frozen=True)
class KeptName:
    field: str  # the input holding the physical name
    why: str
    source: str
    parent_field: str | None = None  # for a resource named inside a parent: the input naming the parent


KEPT_NAMES: dict[str, KeptName] = {
    "gcp:kms/keyRing:KeyRing": KeptName(
        "name",
        "Cloud KMS key rings cannot be deleted: a destroy only removes them from state, so the name is never free again",
        "https://cloud.google.com/kms/docs/resource-hierarchy#lifetime",
    ),
    "gcp:kms/cryptoKey:CryptoKey": KeptName(
        "name",
        "Cloud KMS keys cannot be deleted (only their versions are destroyed), so a key ring never frees a key's name",
        "https://cloud.google.com/kms/docs/resource-hierarchy#lifetime",
        parent_field="keyRing",
    ),
    "gcp:sql/databaseInstance:DatabaseInstance": KeptName(
        "name",
        "a deleted Cloud SQL instance's name stays reserved for up to a week",
        "https://cloud.google.com/sql/docs/postgres/delete-instance",
    ),
    "aws:secretsmanager/secret:Secret": KeptName(
        "name",
        "a deleted secret's name stays taken for its recovery window (7-30 days) unless it is deleted without one",
        "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html",
    ),
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": KeptName(
        "workloadIdentityPoolId",
        "a deleted Workload Identity pool is kept for 30 days and its id cannot be reused meanwhile",
        "https://cloud.google.com/iam/docs/manage-workload-identity-pools-providers#delete-pool",
    ),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": KeptName(
        "workloadIdentityPoolProviderId",
        "a deleted Workload Identity pool provider is kept for 30 days and its id cannot be reused meanwhile",
        "https://cloud.google.com/iam/docs/manage-workload-identity-pools-providers#delete-provider",
        parent_field="workloadIdentityPoolId",
    ),
    "gcp:projects/iAMCustomRole:IAMCustomRole": KeptName(
        "roleId",
        "a deleted custom role's id cannot be reused for 37 days",
        "https://cloud.google.com/iam/docs/creating-custom-roles#deleting-custom-role",
    ),
}

# Resources made per item of a config list whose deletion deletes the data they hold, with the source saying so.
DATA_ON_DELETE: dict[str, str] = {
    "kubernetes:kafka.strimzi.io/v1:KafkaTopic": "Strimzi's Topic Operator deletes the topic and its messages with its KafkaTopic "
    "(https://strimzi.io/docs/operators/latest/deploying#ref-operator-topic-deletion-str)",
    "aws:msk/topic:Topic": "MSK's topic API deletes the topic and its messages (https://docs.aws.amazon.com/msk/latest/developerguide/msk-topic-operations.html)",
}


@dataclass(frozen=True)
class LifecycleFinding:
    policy: str
    resource: PlanResource
    message: str


def _label(r: PlanResource) -> str:
    return f"{r.type.rsplit(':', 1)[-1]} '{r.name}'"


def _suffixed(r: PlanResource, field: str, by_urn: dict[str, PlanResource]) -> bool:
    """Whether `field` is derived from a pulumi-random resource: a name drawn for this incarnation, kept in state."""
    return any(by_urn[u].type.startswith("random:") for u in r.property_dependencies.get(field, []) if u in by_urn)


def _frees_its_name(r: PlanResource) -> bool:
    """A Secrets Manager secret deleted without a recovery window (ForceDeleteWithoutRecovery) frees its name at once."""
    return r.type == "aws:secretsmanager/secret:Secret" and r.inputs.get("recoveryWindowInDays") == 0


def check_reusable_names(resources: list[PlanResource]) -> Iterator[LifecycleFinding]:
    by_urn = {r.urn: r for r in resources}
    for r in resources:
        kept = KEPT_NAMES.get(r.type)
        if kept is None or _frees_its_name(r):
            continue
        if kept.parent_field is not None:
            parents = [by_urn[u] for u in r.property_dependencies.get(kept.parent_field, []) if u in by_urn]
            parent = next((p for p in parents if p.type in KEPT_NAMES), None)
            if parent is not None:
                continue  # judged as its parent: a fresh parent frees every name inside it
            if _suffixed(r, kept.field, by_urn):
                continue
            yield LifecycleFinding(
                "name-reusable-after-destroy",
                r,
                f"{kept.field} and its {kept.parent_field} are fixed, and {kept.why} ({kept.source}): take the parent's name "
                "from a suffix kept in state (components/naming.py) so destroy -> up of the stack does not fail on it",
            )
            continue
        if _suffixed(r, kept.field, by_urn):
            continue
        value = r.inputs.get(kept.field)
        shown = f"'{value}'" if isinstance(value, str) else "fixed by the program"
        yield LifecycleFinding(
            "name-reusable-after-destroy",
            r,
            f"{kept.field} {shown} is fixed, and {kept.why} ({kept.source}): take it from a suffix kept in state "
            "(components/naming.py) so destroy -> up of the stack does not fail on it",
        )


def check_data_kept_on_config_edit(resources: list[PlanResource]) -> Iterator[LifecycleFinding]:
    for r in resources:
        why = DATA_ON_DELETE.get(r.type)
        if why is not None and not r.options.get("retainOnDelete"):
            yield LifecycleFinding(
                "data-kept-on-config-edit",
                r,
                f"removing it from the config deletes its data: {why}; set retain_on_delete so Pulumi only forgets it",
            )


def _registered(name: str, source: str, check) -> None:
    deploy_check(name, source)(lambda plan: (Finding(f.policy, f.resource, f.message) for f in check(plan.resources)))


_registered("name-reusable-after-destroy", "KEPT_NAMES: each resource kind's own documentation", check_reusable_names)
_registered("data-kept-on-config-edit", "DATA_ON_DELETE: each resource kind's own documentation", check_data_kept_on_config_edit)

__all__ = ["DATA_ON_DELETE", "KEPT_NAMES", "check_data_kept_on_config_edit", "check_reusable_names"]
