"""Per-environment defaults: the sizing matrix of the architecture, in one place.

A stack's `Pulumi.<stack>.yaml` spells these values out so a reader sees them; anything it leaves
out falls back to the row for its environment here.
"""

from __future__ import annotations

ENVIRONMENTS = ("dev", "staging", "production", "dr")

# Default Kubernetes minor for EKS. 1.29 (the source documents' choice) left standard support in
# 2025; pick a release still in standard support and move it forward as AWS retires versions.
EKS_DEFAULT_VERSION = "1.35"

AWS = {
    "dev": {
        "kubernetes": {"instanceType": "t3.medium", "minSize": 1, "desiredSize": 1, "maxSize": 3},
        "database": {
            "enabled": False,
            "instanceClass": "db.t3.small",
            "allocatedStorage": 20,
            "multiAz": False,
            "backupRetentionDays": 1,
            "deletionProtection": False,
        },
        "redis": {"enabled": False, "nodeType": "cache.t3.small", "nodes": 1, "snapshotRetentionDays": 0},
        "natGateways": "single",
    },
    "staging": {
        "kubernetes": {"instanceType": "m6i.large", "minSize": 2, "desiredSize": 2, "maxSize": 5},
        "database": {
            "enabled": True,
            "instanceClass": "db.t3.small",
            "allocatedStorage": 50,
            "multiAz": True,
            "backupRetentionDays": 14,
            "deletionProtection": True,
        },
        "redis": {"enabled": True, "nodeType": "cache.t3.small", "nodes": 2, "snapshotRetentionDays": 7},
        "natGateways": "one-per-zone",
    },
    "production": {
        "kubernetes": {"instanceType": "m6i.xlarge", "minSize": 3, "desiredSize": 3, "maxSize": 10},
        "database": {
            "enabled": True,
            "instanceClass": "db.t3.medium",
            "allocatedStorage": 100,
            "multiAz": True,
            "backupRetentionDays": 30,
            "deletionProtection": True,
        },
        "redis": {"enabled": True, "nodeType": "cache.t3.medium", "nodes": 3, "snapshotRetentionDays": 7},
        "natGateways": "one-per-zone",
    },
    "dr": {
        "kubernetes": {"instanceType": "m6i.xlarge", "minSize": 3, "desiredSize": 5, "maxSize": 10},
        "database": {
            "enabled": True,
            "instanceClass": "db.t3.large",
            "allocatedStorage": 200,
            "multiAz": True,
            "backupRetentionDays": 30,
            "deletionProtection": True,
        },
        "redis": {"enabled": True, "nodeType": "cache.t3.medium", "nodes": 3, "snapshotRetentionDays": 30},  # the documents' DR value
        "natGateways": "one-per-zone",
    },
}

GCP = {
    "dev": {
        "kubernetes": {"machineType": "e2-standard-4", "minNodes": 1, "initialNodes": 1, "maxNodes": 3, "diskSizeGb": 100},
        "database": {
            "enabled": False,
            "tier": "db-custom-2-7680",
            "diskSizeGb": 20,
            "availability": "ZONAL",
            "deletionProtection": False,
            "backupRetentionCount": 7,
        },
        "redis": {"enabled": False, "tier": "BASIC", "memorySizeGb": 1, "replicaCount": 0},
    },
    "staging": {
        "kubernetes": {"machineType": "e2-standard-8", "minNodes": 2, "initialNodes": 2, "maxNodes": 5, "diskSizeGb": 100},
        "database": {
            "enabled": True,
            "tier": "db-custom-2-7680",
            "diskSizeGb": 50,
            "availability": "REGIONAL",
            "deletionProtection": True,
            "backupRetentionCount": 14,
        },
        "redis": {"enabled": True, "tier": "STANDARD_HA", "memorySizeGb": 2, "replicaCount": 1},
    },
    "production": {
        "kubernetes": {"machineType": "n2-standard-16", "minNodes": 3, "initialNodes": 3, "maxNodes": 10, "diskSizeGb": 200},
        "database": {
            "enabled": True,
            "tier": "db-custom-4-15360",
            "diskSizeGb": 100,
            "availability": "REGIONAL",
            "deletionProtection": True,
            "backupRetentionCount": 30,
        },
        "redis": {"enabled": True, "tier": "STANDARD_HA", "memorySizeGb": 5, "replicaCount": 2},
    },
    "dr": {
        "kubernetes": {"machineType": "n2-standard-16", "minNodes": 3, "initialNodes": 5, "maxNodes": 10, "diskSizeGb": 200},
        "database": {
            "enabled": True,
            "tier": "db-custom-4-15360",
            "diskSizeGb": 200,
            "availability": "REGIONAL",
            "deletionProtection": True,
            "backupRetentionCount": 30,
        },
        "redis": {"enabled": True, "tier": "STANDARD_HA", "memorySizeGb": 10, "replicaCount": 2},
    },
}

# Backups that are proven (issue: backup verification, cross-region copies). AWS: the region RDS
# automated backups are replicated to ("" = none) and whether AWS Backup restore-tests the
# database monthly. GCP: where Cloud SQL keeps its backups. Tokyo on both sides: another region
# than Seoul, so a regional outage does not take the backups with it, and still in Asia.
BACKUPS = {
    "dev": {"copyRegion": "", "restoreTesting": False, "cloudSqlLocation": "asia-northeast1"},
    "staging": {"copyRegion": "", "restoreTesting": False, "cloudSqlLocation": "asia-northeast1"},
    "production": {"copyRegion": "ap-northeast-1", "restoreTesting": True, "cloudSqlLocation": "asia-northeast1"},
    "dr": {"copyRegion": "ap-northeast-1", "restoreTesting": True, "cloudSqlLocation": "asia-northeast1"},
}

# Monitoring: alarm thresholds. Rows per environment; keys under crm:monitoring override them.
# The SLA the thresholds serve: RPO 5 s, p95 < 200 ms (docs/operations.md explains each derivation).
MONITORING = {
    "common": {
        "rpoSeconds": 5,
        "replicationLagSeconds": 2,
        "latencyP95Ms": 200,
        "availabilityPercent": 99.99,
        "rtoSeconds": 300,
        "cpuPercent": 80,
        "freeStoragePercent": 15,
        "diskPercent": 85,
        "slotWalAlarmPercent": 50,
        "walBytesPerSecond": 1_500_000,
        "cacheCpuPercent": 80,
        "cacheMemoryPercent": 80,
        "cacheReplicationLagSeconds": 5,
        "http5xxPerMinute": 10,
        "deadLetterMessages": 0,
        "kafkaDiskPercent": 80,
        "containerRestarts": 5,
    },
    # databaseConnections: alarm on connections. The monthly budget is crm:budget, set in each stack
    # file: one figure for the cloud's budget and the cost estimate's gate (docs/cost.md).
    "dev": {"databaseConnections": 60},
    "staging": {"databaseConnections": 60},
    "production": {"databaseConnections": 120},
    "dr": {"databaseConnections": 250},
}

# max_slot_wal_keep_size as a share of RDS allocated storage, when crm:database.maxSlotWalKeepSizeGb is not set.
SLOT_WAL_SHARE_OF_STORAGE = 0.10
