"""The parts of the application's `app_env` that read the same in both clouds.

The application parses these the same way wherever it runs, so their shape (the JDBC URL with
`sslmode=verify-full` or `verify-ca` and the CA file, `REDIS_NODES` as host:port, TLS on) is defined once here.

Database trust: the endpoint carries the CA bundle (RDS: the region's RDS root CAs; Cloud SQL: the
instance's server CA) and the mode it can be verified in (RDS names its host: verify-full; Cloud SQL's
certificate does not name its private IP: verify-ca). The PEM goes into app_env (DATABASE_CA_CERT,
DATABASE_READER_CA_CERT) and the pod mounts those keys as files (components/kubernetes/application.py
DATABASE_CA_FILES), which the JDBC URL's `sslrootcert` names: pgJDBC verifies against a file.

Both clouds' databases and caches arrive as the same shapes (components/endpoints.py), so this
reads no component's internals. Redis trust differs per cloud: ElastiCache's in-transit encryption
presents certificates from Amazon's public trust chain (Amazon Trust Services), which the default
trust stores hold, so its endpoint has no CA and app_env no REDIS_CA_CERT; Memorystore signs with a
per-instance CA, whose PEM bundle its endpoint carries into REDIS_CA_CERT.
"""

from __future__ import annotations

import hashlib

import pulumi

from components.endpoints import CacheEndpoint, DatabaseEndpoint
from components.kubernetes.application import DATABASE_CA_DIR, DATABASE_CA_FILES

REDIS_MAX_REDIRECTS = "3"
# Cluster mode: slots move between shards during resharding and failover; the documents' value of 5.
REDIS_CLUSTER_MAX_REDIRECTS = "5"


def database_env(writer: DatabaseEndpoint, reader: DatabaseEndpoint | None = None) -> dict:
    """DATABASE_URL is the writer (RDS until failover, on both clouds); DATABASE_READER_URL the copy
    reads may use (Cloud SQL on GCP, the writer itself where there is no copy). The writer's user is
    the application's role; one role and password serve both: the stacks create the same
    application role on each database (docs/data-path.md)."""
    reader = reader or writer
    env = {
        "DATABASE_URL": _jdbc(writer, "DATABASE_CA_CERT"),
        "DATABASE_READER_URL": _jdbc(reader, "DATABASE_READER_CA_CERT"),
        "DATABASE_USERNAME": writer.user.username,
        "DATABASE_PASSWORD": writer.user.password,
    }
    for key, endpoint in (("DATABASE_CA_CERT", writer), ("DATABASE_READER_CA_CERT", reader)):
        if endpoint.ca_certificate is not None:
            env[key] = endpoint.ca_certificate
    return env


def _jdbc(db: DatabaseEndpoint, ca_key: str) -> pulumi.Output[str]:
    # A port read through a StackReference arrives as a JSON number (5432.0): print it as an integer.
    whole = pulumi.Output.from_input(db.port).apply(lambda p: int(float(p)))
    if db.ca_certificate is None:  # no CA to verify with: encrypted, unverified
        return pulumi.Output.format("jdbc:postgresql://{0}:{1}/{2}?sslmode=require", db.host, whole, db.database)
    ca_file = f"{DATABASE_CA_DIR}/{DATABASE_CA_FILES[ca_key]}"
    return pulumi.Output.format(
        "jdbc:postgresql://{0}:{1}/{2}?sslmode={3}&sslrootcert={4}", db.host, whole, db.database, db.sslmode, ca_file
    )


def redis_env(cache: CacheEndpoint) -> dict:
    """A cluster-mode cache's host is its configuration endpoint, from which clients discover every shard.

    REDIS_READ_HOST/REDIS_READ_PORT: where a cache's replicas serve reads (absent where there are none to
    read), so the replicas a stack pays for carry read traffic; writes and reads that must see them go
    to REDIS_HOST."""
    env = {
        "REDIS_HOST": cache.host,
        "REDIS_PORT": pulumi.Output.from_input(cache.port).apply(str),
        "REDIS_PASSWORD": cache.auth_token,
        "REDIS_NODES": pulumi.Output.format("{0}:{1}", cache.host, cache.port),
        "REDIS_MAX_REDIRECTS": REDIS_CLUSTER_MAX_REDIRECTS if cache.cluster else REDIS_MAX_REDIRECTS,
        "REDIS_SSL": "true" if cache.tls else "false",
    }
    if cache.reader_host is not None:
        env["REDIS_READ_HOST"] = cache.reader_host
        env["REDIS_READ_PORT"] = pulumi.Output.from_input(cache.reader_port if cache.reader_port is not None else cache.port).apply(str)
    if cache.ca_certificate is not None:
        # The server certificate is signed by a CA no default trust store holds: the application adds this PEM bundle.
        env["REDIS_CA_CERT"] = cache.ca_certificate
    return env


def kafka_env(bootstrap_servers: pulumi.Input[str], username: str, password: pulumi.Input[str], mechanism: str) -> dict:
    """Kafka on GKE: TLS with SCRAM. The broker CA (KAFKA_CA_CERT) reaches the pod from Strimzi's
    cluster CA Secret, not from app_env: Strimzi creates and renews it inside the cluster."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_USERNAME": username,
        "KAFKA_PASSWORD": password,
    }


def revision(payload: pulumi.Input[str]) -> pulumi.Output[str]:
    """A digest of the app_env JSON: it changes exactly when a value does (a rotated password, a new host),
    so the pods are rolled and the secret re-synced in the same deploy. 16 hex digits of SHA-256 over
    values that include 32-character random passwords reveal nothing, so the digest is not a secret."""
    return pulumi.Output.unsecret(pulumi.Output.from_input(payload).apply(lambda text: hashlib.sha256(text.encode()).hexdigest()[:16]))
