"""GcpKms.key_id: a key is handed out usable, so what encrypts with it waits for its service agent's grant."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "type_, key_input, purpose",
    [
        ("gcp:container/cluster:Cluster", "databaseEncryption", "gke"),
        ("gcp:sql/databaseInstance:DatabaseInstance", "encryptionKeyName", "sql"),
        ("gcp:redis/instance:Instance", "customerManagedKey", "redis"),
    ],
)
def test_what_encrypts_with_a_key_waits_for_its_agents_grant(shipped, type_, key_input, purpose):
    result = shipped("gcp-production")
    grant = result.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", f"crm-production-keys-{purpose}-agent")
    assert grant.urn in result.one(type_).property_dependencies[key_input]
