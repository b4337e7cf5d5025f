"""RDS PostgreSQL 15: the read/write primary and, in DR, the logical-replication publisher."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.iam import RDS_ENHANCED_MONITORING_POLICY, policy_document, service_role_with_policies
from components.aws.security import app_only_security_group
from components.base import Component
from components.endpoints import DatabaseEndpoint, DatabaseUser
from components.postgres.logging import AUDIT_CLASSES, NO_SLOW_STATEMENTS, audit_settings, rds_parameters

PORT = 5432
ENGINE = "postgres"
LOG_EXPORTS = ["postgresql", "upgrade"]
RDS_CA_ROOTS = Path(__file__).parent / "data" / "rds_ca_roots.json"
# Characters RDS refuses in a master password are '/', '@', '"' and space.
PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


@dataclass
class PostgresDatabaseArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    app_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    tags: Mapping[str, str]
    engine_version: str = "15"
    database_name: str = "crm"
    username: str = "crmadmin"
    logical_replication: bool = False
    replication_source_cidrs: Sequence[str] = field(default_factory=list)
    logs_kms_key_arn: pulumi.Input[str] | None = None  # the key of the exported logs' groups
    log_retention_days: int = 90
    # Bound on the WAL a replication slot may hold for a subscriber that stopped reading (0: unbounded).
    max_slot_wal_keep_size_mb: int = 0
    # pgAudit session classes and slow-statement logging (components/postgres/logging.py; -1: statements never logged).
    audit_classes: str = AUDIT_CLASSES
    slow_statement_ms: int = NO_SLOW_STATEMENTS
    # keepers of the master password (crm:rotation): a new value replaces it, and RDS takes the new one in place.
    rotation: Mapping[str, str] | None = None
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)

    def __post_init__(self) -> None:
        if self.max_slot_wal_keep_size_mb and self.max_slot_wal_keep_size_mb >= self.allocated_storage_gb * 1024:
            raise ValueError(
                f"max_slot_wal_keep_size ({self.max_slot_wal_keep_size_mb} MB) must be below the allocated storage ({self.allocated_storage_gb} GB)"
            )
        self.logging = audit_settings(self.audit_classes, self.slow_statement_ms)


class PostgresDatabase(Component):
    """Private, encrypted, TLS-only PostgreSQL with backups, monitoring, IAM auth and audit logging.

    `logical_replication` turns on `rds.logical_replication`, a static parameter: RDS applies it at
    the next reboot, so on an existing instance plan a reboot before creating the publication.
    `shared_preload_libraries` (pgAudit) is static too: an instance created before it audits after its
    next reboot (docs/audit-logging.md).
    """

    address: pulumi.Output[str]
    arn: pulumi.Output[str]
    database_name: str
    endpoint: DatabaseEndpoint
    instance_id: pulumi.Output[str]
    port: int
    username: str

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:PostgresDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), description=f"{name} data subnets", tags=tags, opts=child
        )
        self.security_group = app_only_security_group(
            name,
            vpc_id=args.vpc_id,
            port=PORT,
            app_security_group_id=args.app_security_group_id,
            service="PostgreSQL",
            tags=tags,
            parent=self,
        )
        for i, cidr in enumerate(args.replication_source_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-peer-{i}",
                security_group_id=self.security_group.id,
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                cidr_ipv4=cidr,
                description="PostgreSQL logical replication from the other cloud over the VPN",
                tags=tags,
                opts=child,
            )

        # Audit logging as on Cloud SQL: connections, DDL and role changes, lock waits, checkpoints; no statement text.
        parameters = [{"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"}, *rds_parameters(args.logging)]
        if args.logical_replication:
            parameters.append({"name": "rds.logical_replication", "value": "1", "apply_method": "pending-reboot"})
        if args.max_slot_wal_keep_size_mb:
            # A sighup (dynamic) parameter in PostgreSQL 15: RDS applies it without a reboot.
            parameters.append({"name": "max_slot_wal_keep_size", "value": str(args.max_slot_wal_keep_size_mb), "apply_method": "immediate"})
        major = args.engine_version.split(".")[0]
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description=f"{name} PostgreSQL {major}",
            parameters=parameters,
            tags=tags,
            opts=child,
        )
        # The instance's identifier is fixed here, so the log groups and the monitoring role's trust can name it up front.
        identifier = name
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        monitoring_role, _ = service_role_with_policies(
            f"{name}-monitoring",
            "monitoring.rds.amazonaws.com",
            tags,
            self,
            [RDS_ENHANCED_MONITORING_POLICY],
            trust_policy=pulumi.Output.all(account, region).apply(lambda a: monitoring_trust_policy(a[0], a[1], identifier)),
            permissions_boundary=args.permissions_boundary,
        )
        # RDS would create these groups itself on first export, unencrypted and kept forever; ours come first.
        # They hold the pgAudit trail: protected like the instance (docs/audit-logging.md).
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-{log}-logs",
                name=f"/aws/rds/instance/{identifier}/{log}",
                retention_in_days=args.log_retention_days,
                kms_key_id=args.logs_kms_key_arn,
                tags=tags,
                opts=self.stateful(),
            )
            for log in LOG_EXPORTS
        ]

        # Not protected: rotation replaces it (the instance it opens stays protected).
        self.password = random.RandomPassword(
            f"{name}-master-password",
            length=32,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            keepers=dict(args.rotation) if args.rotation else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Snapshot identifiers stay taken after the instance is gone, so a fixed `<name>-final` would refuse the
        # second destroy of a recreated instance. The suffix is new for each instance and stable for its lifetime:
        # drawn again with the identifier, and with every input that replaces the instance (a replacement keeps the
        # identifier, deletes the old instance first with its final snapshot, and the new one must name another).
        # Two draws: the first (identifier only) is the one stacks deployed before hold, kept as it is.
        snapshot_suffix = random.RandomString(
            f"{name}-final-snapshot-suffix",
            length=8,
            special=False,
            upper=False,
            keepers={"identifier": identifier},
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        instance_inputs = {
            "dbName": args.database_name,
            "engine": ENGINE,
            "kmsKeyId": args.kms_key_arn,
            "storageEncrypted": "true",
            "username": args.username,
        }
        incarnation = random.RandomString(
            f"{name}-final-snapshot-incarnation",
            length=4,
            special=False,
            upper=False,
            keepers=instance_inputs,
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        final_snapshot = pulumi.Output.concat(identifier, "-final-", snapshot_suffix.result, incarnation.result)
        self.instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=identifier,
            engine=ENGINE,
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb or None,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=instance_inputs["kmsKeyId"],
            db_name=instance_inputs["dbName"],
            username=instance_inputs["username"],
            password=self.password.result,
            port=PORT,
            multi_az=args.multi_az,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name,
            publicly_accessible=False,
            iam_database_authentication_enabled=True,
            backup_retention_period=args.backup_retention_days,
            backup_window="17:00-18:00",
            maintenance_window="sun:18:30-sun:19:30",
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=final_snapshot,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=7,
            monitoring_interval=60,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags=tags,
            # The identifier is the instance's name, free again once the instance is deleted, and the log groups and
            # the monitoring role's trust name it: a replacing change deletes the old instance first (its final
            # snapshot is taken). Outside dev the instance is protected, so such a change stops instead.
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected, depends_on=log_groups, delete_before_replace=True),
        )
        self.address = self.instance.address
        self.port = PORT
        # What the application, the database roles and the other cloud connect to (the admin user signs in here).
        # RDS signs with a regional root CA no default trust store holds: clients verify with the region's bundle.
        self.endpoint = DatabaseEndpoint(
            self.address, PORT, args.database_name, DatabaseUser(args.username, self.password.result), region.apply(rds_ca_bundle)
        )
        self.username = args.username
        self.database_name = args.database_name
        self.security_group_id = self.security_group.id
        self.arn = self.instance.arn  # what AWS Backup copies and restore-tests
        self.instance_id = self.instance.identifier  # the DBInstanceIdentifier dimension of its CloudWatch metrics
        self.register_outputs(
            {"address": self.address, "securityGroupId": self.security_group_id, "instanceId": self.instance_id, "arn": self.arn}
        )


def rds_ca_bundle(region: str) -> str:
    """The PEM bundle of RDS's root CAs in `region` (RSA2048, RSA4096 and ECC384 G1: whichever
    `ca_cert_identifier` an instance uses), from data/rds_ca_roots.json (tools/rds_ca_bundle.py)."""
    roots = json.loads(RDS_CA_ROOTS.read_text())["regions"]
    if region not in roots:
        raise ValueError(f"no RDS root CA for region '{region}' in {RDS_CA_ROOTS.name}: regenerate it with python -m tools.rds_ca_bundle")
    return "".join(roots[region])


def monitoring_trust_policy(account: str, region: str, identifier: str) -> str:
    """Enhanced Monitoring may assume the role only for this account's instance (the RDS guide's confused-deputy conditions)."""
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:rds:{region}:{account}:db:{identifier}"},
                },
            }
        ]
    )
