"""Cloud Monitoring for one GCP stack: e-mail channels, alert policies, a dashboard, an uptime check (the
spend budget that alerts the channels is components/gcp/budget.py).

Every threshold arrives in `AlertThresholds`, from the stack's config (docs/operations.md). The
copy's replication lag has no built-in metric: the lag CronJob (components/gcp/replication.py)
writes `custom.googleapis.com/crm/replication_lag_seconds` every minute, and two conditions watch
it, one on its value and one on its absence (a stopped measurement must not read as "no lag").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component

LAG_METRIC = "custom.googleapis.com/crm/replication_lag_seconds"
# What PostgreSQL's subscription worker logs when its slot on the publisher was invalidated: 15 relays the
# walsender's "cannot read from logical replication slot", later versions "can no longer get changes ...".
SLOT_LOST_TEXTS = ("cannot read from logical replication slot", "can no longer get changes from replication slot")
SLOT_LOST_METRIC = "crm/replication_slot_lost"


@dataclass(frozen=True)
class AlertThresholds:
    cpu_percent: int
    disk_percent: int
    replication_lag_seconds: int
    cache_memory_percent: int
    container_restarts: int  # per pod in 10 minutes


@dataclass(frozen=True)
class Condition:
    """One alert condition: a filter and what makes it fire."""

    title: str
    filter: pulumi.Input[str]
    comparison: str
    threshold: float
    aligner: str
    duration_seconds: int = 0
    reducer: str | None = None
    group_by: Sequence[str] = ()
    alignment_seconds: int = 60


@dataclass
class GcpMonitoringArgs:
    project: str
    emails: Sequence[str]
    thresholds: AlertThresholds
    public_host: str
    labels: Mapping[str, str]
    health_check_path: str = "/health"
    cluster_name: pulumi.Input[str] | None = None
    database_instance: pulumi.Input[str] | None = None  # Cloud SQL instance name
    cache_instance_id: pulumi.Input[str] | None = None  # projects/<p>/locations/<r>/instances/<name>
    replication_lag: bool = False  # watch the custom lag metric (the stack runs the lag CronJob)
    vpn_tunnels: Sequence[pulumi.Input[str]] = ()
    bgp_peers: Sequence[pulumi.Input[str]] = ()

    def __post_init__(self) -> None:
        problems = []
        if not self.emails:
            problems.append("at least one e-mail channel is needed")
        if problems:
            raise ValueError("GcpMonitoringArgs: " + "; ".join(problems))


def _filter(metric: str, resource: str, **labels: pulumi.Input[str]) -> pulumi.Output[str]:
    parts = [f'metric.type="{metric}"', f'resource.type="{resource}"']
    values = pulumi.Output.all(*labels.values())
    return values.apply(lambda v: " AND ".join(parts + [f'{k}="{x}"' for k, x in zip(labels.keys(), v)]))


class GcpMonitoring(Component):
    channel_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: GcpMonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:Monitoring", name, None, opts)
        self._name, self._project, self._labels = name, args.project, dict(args.labels)
        child = pulumi.ResourceOptions(parent=self)
        self.channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-email-{i}",
                project=args.project,
                type="email",
                display_name=f"{name} {email}",
                labels={"email_address": email},
                user_labels=dict(args.labels),
                opts=child,
            )
            for i, email in enumerate(args.emails)
        ]
        self.policies: dict[str, gcp.monitoring.AlertPolicy] = {}
        self.conditions: dict[str, Condition] = {}
        t = args.thresholds

        if args.database_instance is not None:
            database_id = pulumi.Output.from_input(args.database_instance).apply(lambda n: f"{args.project}:{n}")
            self.policy(
                "sql-cpu",
                [
                    Condition(
                        f"Cloud SQL CPU above {t.cpu_percent}%",
                        _filter(
                            "cloudsql.googleapis.com/database/cpu/utilization",
                            "cloudsql_database",
                            **{"resource.label.database_id": database_id},
                        ),
                        "COMPARISON_GT",
                        t.cpu_percent / 100,
                        "ALIGN_MEAN",
                        duration_seconds=300,
                    )
                ],
            )
            self.policy(
                "sql-disk",
                [
                    Condition(
                        f"Cloud SQL disk above {t.disk_percent}%",
                        _filter(
                            "cloudsql.googleapis.com/database/disk/utilization",
                            "cloudsql_database",
                            **{"resource.label.database_id": database_id},
                        ),
                        "COMPARISON_GT",
                        t.disk_percent / 100,
                        "ALIGN_MAX",
                    )
                ],
            )
        if args.replication_lag:
            # Declared up front: a policy on a custom metric nobody has written yet is refused by the API.
            self.lag_metric = gcp.monitoring.MetricDescriptor(
                f"{name}-replication-lag",
                project=args.project,
                type=LAG_METRIC,
                metric_kind="GAUGE",
                value_type="DOUBLE",
                unit="s",
                display_name="CRM replication lag",
                description="Seconds the Cloud SQL copy is behind RDS, written every minute by the lag CronJob",
                opts=child,
            )
            lag = _filter(LAG_METRIC, "global")
            self.policy(
                "replication-lag",
                [
                    Condition(
                        f"the copy is more than {t.replication_lag_seconds} s behind RDS",
                        lag,
                        "COMPARISON_GT",
                        t.replication_lag_seconds,
                        "ALIGN_MAX",
                    )
                ],
                depends_on=[self.lag_metric],
            )
            absent = gcp.monitoring.AlertPolicy(
                f"{name}-replication-lag-unmeasured",
                project=args.project,
                display_name=f"{name}: replication lag not measured",
                combiner="OR",
                severity="ERROR",
                notification_channels=[c.id for c in self.channels],
                user_labels=dict(args.labels),
                conditions=[
                    {
                        "display_name": "no lag sample for 5 minutes",
                        "condition_absent": {
                            "filter": lag,
                            "duration": "300s",
                            "aggregations": [{"alignment_period": "60s", "per_series_aligner": "ALIGN_MAX"}],
                        },
                    }
                ],
                documentation={
                    "content": "The lag CronJob has not written a sample: replication may be broken or unmeasured. See docs/operations.md.",
                    "mime_type": "text/markdown",
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lag_metric]),
            )
            self.policies["replication-lag-unmeasured"] = absent
            if args.database_instance is not None:
                self._slot_lost_policy(name, args)
        if args.cache_instance_id is not None:
            self.policy(
                "redis-memory",
                [
                    Condition(
                        f"Memorystore memory above {t.cache_memory_percent}%",
                        _filter(
                            "redis.googleapis.com/stats/memory/usage_ratio",
                            "redis_instance",
                            **{"resource.label.instance_id": args.cache_instance_id},
                        ),
                        "COMPARISON_GT",
                        t.cache_memory_percent / 100,
                        "ALIGN_MAX",
                        duration_seconds=300,
                    )
                ],
            )
        if args.cluster_name is not None:
            self.policy(
                "gke-restarts",
                [
                    Condition(
                        f"a container restarted more than {t.container_restarts} times in 10 minutes",
                        _filter(
                            "kubernetes.io/container/restart_count", "k8s_container", **{"resource.label.cluster_name": args.cluster_name}
                        ),
                        "COMPARISON_GT",
                        t.container_restarts,
                        "ALIGN_DELTA",
                        reducer="REDUCE_SUM",
                        group_by=["resource.label.namespace_name", "resource.label.pod_name"],
                        alignment_seconds=600,
                    )
                ],
            )
            self.policy(
                "gke-node-cpu",
                [
                    Condition(
                        f"node CPU above {t.cpu_percent}% of allocatable",
                        _filter(
                            "kubernetes.io/node/cpu/allocatable_utilization",
                            "k8s_node",
                            **{"resource.label.cluster_name": args.cluster_name},
                        ),
                        "COMPARISON_GT",
                        t.cpu_percent / 100,
                        "ALIGN_MEAN",
                        duration_seconds=600,
                    )
                ],
            )
        for i, tunnel in enumerate(args.vpn_tunnels):
            self.policy(
                f"vpn-tunnel-{i}",
                [
                    Condition(
                        f"HA VPN tunnel {i} is down",
                        _filter("vpn.googleapis.com/tunnel_established", "vpn_gateway", **{"metric.label.tunnel_name": tunnel}),
                        "COMPARISON_LT",
                        1,
                        "ALIGN_MIN",
                        duration_seconds=180,
                    )
                ],
            )
        for i, peer in enumerate(args.bgp_peers):
            self.policy(
                f"bgp-session-{i}",
                [
                    Condition(
                        f"BGP session {i} with AWS is down",
                        _filter("router.googleapis.com/bgp/session_up", "gce_router", **{"metric.label.bgp_peer_name": peer}),
                        "COMPARISON_LT",
                        1,
                        "ALIGN_FRACTION_TRUE",
                        duration_seconds=180,
                    )
                ],
            )

        self.uptime = gcp.monitoring.UptimeCheckConfig(
            f"{name}-uptime",
            project=args.project,
            display_name=f"{name} https://{args.public_host}{args.health_check_path}",
            timeout="10s",
            period="60s",
            checker_type="STATIC_IP_CHECKERS",
            http_check={
                "path": args.health_check_path,
                "port": 443,
                "use_ssl": True,
                "validate_ssl": True,
                "request_method": "GET",
                "accepted_response_status_codes": [{"status_value": 200}],
            },
            monitored_resource={"type": "uptime_url", "labels": {"host": args.public_host, "project_id": args.project}},
            user_labels=dict(args.labels),
            opts=child,
        )
        # Fires when more than one checker location fails: one location's own trouble is not an outage.
        self.policy(
            "uptime",
            [
                Condition(
                    f"https://{args.public_host}{args.health_check_path} fails from several locations",
                    _filter(
                        "monitoring.googleapis.com/uptime_check/check_passed",
                        "uptime_url",
                        **{"metric.label.check_id": self.uptime.uptime_check_id},
                    ),
                    "COMPARISON_GT",
                    1,
                    "ALIGN_NEXT_OLDER",
                    reducer="REDUCE_COUNT_FALSE",
                    group_by=["resource.label.host"],
                    duration_seconds=60,
                )
            ],
        )

        self.dashboard = gcp.monitoring.Dashboard(
            f"{name}-dashboard",
            project=args.project,
            dashboard_json=pulumi.Output.all(*[c.filter for c in self.conditions.values()]).apply(
                lambda filters: self._dashboard(name, list(self.conditions.values()), filters)
            ),
            opts=child,
        )
        self.channel_ids = [c.id for c in self.channels]
        self.register_outputs({"channels": self.channel_ids, "policies": sorted(self.policies)})

    # --- replication slot lost (kept apart: the DR tool's own alarm) ------------------------------------

    def _slot_lost_policy(self, name: str, args: GcpMonitoringArgs) -> None:
        """When RDS invalidates the slot (max_slot_wal_keep_size), Cloud SQL's subscription worker logs, every
        time it retries, that it can no longer get changes from the slot. A log-based metric on Cloud SQL's
        PostgreSQL log counts those lines, and the policy asks for a re-seed (`python -m dr setup --reseed`)."""
        database_id = pulumi.Output.from_input(args.database_instance).apply(lambda n: f"{args.project}:{n}")
        lost = " OR ".join(f'textPayload:"{text}"' for text in SLOT_LOST_TEXTS)
        metric = gcp.logging.Metric(
            f"{name}-replication-slot-lost",
            project=args.project,
            name=SLOT_LOST_METRIC,
            filter=database_id.apply(
                lambda d: (
                    f'resource.type="cloudsql_database" AND resource.labels.database_id="{d}" '
                    f'AND logName="projects/{args.project}/logs/cloudsql.googleapis.com%2Fpostgres.log" AND ({lost})'
                )
            ),
            metric_descriptor={"metric_kind": "DELTA", "value_type": "INT64", "unit": "1"},
            description="Cloud SQL's subscription can no longer read its slot on RDS (invalidated): the copy must be re-seeded",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy(
            "replication-slot-lost",
            [
                Condition(
                    "the replication slot on RDS is lost: re-seed the copy (python -m dr setup --reseed)",
                    _filter(
                        f"logging.googleapis.com/user/{SLOT_LOST_METRIC}",
                        "cloudsql_database",
                        **{"resource.label.database_id": database_id},
                    ),
                    "COMPARISON_GT",
                    0,
                    "ALIGN_SUM",
                    alignment_seconds=300,
                )
            ],
            depends_on=[metric],
        )

    def policy(self, key: str, conditions: Sequence[Condition], depends_on: Sequence[pulumi.Resource] = ()) -> gcp.monitoring.AlertPolicy:
        self.conditions[key] = conditions[0]  # charted on the dashboard
        policy = gcp.monitoring.AlertPolicy(
            f"{self._name}-{key}",
            project=self._project,
            display_name=f"{self._name}: {conditions[0].title}",
            combiner="OR",
            notification_channels=[c.id for c in self.channels],
            conditions=[
                {
                    "display_name": c.title,
                    "condition_threshold": {
                        "filter": c.filter,
                        "comparison": c.comparison,
                        "threshold_value": c.threshold,
                        "duration": f"{c.duration_seconds}s",
                        "aggregations": [
                            {
                                "alignment_period": f"{c.alignment_seconds}s",
                                "per_series_aligner": c.aligner,
                                **({"cross_series_reducer": c.reducer, "group_by_fields": list(c.group_by)} if c.reducer else {}),
                            }
                        ],
                        "trigger": {"count": 1},
                    },
                }
                for c in conditions
            ],
            documentation={"content": "What this watches and the threshold's source: docs/operations.md.", "mime_type": "text/markdown"},
            user_labels=self._labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
        self.policies[key] = policy
        return policy

    @staticmethod
    def _dashboard(name: str, conditions: list[Condition], filters: list[str]) -> str:
        tiles = []
        for i, (condition, metric_filter) in enumerate(zip(conditions, filters)):
            tiles.append(
                {
                    "xPos": (i % 2) * 6,
                    "yPos": (i // 2) * 4,
                    "width": 6,
                    "height": 4,
                    "widget": {
                        "title": condition.title,
                        "xyChart": {
                            "dataSets": [
                                {
                                    "timeSeriesQuery": {
                                        "timeSeriesFilter": {
                                            "filter": metric_filter,
                                            "aggregation": {
                                                "alignmentPeriod": f"{condition.alignment_seconds}s",
                                                "perSeriesAligner": condition.aligner,
                                            },
                                        }
                                    },
                                    "plotType": "LINE",
                                }
                            ],
                            "thresholds": [{"value": condition.threshold}],
                        },
                    },
                }
            )
        return json.dumps({"displayName": f"{name} estate", "mosaicLayout": {"columns": 12, "tiles": tiles}})


def alert_thresholds(config) -> AlertThresholds:
    """The thresholds out of any object with the same attribute names (the stack's typed monitoring config)."""
    return AlertThresholds(**{name: getattr(config, name) for name in AlertThresholds.__dataclass_fields__})
