"""CloudWatch alarms, a dashboard and a cost budget for one AWS stack, all reporting to one SNS topic.

What is watched and why each threshold is what it is: docs/operations.md. Every number arrives in
`AlarmThresholds`, taken from the stack's config; the derivations (WAL bytes from seconds of lag,
seconds from the p95 target in milliseconds, bytes from a share of storage) happen here, once.

`VpnTunnelAlarms` is separate: the VPN connections are created by the gcp-dr stack (through its
AWS provider), so only that stack knows their ids; it raises the tunnel alarms there and sends them
to this topic, which aws-dr exports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import policy_document
from components.base import Component

GIB = 1024**3
MIB = 1024**2
PERIOD = 60  # RDS, ElastiCache, ALB, SQS and MSK publish these metrics at one-minute resolution.
# PostgreSQL 13-15 log "invalidating slot ..."; 16 and later "invalidating obsolete replication slot ...".
SLOT_INVALIDATED_PATTERN = '?"invalidating slot" ?"invalidating obsolete replication slot"'
SLOT_INVALIDATED_NAMESPACE, SLOT_INVALIDATED_METRIC = "CRM/Replication", "ReplicationSlotInvalidated"


@dataclass(frozen=True)
class AlarmThresholds:
    cpu_percent: int
    free_storage_percent: int
    database_connections: int
    replication_lag_seconds: int  # the copy may fall this far behind (below the RPO)
    wal_bytes_per_second: int  # expected WAL rate of the primary: turns seconds of lag into bytes
    slot_wal_alarm_percent: int  # of max_slot_wal_keep_size
    cache_cpu_percent: int
    cache_memory_percent: int
    cache_replication_lag_seconds: int
    http_5xx_per_minute: int
    latency_p95_ms: int
    dead_letter_messages: int
    kafka_disk_percent: int


@dataclass(frozen=True)
class DatabaseTarget:
    instance_id: pulumi.Input[str]
    allocated_storage_gb: int
    max_slot_wal_keep_size_mb: int = 0  # 0: no slot bound, so no slot alarms
    logical_replication: bool = False


@dataclass(frozen=True)
class CacheTarget:
    """The replication group whose members the cache alarms watch.

    ElastiCache publishes EngineCPUUtilization, DatabaseMemoryUsagePercentage and ReplicationLag per
    node (dimension CacheClusterId). Without cluster mode the members are `<group>-001` ... `-00N`;
    in cluster mode each shard's members are `<group>-<shard, 4 digits>-<node, 3 digits>`, shards
    counted from 0001 and each shard's nodes from 001 (its primary and `replicas_per_shard` replicas).
    """

    replication_group_id: pulumi.Input[str]
    nodes: int  # without cluster mode: the group's nodes
    cluster_mode: bool = False
    shards: int = 1
    replicas_per_shard: int = 0

    def members(self) -> list[tuple[str, str]]:
        """(alarm key, CacheClusterId suffix) for every node of the group."""
        if not self.cluster_mode:
            return [(f"{n}", f"{n:03d}") for n in range(1, self.nodes + 1)]
        return [
            (f"{shard}-{n}", f"{shard:04d}-{n:03d}") for shard in range(1, self.shards + 1) for n in range(1, self.replicas_per_shard + 2)
        ]

    @property
    def replicated(self) -> bool:
        """Whether the group has replicas, which alone publish ReplicationLag."""
        return self.replicas_per_shard > 0 if self.cluster_mode else self.nodes > 1


@dataclass(frozen=True)
class LoadBalancerTarget:
    arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]


@dataclass(frozen=True)
class KafkaTarget:
    cluster_name: pulumi.Input[str]
    brokers: int


@dataclass
class AwsMonitoringArgs:
    emails: Sequence[str]
    thresholds: AlarmThresholds
    monthly_budget_usd: int
    budget_alert_percents: Sequence[int]
    region: str
    environment: str
    tags: Mapping[str, str]
    database: DatabaseTarget | None = None
    cache: CacheTarget | None = None
    load_balancer: LoadBalancerTarget | None = None
    dead_letter_queue_name: pulumi.Input[str] | None = None
    kafka: KafkaTarget | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.emails:
            problems.append("at least one e-mail subscriber is needed")
        if self.monthly_budget_usd <= 0:
            problems.append(f"the monthly budget must be positive, got {self.monthly_budget_usd}")
        if not self.budget_alert_percents:
            problems.append("the budget needs at least one alert percentage")
        if self.database and self.database.max_slot_wal_keep_size_mb >= self.database.allocated_storage_gb * 1024:
            problems.append("max_slot_wal_keep_size must be below the allocated storage")
        if problems:
            raise ValueError("AwsMonitoringArgs: " + "; ".join(problems))


def alarm_thresholds(config) -> AlarmThresholds:
    """The thresholds out of any object with the same attribute names (the stack's typed monitoring config)."""
    return AlarmThresholds(**{name: getattr(config, name) for name in AlarmThresholds.__dataclass_fields__})


def slot_wal_alarm_bytes(max_slot_wal_keep_size_mb: int, percent: int) -> int:
    """The slot-WAL alarm fires at `percent` of the bound, long before PostgreSQL invalidates the slot."""
    return max_slot_wal_keep_size_mb * MIB * percent // 100


class AwsMonitoring(Component):
    """`opts.protect` protects the topic's KMS key, the one stateful child; alarms, topic and budget stay replaceable."""

    def __init__(self, name: str, args: AwsMonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:Monitoring", name, None, opts)
        self._name = name
        self._tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.key = aws.kms.Key(
            f"{name}-alarms",
            description=f"{name} alarm topic encryption",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            policy=account.apply(_topic_key_policy),
            tags={**self._tags, "purpose": "alarms"},
            opts=self.stateful(),
        )
        self.topic = aws.sns.Topic(f"{name}-alarms", name=f"{name}-alarms", kms_master_key_id=self.key.arn, tags=self._tags, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-alarms",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account).apply(lambda a: _topic_policy(a[0], a[1])),
            opts=child,
        )
        for i, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{name}-alarms-email-{i}", topic=self.topic.arn, protocol="email", endpoint=email, opts=child)

        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        t = args.thresholds
        if args.database:
            self._database_alarms(args.database, t)
        if args.cache:
            self._cache_alarms(args.cache, t)
        if args.load_balancer:
            self._load_balancer_alarms(args.load_balancer, t)
        if args.dead_letter_queue_name is not None:
            self.alarm(
                "dead-letters",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": args.dead_letter_queue_name},
                "GreaterThanThreshold",
                t.dead_letter_messages,
                statistic="Maximum",
                description="scheduled tasks failed five times and were set aside in the dead-letter queue",
            )
        if args.kafka:
            for broker in range(1, args.kafka.brokers + 1):
                self.alarm(
                    f"kafka-disk-{broker}",
                    "AWS/Kafka",
                    "KafkaDataLogsDiskUsed",
                    {"Cluster Name": args.kafka.cluster_name, "Broker ID": str(broker)},
                    "GreaterThanThreshold",
                    t.kafka_disk_percent,
                    statistic="Maximum",
                    description=f"MSK broker {broker}: data log disk above {t.kafka_disk_percent}%",
                )

        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            name=f"{name}-monthly",
            budget_type="COST",
            limit_amount=str(args.monthly_budget_usd),
            limit_unit="USD",
            time_unit="MONTHLY",
            # Counts what carries this environment's tag; activate `environment` as a cost allocation tag in Billing.
            cost_filters=[{"name": "TagKeyValue", "values": [f"user:environment${args.environment}"]}],
            notifications=[
                {
                    "comparison_operator": "GREATER_THAN",
                    "notification_type": "ACTUAL",
                    "threshold": float(p),
                    "threshold_type": "PERCENTAGE",
                    "subscriber_sns_topic_arns": [self.topic.arn],
                }
                for p in args.budget_alert_percents
            ]
            + [
                {
                    "comparison_operator": "GREATER_THAN",
                    "notification_type": "FORECASTED",
                    "threshold": 100.0,
                    "threshold_type": "PERCENTAGE",
                    "subscriber_sns_topic_arns": [self.topic.arn],
                }
            ],
            tags=self._tags,
            opts=child,
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{name}-estate",
            dashboard_body=pulumi.Output.from_input(self._dashboard_widgets(args)).apply(lambda w: json.dumps({"widgets": w})),
            opts=child,
        )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topicArn": self.topic_arn, "alarms": sorted(self.alarms)})

    def alarm(
        self,
        key: str,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        comparison: str,
        threshold: float,
        *,
        statistic: str | None = None,
        extended_statistic: str | None = None,
        periods: int = 1,
        datapoints: int | None = None,
        missing: str = "notBreaching",
        description: str,
    ) -> aws.cloudwatch.MetricAlarm:
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{self._name}-{key}",
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            statistic=statistic,
            extended_statistic=extended_statistic,
            period=PERIOD,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints or periods,
            comparison_operator=comparison,
            threshold=threshold,
            treat_missing_data=missing,
            alarm_description=description,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarms[key] = alarm
        return alarm

    def _database_alarms(self, db: DatabaseTarget, t: AlarmThresholds) -> None:
        dims = {"DBInstanceIdentifier": db.instance_id}
        self.alarm(
            "db-cpu",
            "AWS/RDS",
            "CPUUtilization",
            dims,
            "GreaterThanThreshold",
            t.cpu_percent,
            statistic="Average",
            periods=5,
            description=f"RDS CPU above {t.cpu_percent}% for 5 minutes",
        )
        free_bytes = db.allocated_storage_gb * GIB * t.free_storage_percent // 100
        self.alarm(
            "db-free-storage",
            "AWS/RDS",
            "FreeStorageSpace",
            dims,
            "LessThanThreshold",
            free_bytes,
            statistic="Minimum",
            description=f"RDS free storage below {t.free_storage_percent}% of {db.allocated_storage_gb} GB",
        )
        self.alarm(
            "db-connections",
            "AWS/RDS",
            "DatabaseConnections",
            dims,
            "GreaterThanThreshold",
            t.database_connections,
            statistic="Maximum",
            periods=5,
            description=f"more than {t.database_connections} database connections for 5 minutes",
        )
        if not db.logical_replication:
            return
        # Bytes of WAL the slowest slot has not confirmed: the lag threshold's worth of writes at the expected WAL rate.
        self.alarm(
            "db-slot-lag",
            "AWS/RDS",
            "OldestReplicationSlotLag",
            dims,
            "GreaterThanThreshold",
            t.replication_lag_seconds * t.wal_bytes_per_second,
            statistic="Maximum",
            missing="breaching",
            description=f"the GCP copy is more than ~{t.replication_lag_seconds} s of writes behind (RPO budget)",
        )
        if db.max_slot_wal_keep_size_mb:
            bound = slot_wal_alarm_bytes(db.max_slot_wal_keep_size_mb, t.slot_wal_alarm_percent)
            self.alarm(
                "db-slot-wal",
                "AWS/RDS",
                "ReplicationSlotDiskUsage",
                dims,
                "GreaterThanThreshold",
                bound,
                statistic="Maximum",
                description=f"replication slots hold {t.slot_wal_alarm_percent}% of max_slot_wal_keep_size "
                f"({db.max_slot_wal_keep_size_mb} MB); at 100% PostgreSQL drops the subscriber's WAL",
            )
            self._slot_invalidated_alarm(db)
            self.alarm(
                "db-wal-disk",
                "AWS/RDS",
                "TransactionLogsDiskUsage",
                dims,
                "GreaterThanThreshold",
                bound,
                statistic="Maximum",
                description=f"WAL on disk above {t.slot_wal_alarm_percent}% of the slot bound",
            )

    # --- replication slot invalidated (kept apart: the DR tool's own alarm) -------------------------------

    def _slot_invalidated_alarm(self, db: DatabaseTarget) -> None:
        """PostgreSQL logs the invalidation of a slot max_slot_wal_keep_size overran (wal_status lost); RDS
        exports that log to CloudWatch Logs. No RDS metric says it: OldestReplicationSlotLag skips a lost
        slot and drops. A metric filter on the exported log counts the line; the alarm asks for a re-seed
        (`python -m dr setup --reseed`, docs/runbooks/failover.md)."""
        log_group = pulumi.Output.from_input(db.instance_id).apply(lambda i: f"/aws/rds/instance/{i}/postgresql")
        aws.cloudwatch.LogMetricFilter(
            f"{self._name}-db-slot-invalidated",
            name=f"{self._name}-db-slot-invalidated",
            log_group_name=log_group,
            pattern=SLOT_INVALIDATED_PATTERN,
            metric_transformation={
                "name": SLOT_INVALIDATED_METRIC,
                "namespace": SLOT_INVALIDATED_NAMESPACE,
                "value": "1",
                "default_value": "0",
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm(
            "db-slot-invalidated",
            SLOT_INVALIDATED_NAMESPACE,
            SLOT_INVALIDATED_METRIC,
            {},
            "GreaterThanThreshold",
            0,
            statistic="Sum",
            description="a replication slot was invalidated (max_slot_wal_keep_size): the GCP copy can no longer catch up and "
            "misses writes. Re-seed it: python -m dr setup --reseed (docs/runbooks/failover.md)",
        )

    def _cache_alarms(self, cache: CacheTarget, t: AlarmThresholds) -> None:
        for n, member in cache.members():
            dims = {"CacheClusterId": pulumi.Output.from_input(cache.replication_group_id).apply(lambda g, m=member: f"{g}-{m}")}
            self.alarm(
                f"cache-cpu-{n}",
                "AWS/ElastiCache",
                "EngineCPUUtilization",
                dims,
                "GreaterThanThreshold",
                t.cache_cpu_percent,
                statistic="Average",
                periods=5,
                description=f"Redis node {n}: engine CPU above {t.cache_cpu_percent}%",
            )
            self.alarm(
                f"cache-memory-{n}",
                "AWS/ElastiCache",
                "DatabaseMemoryUsagePercentage",
                dims,
                "GreaterThanThreshold",
                t.cache_memory_percent,
                statistic="Maximum",
                description=f"Redis node {n}: memory above {t.cache_memory_percent}%",
            )
            if cache.replicated:
                self.alarm(
                    f"cache-replication-lag-{n}",
                    "AWS/ElastiCache",
                    "ReplicationLag",
                    dims,
                    "GreaterThanThreshold",
                    t.cache_replication_lag_seconds,
                    statistic="Maximum",
                    periods=2,
                    description=f"Redis node {n}: replica more than {t.cache_replication_lag_seconds} s behind",
                )

    def _load_balancer_alarms(self, lb: LoadBalancerTarget, t: AlarmThresholds) -> None:
        alb = {"LoadBalancer": lb.arn_suffix}
        target = {"LoadBalancer": lb.arn_suffix, "TargetGroup": lb.target_group_arn_suffix}
        self.alarm(
            "alb-target-5xx",
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            alb,
            "GreaterThanThreshold",
            t.http_5xx_per_minute,
            statistic="Sum",
            periods=3,
            datapoints=2,
            description=f"the application answered 5xx more than {t.http_5xx_per_minute} times a minute",
        )
        self.alarm(
            "alb-elb-5xx",
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            alb,
            "GreaterThanThreshold",
            t.http_5xx_per_minute,
            statistic="Sum",
            periods=3,
            datapoints=2,
            description=f"the load balancer answered 5xx more than {t.http_5xx_per_minute} times a minute",
        )
        self.alarm(
            "alb-unhealthy-hosts",
            "AWS/ApplicationELB",
            "UnHealthyHostCount",
            target,
            "GreaterThanThreshold",
            0,
            statistic="Maximum",
            periods=2,
            description="a target failed its health check",
        )
        self.alarm(
            "alb-latency-p95",
            "AWS/ApplicationELB",
            "TargetResponseTime",
            alb,
            "GreaterThanThreshold",
            t.latency_p95_ms / 1000,
            extended_statistic="p95",
            periods=5,
            datapoints=3,
            description=f"p95 response time above the {t.latency_p95_ms} ms target",
        )

    def _dashboard_widgets(self, args: AwsMonitoringArgs) -> list:
        """One graph per alarm, laid out two to a row, each with the alarm's threshold drawn in."""
        widgets = []
        for i, (key, alarm) in enumerate(sorted(self.alarms.items())):
            widgets.append(
                pulumi.Output.all(
                    alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.threshold, alarm.statistic, alarm.extended_statistic
                ).apply(
                    lambda a, key=key, i=i: {
                        "type": "metric",
                        "x": (i % 2) * 12,
                        "y": (i // 2) * 6,
                        "width": 12,
                        "height": 6,
                        "properties": {
                            "title": key,
                            "region": args.region,
                            "period": PERIOD,
                            "stat": a[5] or a[4] or "Average",
                            "metrics": [[a[0], a[1], *[v for pair in sorted((a[2] or {}).items()) for v in pair]]],
                            "annotations": {"horizontal": [{"label": "alarm", "value": a[3]}]},
                        },
                    }
                )
            )
        return widgets


def _topic_key_policy(account_id: str) -> str:
    """The account administers the key; CloudWatch alarms and (for this account's budgets only) Budgets may publish through it.

    This key encrypts the alarm topic and nothing else, so the two services get just the data-key actions SNS needs.
    """
    return policy_document(
        [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchPublishes",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
            {
                "Sid": "BudgetsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "budgets.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ]
    )


def _topic_policy(topic_arn: str, account_id: str) -> str:
    return policy_document(
        [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:SetTopicAttributes",
                    "sns:AddPermission",
                    "sns:RemovePermission",
                    "sns:DeleteTopic",
                    "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Publish",
                ],
                "Resource": topic_arn,
            },
            {
                "Sid": "AlarmServicesPublish",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]
    )


@dataclass
class VpnTunnelAlarmsArgs:
    connection_ids: Sequence[pulumi.Input[str]]  # two Site-to-Site VPN connections, two tunnels each
    tunnel_addresses: Sequence[Sequence[pulumi.Input[str]]]  # per connection, the outside IPs of its two tunnels
    topic_arn: pulumi.Input[str]
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        if len(self.connection_ids) != len(self.tunnel_addresses):
            raise ValueError("VpnTunnelAlarmsArgs: one list of tunnel addresses per connection")


class VpnTunnelAlarms(Component):
    """TunnelState per tunnel (AWS/VPN; 1 = BGP established). Pass the AWS provider through `opts`."""

    def __init__(self, name: str, args: VpnTunnelAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:VpnTunnelAlarms", name, None, opts)
        self.alarms = []
        t = 0
        for connection, addresses in zip(args.connection_ids, args.tunnel_addresses):
            for address in addresses:
                self.alarms.append(
                    aws.cloudwatch.MetricAlarm(
                        f"{name}-tunnel-{t}",
                        name=f"{name}-tunnel-{t}",
                        namespace="AWS/VPN",
                        metric_name="TunnelState",
                        dimensions={"VpnId": connection, "TunnelIpAddress": address},
                        statistic="Maximum",
                        period=PERIOD,
                        evaluation_periods=3,
                        datapoints_to_alarm=3,
                        comparison_operator="LessThanThreshold",
                        threshold=1,
                        treat_missing_data="breaching",
                        alarm_description=f"VPN tunnel {t} to GCP is down (BGP not established) for 3 minutes",
                        alarm_actions=[args.topic_arn],
                        ok_actions=[args.topic_arn],
                        tags=dict(args.tags),
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
                t += 1
        self.register_outputs({"alarms": [a.name for a in self.alarms]})
