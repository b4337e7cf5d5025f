"""What a database or cache looks like to the code that uses it, whichever cloud runs it.

`PostgresDatabase` (RDS) and `CloudSqlPostgres` expose `endpoint: DatabaseEndpoint`; `RedisCache`
(ElastiCache) and `MemorystoreRedis` expose `endpoint: CacheEndpoint`. The application's
environment, the database roles and the replication jobs are built from these, never from a
component's children, so a change inside one component stays inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi


@dataclass(frozen=True)
class DatabaseUser:
    username: pulumi.Input[str]
    password: pulumi.Input[str]  # always a secret Output

    def __post_init__(self) -> None:
        object.__setattr__(self, "password", pulumi.Output.secret(self.password))


@dataclass(frozen=True)
class DatabaseEndpoint:
    """A PostgreSQL server reached over TLS: where it is, its database, and the user to sign in as."""

    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: pulumi.Input[str]
    user: DatabaseUser  # the admin user on a database component's endpoint
    # PEM of the CA the server's certificate chains to, where a client cannot take it from its trust store.
    ca_certificate: pulumi.Input[str] | None = None
    # How a client verifies the server with that CA: verify-full (the certificate names the host: RDS), or
    # verify-ca where it cannot (Cloud SQL's certificate does not name its private IP address).
    sslmode: str = "verify-full"

    def signed_in_as(self, user: DatabaseUser) -> DatabaseEndpoint:
        """The same server and database, as another user (the application's role, the replication role)."""
        return replace(self, user=user)


@dataclass(frozen=True)
class CacheEndpoint:
    """A Redis server: TLS on, AUTH with a token; `cluster` when clients must follow cluster redirects.

    `reader_host`/`reader_port`: the endpoint that spreads reads over the replicas, where the service
    has one and the cache runs replicas (ElastiCache's reader endpoint, Memorystore's read endpoint);
    None where reads can only go to `host`. Replicas copy asynchronously, so a read there may be stale.
    """

    host: pulumi.Input[str]
    port: pulumi.Input[int]
    auth_token: pulumi.Input[str]  # always a secret Output
    tls: bool = True
    ca_certificate: pulumi.Input[str] | None = None  # PEM bundle, where the server's CA is not publicly trusted
    cluster: bool = False  # host is a configuration endpoint
    reader_host: pulumi.Input[str] | None = None
    reader_port: pulumi.Input[int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "auth_token", pulumi.Output.secret(self.auth_token))


def pem_bundle(certificates) -> str:
    """The PEM certificates of a Google server CA list (Cloud SQL, Memorystore), one after the other.

    During a CA rotation the list holds two, and clients must trust both."""
    pems = [(c.get("cert") if isinstance(c, dict) else getattr(c, "cert", None)) for c in certificates or []]
    return "\n".join(p.strip() for p in pems if p)
