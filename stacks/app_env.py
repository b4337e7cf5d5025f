"""The parts of the application's `app_env` that read the same in both clouds.

The application parses these the same way wherever it runs, so their shape (the JDBC URL with
`sslmode=require`, `REDIS_NODES` as host:port, TLS on) is defined once here.

Redis trust differs per cloud: ElastiCache's in-transit encryption presents certificates from
Amazon's public trust chain (Amazon Trust Services), which the default trust stores hold, so AWS
has no REDIS_CA_CERT; Memorystore signs with a per-instance CA, so the GCP program adds
REDIS_CA_CERT (the instance's CA bundle, PEM).
"""
from __future__ import annotations

import hashlib

import pulumi

REDIS_MAX_REDIRECTS = "3"
# Cluster mode: slots move between shards during resharding and failover; the documents' value of 5.
REDIS_CLUSTER_MAX_REDIRECTS = "5"


def database_env(host: pulumi.Input[str], port: pulumi.Input[int], name: pulumi.Input[str], username: pulumi.Input[str], password: pulumi.Input[str],
                 reader_host: pulumi.Input[str] | None = None, reader_port: pulumi.Input[int] | None = None,
                 reader_name: pulumi.Input[str] | None = None) -> dict:
    """DATABASE_URL is the writer (RDS until failover, on both clouds); DATABASE_READER_URL the copy
    reads may use (Cloud SQL on GCP, the writer itself where there is no copy). One role and password
    serve both: the stacks create the same application role on each database (docs/data-path.md)."""
    return {
        "DATABASE_URL": _jdbc(host, port, name),
        "DATABASE_READER_URL": _jdbc(reader_host or host, reader_port or port, reader_name or name),
        "DATABASE_USERNAME": username,
        "DATABASE_PASSWORD": password,
    }


def _jdbc(host: pulumi.Input[str], port: pulumi.Input[int], name: pulumi.Input[str]) -> pulumi.Output[str]:
    # A port read through a StackReference arrives as a JSON number (5432.0): print it as an integer.
    whole = pulumi.Output.from_input(port).apply(lambda p: int(float(p)))
    return pulumi.Output.format("jdbc:postgresql://{0}:{1}/{2}?sslmode=require", host, whole, name)


def redis_env(host: pulumi.Input[str], port: pulumi.Input[int], password: pulumi.Input[str], cluster: bool = False) -> dict:
    """`cluster`: host is the configuration endpoint, from which cluster clients discover every shard."""
    return {
        "REDIS_HOST": host,
        "REDIS_PORT": pulumi.Output.from_input(port).apply(str),
        "REDIS_PASSWORD": password,
        "REDIS_NODES": pulumi.Output.format("{0}:{1}", host, port),
        "REDIS_MAX_REDIRECTS": REDIS_CLUSTER_MAX_REDIRECTS if cluster else REDIS_MAX_REDIRECTS,
        "REDIS_SSL": "true",
    }


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
