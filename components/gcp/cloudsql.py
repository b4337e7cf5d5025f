"""Cloud SQL for PostgreSQL 15: private, TLS-only, regional, with PITR; in DR the logical-replication subscriber."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.base import Component
from components.endpoints import DatabaseEndpoint, DatabaseUser, pem_bundle
from components.naming import keep_existing_name, suffixed
from components.postgres.logging import AUDIT_CLASSES, NO_SLOW_STATEMENTS, audit_settings, cloudsql_flags

PORT = 5432


@dataclass
class CloudSqlPostgresArgs:
    project: str
    region: str
    network_id: pulumi.Input[str]
    tier: str
    disk_size_gb: int
    availability: str
    backup_retention_count: int
    deletion_protection: bool
    labels: Mapping[str, str]
    kms_key: pulumi.Input[str] | None = None
    database_version: str = "POSTGRES_15"
    disk_type: str = "PD_SSD"
    database_name: str = "crm"
    username: str = "crmadmin"
    logical_decoding: bool = False
    backup_location: str | None = None  # region or multi-region for backups; None = Google's nearest multi-region
    # pgAudit session classes and slow-statement logging (components/postgres/logging.py; -1: statements never logged).
    audit_classes: str = AUDIT_CLASSES
    slow_statement_ms: int = NO_SLOW_STATEMENTS
    rotation: Mapping[str, str] | None = None  # keepers of the admin password (crm:rotation)

    def __post_init__(self) -> None:
        self.logging = audit_settings(self.audit_classes, self.slow_statement_ms)


class CloudSqlPostgres(Component):
    connection_name: pulumi.Output[str]
    database_name: str
    endpoint: DatabaseEndpoint
    instance_name: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    username: str

    def __init__(self, name: str, args: CloudSqlPostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:CloudSqlPostgres", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Audit logging as on RDS: connections, DDL and role changes, lock waits, checkpoints; no statement text.
        flags = [{"name": "cloudsql.iam_authentication", "value": "on"}, *cloudsql_flags(args.logging)]
        if args.logical_decoding:
            flags.append({"name": "cloudsql.logical_decoding", "value": "on"})
        # Cloud SQL keeps a deleted instance's name reserved for about a week: the name carries a suffix drawn
        # once per incarnation, so a destroyed stack deploys again at once; an instance created before keeps
        # its recorded name. A change that would replace the instance keeps the name too and fails on it
        # before anything is deleted: the database is never replaced implicitly (components/naming.py).
        self.instance = gcp.sql.DatabaseInstance(
            f"{name}-postgres",
            name=suffixed(name, f"{name}-postgres", self),
            project=args.project,
            region=args.region,
            database_version=args.database_version,
            encryption_key_name=args.kms_key,
            deletion_protection=args.deletion_protection,
            settings={
                "tier": args.tier,
                "edition": "ENTERPRISE",
                "availability_type": args.availability,
                "disk_type": args.disk_type,
                "disk_size": args.disk_size_gb,
                "disk_autoresize": True,
                "deletion_protection_enabled": args.deletion_protection,
                "ip_configuration": {
                    "ipv4_enabled": False,
                    "private_network": args.network_id,
                    "ssl_mode": "ENCRYPTED_ONLY",
                    "enable_private_path_for_google_cloud_services": True,
                },
                "backup_configuration": {
                    "enabled": True,
                    "point_in_time_recovery_enabled": True,
                    "start_time": "17:00",
                    "transaction_log_retention_days": 7,
                    "backup_retention_settings": {"retained_backups": args.backup_retention_count, "retention_unit": "COUNT"},
                    **({"location": args.backup_location} if args.backup_location else {}),
                },
                "database_flags": flags,
                "maintenance_window": {"day": 7, "hour": 18, "update_track": "stable"},
                "insights_config": {"query_insights_enabled": True, "record_application_tags": True, "record_client_address": False},
                "user_labels": dict(args.labels),
            },
            opts=self.stateful(depends_on=self.waits_for, ignore_changes=keep_existing_name()),
        )
        self.database = gcp.sql.Database(
            f"{name}-db", name=args.database_name, project=args.project, instance=self.instance.name, opts=child
        )
        # Not protected: rotation replaces it, and the user below takes the new one in place.
        self.password = random.RandomPassword(
            f"{name}-password",
            length=32,
            special=True,
            override_special="-_.~",
            keepers=dict(args.rotation) if args.rotation else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # ABANDON: PostgreSQL refuses to drop a role that owns objects, which would block a destroy.
        self.user = gcp.sql.User(
            f"{name}-user",
            name=args.username,
            project=args.project,
            instance=self.instance.name,
            password=self.password.result,
            deletion_policy="ABANDON",
            opts=child,
        )
        self.private_ip = self.instance.private_ip_address
        self.port = PORT
        self.connection_name = self.instance.connection_name
        self.database_name = args.database_name
        self.username = args.username
        # Cloud SQL signs its server certificate with a per-instance CA: clients that verify need this PEM.
        ca_certificate = self.instance.server_ca_certs.apply(pem_bundle)
        self.endpoint = DatabaseEndpoint(
            self.private_ip, PORT, args.database_name, DatabaseUser(args.username, self.password.result), ca_certificate, "verify-ca"
        )
        self.instance_name = self.instance.name  # with the project, the database_id label of its Cloud Monitoring metrics
        self.register_outputs({"privateIp": self.private_ip, "connectionName": self.connection_name, "instanceName": self.instance_name})
