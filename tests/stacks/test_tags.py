"""Every resource that accepts tags (AWS) or labels (GCP) carries project, environment, managed-by and role."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_STACKS
from tests.schema import _args_class, _properties

REQUIRED = {"project", "environment", "managed-by", "role"}
# On GCP, `tags` means Resource Manager tags (tagKeys/... ids), not labels.
LABEL_PROPERTIES = {"aws": ("tags",), "gcp": ("labels", "resourceLabels")}
# Cloud Monitoring resources whose `labels` is not labels: a channel's configuration (its labels are `userLabels`),
# a metric descriptor's label schema (it takes no labels).
USER_LABELS = {
    "gcp:monitoring/notificationChannel:NotificationChannel": "userLabels",
    "gcp:monitoring/metricDescriptor:MetricDescriptor": None,
}


def label_property(type_: str):
    if type_ in USER_LABELS:
        return USER_LABELS[type_]
    cls, _ = _args_class(type_)
    if cls is None:
        return None
    props = _properties(cls)
    return next((p for p in LABEL_PROPERTIES[type_.split(":")[0]] if p in props), None)


@pytest.mark.parametrize("stack", [s for s in ALL_STACKS if s != "global"])
def test_every_taggable_resource_is_tagged(stack, shipped):
    missing = []
    for resource in shipped(stack).resources:
        if not resource.custom or not resource.type.startswith(("aws:", "gcp:")):
            continue
        prop = label_property(resource.type)
        if prop is None:
            continue
        tags = resource.get(prop) or {}
        if not set(tags) >= REQUIRED:
            missing.append(f"{resource.type} {resource.name}: {prop} lacks {sorted(REQUIRED - set(tags))}")
    assert missing == []


def test_gcp_label_values_are_valid_label_values(shipped):
    import re

    for resource in shipped("gcp-dr").resources:
        prop = label_property(resource.type) if resource.custom and resource.type.startswith("gcp:") else None
        for key, value in (resource.get(prop) or {}).items() if prop else []:
            assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key) and re.fullmatch(r"[a-z0-9_-]{0,63}", value), (resource.name, key, value)
