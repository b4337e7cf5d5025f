"""Backups that are proven: RDS automated backups copied to a second region, and a restore test on a schedule.

`BackupReplica` lives in the second region: create it with that region's AWS provider in
`opts.providers`; its children inherit it. `RestoreTesting` lives beside the database: AWS Backup
takes a daily snapshot into its own vault and, on a schedule, restores the latest one into a
throwaway instance, waits for it to become available and deletes it again; a failed restore shows
as a failed restore job (and in AWS Backup's events) rather than on the day it is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import BACKUP_POLICY, RESTORE_POLICY, service_role
from components.aws.kms import account_key_policy
from components.base import Component

_CRON = re.compile(r"^cron\(.+\)$")


@dataclass
class BackupReplicaArgs:
    source_db_instance_arn: pulumi.Input[str]
    retention_days: int
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        if not 1 <= self.retention_days <= 35:
            raise ValueError(f"replicated automated backups keep 1-35 days, got {self.retention_days}")


class BackupReplica(Component):
    """Automated backups (snapshots and transaction logs) of one RDS instance, replicated to the provider's region."""

    def __init__(self, name: str, args: BackupReplicaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:BackupReplica", name, None, opts)
        tags = dict(args.tags)
        # The copy is encrypted with a key of the destination region: KMS keys never leave their region.
        # An explicit policy, like every other key: the account administers it (no principal gets it by default).
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: replicated RDS backups",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account_id.apply(account_key_policy),
            tags={**tags, "purpose": "rds-backup-copy"},
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        self.replication = aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-replication",
            source_db_instance_arn=args.source_db_instance_arn,
            kms_key_id=self.key.arn,
            retention_period=args.retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"replicationId": self.replication.id})


@dataclass
class RestoreTestingArgs:
    db_instance_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    backup_schedule: str = "cron(0 17 * * ? *)"  # daily, 02:00 KST
    retention_days: int = 35
    restore_schedule: str = "cron(0 18 1 * ? *)"  # monthly (the documents' monthly DR test), 03:00 KST on the 1st
    validation_window_hours: int = 2
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)

    def __post_init__(self) -> None:
        problems = [
            f"{field} must be an AWS cron expression, got {value!r}"
            for field, value in (("backup_schedule", self.backup_schedule), ("restore_schedule", self.restore_schedule))
            if not _CRON.match(value)
        ]
        if not 1 <= self.validation_window_hours <= 168:
            problems.append(f"validation_window_hours must be 1-168, got {self.validation_window_hours}")
        if self.retention_days < 1:
            problems.append(f"retention_days must be at least 1, got {self.retention_days}")
        if problems:
            raise ValueError("; ".join(problems))


class RestoreTesting(Component):
    """An AWS Backup vault, plan and selection for the database, and a restore testing plan over that vault."""

    def __init__(self, name: str, args: RestoreTestingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:RestoreTesting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.vault = aws.backup.Vault(
            f"{name}-vault",
            name=f"{name}-vault",
            kms_key_arn=args.kms_key_arn,
            force_destroy=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=self.protected),
        )
        self.plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{name}-plan",
            rules=[
                {
                    "rule_name": "daily",
                    "target_vault_name": self.vault.name,
                    "schedule": args.backup_schedule,
                    "start_window": 60,
                    "completion_window": 360,
                    "lifecycle": {"delete_after": args.retention_days},
                    "recovery_point_tags": tags,
                }
            ],
            tags=tags,
            opts=child,
        )
        backup_role = service_role(
            f"{name}-backup", "backup.amazonaws.com", tags, self, [BACKUP_POLICY], permissions_boundary=args.permissions_boundary
        )
        self.selection = aws.backup.Selection(
            f"{name}-selection",
            name=f"{name}-db",
            plan_id=self.plan.id,
            iam_role_arn=backup_role.arn,
            resources=[args.db_instance_arn],
            # A replaced database replaces the selection (resources forces a new one), and a plan refuses a
            # second selection under the same name: the old one goes first. It holds no data.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
        )
        # Restore testing plan names allow letters, digits and underscores only.
        plan_name = re.sub(r"[^A-Za-z0-9_]", "_", name)[:50]
        self.restore_plan = aws.backup.RestoreTestingPlan(
            f"{name}-restore-plan",
            name=plan_name,
            schedule_expression=args.restore_schedule,
            start_window_hours=24,
            recovery_point_selection={
                "algorithm": "LATEST_WITHIN_WINDOW",
                "include_vaults": [self.vault.arn],
                "recovery_point_types": ["SNAPSHOT"],
                "selection_window_days": 7,
            },
            tags=tags,
            opts=child,
        )
        restore_role = service_role(
            f"{name}-restore", "backup.amazonaws.com", tags, self, [RESTORE_POLICY], permissions_boundary=args.permissions_boundary
        )
        self.restore_selection = aws.backup.RestoreTestingSelection(
            f"{name}-restore-selection",
            name=re.sub(r"[^A-Za-z0-9_]", "_", f"{name}_rds")[:50],
            restore_testing_plan_name=self.restore_plan.name,
            protected_resource_type="RDS",
            protected_resource_arns=[args.db_instance_arn],
            iam_role_arn=restore_role.arn,
            validation_window_hours=args.validation_window_hours,
            opts=child,
        )
        self.register_outputs({"vaultName": self.vault.name, "restoreTestingPlan": self.restore_plan.name})
