"""Names a cloud keeps after the resource is gone, and the per-incarnation suffix that frees them.

Some names stay taken after a delete: a Cloud KMS key ring and its keys are never deleted (a destroy
only drops them from state), a Cloud SQL instance's name stays reserved for about a week, a
Secrets Manager secret's for its recovery window, a Workload Identity pool's id for 30 days.
A stack destroyed and deployed again would ask for the same names and fail (409 / already
exists). Such resources take a short suffix drawn once and kept in state (pulumi-random), as the
bridged providers' own autonames are: stable for the stack's life, new after a destroy.

Resources deployed before the suffix keep their names: the resource lists its name in
`ignore_changes` (`keep_existing_name`), so an existing stack's recorded name stands and nothing is
replaced, while a new stack is created with the suffixed name. The same option means a change
that would replace such a resource keeps the recorded name and fails on it before anything is
deleted, which is what these resources want: a database or key ring is never replaced implicitly.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.base import Component

SUFFIX_LENGTH = 4


def incarnation_suffix(name: str, parent: Component) -> pulumi.Output[str]:
    """A suffix of lower-case letters and digits, drawn once for `parent`'s stack and kept in its state."""
    return random.RandomString(
        f"{name}-suffix",
        length=SUFFIX_LENGTH,
        special=False,
        upper=False,
        opts=parent.stateful(),
    ).result


def suffixed(base: str, name: str, parent: Component) -> pulumi.Output[str]:
    """`<base>-<suffix>`, the suffix drawn once per incarnation of the stack (see the module docstring)."""
    return incarnation_suffix(name, parent).apply(lambda suffix: f"{base}-{suffix}")


def keep_existing_name(*fields: str) -> list[str]:
    """The `ignore_changes` that keeps the name a deployed resource already has (default: `name`)."""
    return list(fields or ("name",))
