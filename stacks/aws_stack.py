"""The AWS program: aws-dev, aws-staging, aws-production and aws-dr, sized by their config."""

from __future__ import annotations

import datetime

import pulumi
import pulumi_aws as aws

from components.aws.alb import PublicLoadBalancer, PublicLoadBalancerArgs
from components.aws.app_identity import ApplicationRole, ApplicationRoleArgs
from components.aws.backups import BackupReplica, BackupReplicaArgs, RestoreTesting, RestoreTestingArgs
from components.aws.certificate import ValidatedCertificate, ValidatedCertificateArgs
from components.aws.ci_runner import DeployRunner, DeployRunnerArgs, runner_label
from components.aws.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.aws.ecr import ContainerRegistry, ContainerRegistryArgs
from components.aws.eks import EksCluster, EksClusterArgs
from components.aws.elasticache import RedisCache, RedisCacheArgs
from components.aws.fault_injection import FaultInjection, FaultInjectionArgs
from components.aws.kms import KmsKeys, KmsKeysArgs
from components.aws.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.aws.mail import MailDelivery, MailDeliveryArgs
from components.aws.monitoring import (
    AwsMonitoring,
    AwsMonitoringArgs,
    CacheTarget,
    DatabaseTarget,
    KafkaTarget,
    LoadBalancerTarget,
    alarm_thresholds,
)
from components.aws.msk import KafkaCluster, KafkaClusterArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.rds import PostgresDatabase, PostgresDatabaseArgs
from components.aws.scheduler import ScheduledTasks, ScheduledTasksArgs
from components.aws.secrets import AppSecrets, AppSecretsArgs
from components.aws.slo import AwsSlo, AwsSloArgs
from components.aws.vpn_gateway import VpnGateway, VpnGatewayArgs
from components.cloudflare.dkim_records import SesDkimRecords, SesDkimRecordsArgs
from components.cloudflare.origin_pull import origin_pull_ca
from components.cloudflare.origin_record import OriginRecord, OriginRecordArgs
from components.kubernetes.application import Application, ApplicationArgs, Egress, TargetGroup
from components.kubernetes.external_secrets import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.postgres.roles import DatabaseRoles, DatabaseRolesArgs

from .app_env import database_env, redis_env, revision
from .config.model import AwsStackConfig, Common
from .dns import cloudflare_provider, origin_host, origin_ranges
from .references import GLOBAL_STACK, ORIGIN_AUTH_ACCEPTED_OUTPUT, ORIGIN_AUTH_SENT_OUTPUT, ReadBack, permissions_boundary
from .service_levels import objectives, sla_output
from .workload import starting_replicas, workload_sizing


def app_aws_apis(config: AwsStackConfig) -> list[str]:
    """The AWS APIs the application's pods (and External Secrets, with the app's role) call, by PrivateLink
    name: STS (IRSA's web identity), Secrets Manager (app_env), SQS and EventBridge Scheduler (tasks),
    and with mail SNS (the app confirms its SES event subscriptions at sns.<region>.amazonaws.com)."""
    return ["sts", "secretsmanager", "sqs", "scheduler"] + (["sns"] if config.platform.mail_enabled else [])


def key_purposes(config: AwsStackConfig) -> list[str]:
    """One key per service that runs here; none for a switched-off database, cache or MSK."""
    optional = {"rds": config.database.enabled, "cache": config.redis.enabled, "kafka": config.platform.msk_enabled}
    return ["eks", "secrets", "logs", "ecr", "messaging"] + [purpose for purpose, enabled in optional.items() if enabled]


def program(config: AwsStackConfig) -> None:
    common = config.common
    rotation = config.rotation.keepers(datetime.datetime.now(datetime.UTC).date())  # crm:rotation
    name = common.name_prefix
    protect = common.protected
    # What the program reads from outside before registering anything, so a missing piece stops it with nothing created.
    dns = config.dns
    cloudflare_account = cloudflare_provider(name, dns)
    own_host = origin_host(common, dns, cloudflare_account)
    connection_arn = github_connection(config) if config.ci.runner else None
    boundary = permissions_boundary(common)  # every role below carries it (the CI deploy role creates none without)

    keys = KmsKeys(
        f"{name}-keys",
        KmsKeysArgs(purposes=key_purposes(config), region=config.region, tags=common.tags("encryption")),
        opts=pulumi.ResourceOptions(protect=protect),
    )

    net = config.network
    network = AwsNetwork(
        name,
        AwsNetworkArgs(
            cidr=str(net.cidr),
            zones=net.zones,
            region=config.region,
            public_subnets=[str(s) for s in net.public_subnets],
            private_subnets=[str(s) for s in net.private_subnets],
            data_subnets=[str(s) for s in net.data_subnets],
            single_nat_gateway=net.nat_gateways == "single",
            flow_log_retention_days=net.flow_log_retention_days,
            flow_log_kms_key_arn=keys.arn("logs"),
            tags=common.tags("network"),
            permissions_boundary=boundary,
            interface_endpoints=app_aws_apis(config),
        ),
    )

    runner = deploy_runner(config, network, keys, connection_arn, boundary) if connection_arn else None

    k8s = config.kubernetes
    cluster = EksCluster(
        f"{name}-eks",
        EksClusterArgs(
            version=k8s.version,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            secrets_kms_key_arn=keys.arn("eks"),
            logs_kms_key_arn=keys.arn("logs"),
            instance_type=k8s.instance_type,
            min_size=k8s.min_size,
            desired_size=k8s.desired_size,
            max_size=k8s.max_size,
            region=config.region,
            disk_size_gb=k8s.disk_size_gb,
            public_endpoint=k8s.public_endpoint,
            public_access_cidrs=k8s.public_access_cidrs,
            admin_principal_arns=k8s.admin_principals,
            tags=common.tags("kubernetes"),
            deletion_protection=protect,
            log_retention_days=k8s.log_retention_days,
            pod_security_groups=k8s.pod_security_groups,
            permissions_boundary=boundary,
            api_client_security_group_ids=[runner.security_group_id] if runner else [],
        ),
        opts=pulumi.ResourceOptions(protect=protect),
    )
    # Who the database, cache and Kafka admit: the application's pods' own group, or (without security groups
    # for pods, e.g. dev on burstable nodes) every node and pod of the cluster.
    app_sg = cluster.app_pods_security_group_id or cluster.cluster_security_group_id
    pod_sgs = [cluster.app_pods_security_group_id, cluster.cluster_security_group_id] if k8s.pod_security_groups else []

    registry = ContainerRegistry(
        f"{name}-ecr",
        ContainerRegistryArgs(
            repositories=config.registry.repositories,
            keep_images=config.registry.keep_images,
            kms_key_arn=keys.arn("ecr"),
            tags=common.tags("registry"),
            namespace=name,
        ),
        opts=pulumi.ResourceOptions(protect=protect),
    )

    database = None
    if config.database.enabled:
        db = config.database
        peer_cidrs = [str(c) for c in config.interconnect.peer_ranges] if config.interconnect else []
        database = PostgresDatabase(
            f"{name}-db",
            PostgresDatabaseArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.data_subnet_ids,
                app_security_group_id=app_sg,
                kms_key_arn=keys.arn("rds"),
                instance_class=db.instance_class,
                allocated_storage_gb=db.allocated_storage_gb,
                max_allocated_storage_gb=db.max_allocated_storage_gb,
                multi_az=db.multi_az,
                backup_retention_days=db.backup_retention_days,
                deletion_protection=db.deletion_protection,
                engine_version=db.engine_version,
                database_name=db.database_name,
                username=db.username,
                logical_replication=db.logical_replication,
                replication_source_cidrs=peer_cidrs,
                tags=common.tags("database"),
                max_slot_wal_keep_size_mb=db.max_slot_wal_keep_size_gb * 1024,
                logs_kms_key_arn=keys.arn("logs"),
                log_retention_days=db.log_retention_days,
                rotation=rotation,
                permissions_boundary=boundary,
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )
        backups(config, name, database, keys, boundary)

    roles = None
    if database:
        # The application's read-write role and the replication role, created on RDS from inside the cluster.
        roles = DatabaseRoles(
            f"{name}-db-roles",
            DatabaseRolesArgs(
                namespace=f"{config.platform.app_namespace}-db-roles",
                image=config.database.client_image,
                mode="read-write",
                host=database.endpoint.host,
                database=database.endpoint.database,
                admin_username=database.endpoint.user.username,
                admin_password=database.endpoint.user.password,
                app_username=config.database.app_username,
                replication_username=config.database.replication_username if config.database.logical_replication else None,
                # The replication-lag CronJob (gcp-dr) signs in as this role, not the admin.
                monitor_username=config.database.monitor_username if config.database.logical_replication else None,
                rotation=rotation,
                pod_security_group_ids=pod_sgs,
                ca_certificate=database.endpoint.ca_certificate,
                sslmode=database.endpoint.sslmode,
            ),
            opts=pulumi.ResourceOptions(providers=[cluster.provider]),
        )

    cache = None
    if config.redis.enabled:
        rd = config.redis
        cache = RedisCache(
            f"{name}-cache",
            RedisCacheArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.data_subnet_ids,
                app_security_group_id=app_sg,
                kms_key_arn=keys.arn("cache"),
                logs_kms_key_arn=keys.arn("logs"),
                node_type=rd.node_type,
                nodes=rd.nodes,
                snapshot_retention_days=rd.snapshot_retention_days,
                engine_version=rd.engine_version,
                tags=common.tags("cache"),
                cluster_mode=rd.cluster_mode,
                shards=rd.shards,
                replicas_per_shard=rd.replicas_per_shard,
                rotation=rotation,
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )

    on_cloudflare = pulumi.ResourceOptions(providers=[cloudflare_account])
    certificate = None
    certificate_arn = config.ingress.certificate_arn  # optional override: an existing certificate
    if not certificate_arn:
        certificate = ValidatedCertificate(
            f"{name}-cert",
            ValidatedCertificateArgs(
                hostnames=[common.public_host, own_host],
                zone_id=dns.zone_id,
                tags=common.tags("ingress"),
            ),
            opts=on_cloudflare,
        )
        certificate_arn = certificate.certificate_arn

    ingress_origin_auth = zone_origin_auth_values(common, config.interconnect.peer_stack) if config.interconnect else None
    ingress = PublicLoadBalancer(
        f"{name}-ingress",
        PublicLoadBalancerArgs(
            vpc_id=network.vpc_id,
            vpc_cidr=str(net.cidr),
            subnet_ids=network.public_subnet_ids,
            certificate_arn=certificate_arn,
            allowed_cidrs=origin_ranges(config.ingress.allowed_cidrs, cloudflare_account),
            target_security_group_id=cluster.cluster_security_group_id,
            health_check_path=config.ingress.health_check_path,
            target_port=config.application.port,
            tags=common.tags("ingress"),
            deletion_protection=protect,
            client_ca_bundle=origin_pull_ca(),  # only Cloudflare's edge (authenticated origin pulls, global stack) completes the handshake
            # Any Cloudflare customer presents that certificate: the zone's secret header proves this zone (DR pair only).
            origin_auth_values=ingress_origin_auth,
        ),
        opts=pulumi.ResourceOptions(protect=protect),
    )

    origin_dns = OriginRecord(
        f"{name}-origin-dns",
        OriginRecordArgs(
            zone_id=dns.zone_id,
            hostname=own_host,
            target=ingress.dns_name,
            record_type="CNAME",
        ),
        opts=on_cloudflare,
    )

    platform = config.platform
    mail = None
    if platform.mail_enabled:
        # This stack's own host is subscribed through its DNS record, so SNS posts only once it resolves.
        webhook_hosts = [origin_dns.hostname] + [host for host in platform.webhook_hosts if host != own_host]
        mail = MailDelivery(
            f"{name}-mail",
            MailDeliveryArgs(
                domain=platform.mail_domain,
                webhook_hosts=webhook_hosts,
                kms_key_arn=keys.arn("messaging"),
                region=config.region,
                tags=common.tags("mail"),
            ),
        )
        # The domain's DKIM records go into the zone this stack already writes its origin and validation records to.
        SesDkimRecords(
            f"{name}-dkim",
            SesDkimRecordsArgs(zone_id=dns.zone_id, domain=platform.mail_domain, tokens=mail.dkim_tokens),
            opts=on_cloudflare,
        )
    tasks = ScheduledTasks(
        f"{name}-tasks",
        ScheduledTasksArgs(kms_key_arn=keys.arn("messaging"), tags=common.tags("scheduler"), permissions_boundary=boundary),
    )
    kafka = None
    if platform.msk_enabled:
        kafka = KafkaCluster(
            f"{name}-kafka",
            KafkaClusterArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                app_security_group_id=app_sg,
                kms_key_arn=keys.arn("kafka"),
                logs_kms_key_arn=keys.arn("logs"),
                instance_type=platform.msk_instance_type,
                volume_gb=platform.msk_volume_gb,
                tags=common.tags("messaging"),
                topics=platform.kafka_topics,
                topic_partitions=platform.kafka_topic_partitions,
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )

    app_env = AppSecrets(
        f"{name}-secrets",
        AppSecretsArgs(
            secret_name=f"{common.project}/{common.environment}/app_env",
            kms_key_arn=keys.arn("secrets"),
            payload=app_env_payload(config, database, cache, mail, tasks, kafka, roles),
            tags=common.tags("secrets"),
            settings={"public-host": common.public_host, "environment": common.environment},
            parameter_prefix=f"/{common.project}/{common.environment}",
            recovery_window_days=30 if protect else 7,
        ),
        opts=pulumi.ResourceOptions(protect=protect),
    )

    app_role = ApplicationRole(
        f"{name}-app",
        ApplicationRoleArgs(
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            namespace=platform.app_namespace,
            service_account=platform.app_service_account,
            app_env_secret_arn=app_env.secret_arn,
            secrets_kms_key_arn=keys.arn("secrets"),
            ses_identity_arn=mail.identity_arn if mail else None,
            ses_configuration_set_arn=mail.configuration_set_arn if mail else None,
            queue_arn=tasks.queue_arn,
            queue_kms_key_arn=keys.arn("messaging"),
            schedule_group_name=tasks.group_name,
            scheduler_role_arn=tasks.role_arn,
            kafka_cluster_arn=kafka.arn if kafka else None,
            tags=common.tags("application"),
            permissions_boundary=boundary,
        ),
    )

    workload = serve_application(config, cluster, network, registry, ingress, app_env, app_role, database, cache, kafka, boundary)
    # The listener forwards once the pods are registered in the target group (and, after a replaced group, in the new one).
    ingress.forward(after=[workload.target_group_binding])

    if config.interconnect:
        vpn = VpnGateway(
            f"{name}-vpn",
            VpnGatewayArgs(
                vpc_id=network.vpc_id,
                amazon_side_asn=config.interconnect.amazon_side_asn,
                route_table_ids=network.private_route_table_ids + network.data_route_table_ids,
                tags=common.tags("interconnect"),
            ),
        )
        pulumi.export("vpnGatewayId", vpn.gateway_id)
        pulumi.export("vpnGatewayAsn", vpn.amazon_side_asn)

    monitoring = monitor(config, database, cache, ingress, tasks, kafka)
    pulumi.export("alarmTopicArn", monitoring.topic_arn)
    AwsSlo(
        f"{name}-slo",
        AwsSloArgs(
            objectives=objectives(config.monitoring),
            load_balancer_arn_suffix=ingress.arn_suffix,
            topic_arn=monitoring.topic_arn,
            tags=common.tags("monitoring"),
        ),
    )
    pulumi.export("sla", sla_output(config.monitoring))
    if config.fault_injection.enabled:
        faults = inject_faults(config, network, cluster, database, monitoring, boundary)
        pulumi.export("faultInjection", faults.plan)

    if runner:
        # The workflow runs this stack's `pulumi up` on `<deployRunnerLabel>-<run id>-<run attempt>`.
        pulumi.export("deployRunnerLabel", runner.project_name.apply(runner_label))
    pulumi.export("region", config.region)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("vpcCidr", network.vpc_cidr)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("privateRouteTableIds", network.private_route_table_ids)
    pulumi.export("dataRouteTableIds", network.data_route_table_ids)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("repositoryUrls", registry.repository_urls)
    pulumi.export("albDnsName", ingress.dns_name)
    if config.interconnect:  # secret; the header values the ALB admits, of which the global stack sends one
        pulumi.export(ORIGIN_AUTH_ACCEPTED_OUTPUT, ingress_origin_auth)
    pulumi.export("albTargetGroupArn", ingress.target_group_arn)  # what the AWS Load Balancer Controller binds the app's Service to
    pulumi.export("originHost", origin_dns.hostname)
    pulumi.export("certificateArn", certificate_arn)
    pulumi.export("appEnvSecretArn", app_env.secret_arn)
    pulumi.export("appRoleArn", app_role.role_arn)
    pulumi.export("appNamespace", config.platform.app_namespace)
    pulumi.export("appServiceName", workload.service_name)
    pulumi.export("scheduleGroupName", tasks.group_name)
    pulumi.export("scheduleQueueArn", tasks.queue_arn)
    pulumi.export("scheduleQueueUrl", tasks.queue_url)
    pulumi.export("scheduleRoleArn", tasks.role_arn)
    if mail:
        pulumi.export("sesConfigurationSet", mail.configuration_set_name)
        pulumi.export("sesEventsTopicArn", mail.topic_arn)
        pulumi.export("sesDkimTokens", mail.dkim_tokens)
        # gcp-dr's mail-sending role (assumed with a Google identity) is scoped to these two.
        pulumi.export("sesIdentityArn", mail.identity_arn)
        pulumi.export("sesConfigurationSetArn", mail.configuration_set_arn)
    if kafka:
        pulumi.export("kafkaBootstrapServers", kafka.bootstrap_brokers)
    if database:
        pulumi.export("databaseAddress", database.address)
        pulumi.export("databasePort", database.port)
        pulumi.export("databaseName", database.database_name)
        pulumi.export("databaseUsername", database.username)
        pulumi.export("databasePassword", database.endpoint.user.password)
        pulumi.export("databaseAppUsername", roles.app_username)
        pulumi.export("databaseAppPassword", roles.app.password)
        pulumi.export("databaseCaCertificate", database.endpoint.ca_certificate)
        if roles.replication is not None:
            pulumi.export("databaseReplicationUsername", roles.replication_username)
            pulumi.export("databaseReplicationPassword", roles.replication.password)
        if roles.monitor is not None:
            pulumi.export("databaseMonitorUsername", roles.monitor.username)
            pulumi.export("databaseMonitorPassword", roles.monitor.password)
    if cache:
        pulumi.export("redisHost", cache.host)


def github_connection(config: AwsStackConfig) -> str:
    """The ARN of the connection to GitHub the runner's project uses; `pulumi up` refuses one whose handshake is not done
    (CodeBuild could not create the webhook), a preview warns."""
    name = config.ci.github_connection
    connection = aws.codestarconnections.get_connection(name=name)
    if connection.connection_status != "AVAILABLE":
        message = (
            f"crm:ci.githubConnection: the CodeConnections connection '{name}' is {connection.connection_status or 'missing'}; "
            "complete its handshake with GitHub in the console (Developer Tools > Settings > Connections > Update pending connection)"
        )
        if not pulumi.runtime.is_dry_run():
            raise pulumi.RunError(message)
        pulumi.log.warn(f"{message}; `pulumi up` refuses until then")
    return connection.arn


def deploy_runner(config: AwsStackConfig, network, keys, connection_arn: str, boundary) -> DeployRunner:
    """CI's runner inside the VPC (crm:ci): the one place from which a job reaches the private cluster API."""
    common, ci = config.common, config.ci
    return DeployRunner(
        f"{common.name_prefix}-runner",
        DeployRunnerArgs(
            project_name=f"{common.project}-{common.stack}-runner",
            repository=ci.repository,
            connection_arn=connection_arn,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            kms_key_arn=keys.arn("logs"),
            log_retention_days=ci.log_retention_days,
            region=config.region,
            tags=common.tags("ci"),
            permissions_boundary=boundary,
        ),
    )


def monitor(config: AwsStackConfig, database, cache, ingress, tasks, kafka) -> AwsMonitoring:
    """Alarms on everything this stack runs, to one topic with the subscribers from crm:monitoring."""
    m, common = config.monitoring, config.common
    return AwsMonitoring(
        f"{common.name_prefix}-monitoring",
        AwsMonitoringArgs(
            emails=m.emails,
            thresholds=alarm_thresholds(m),
            monthly_budget_usd=common.budget.monthly_usd,
            budget_alert_percents=common.budget.alert_percents,
            region=config.region,
            environment=common.environment,
            tags=common.tags("monitoring"),
            database=DatabaseTarget(
                database.instance_id,
                config.database.allocated_storage_gb,
                config.database.max_slot_wal_keep_size_gb * 1024,
                config.database.logical_replication,
            )
            if database
            else None,
            cache=CacheTarget(
                cache.replication_group_id,
                config.redis.nodes,
                cluster_mode=config.redis.cluster_mode,
                shards=config.redis.shards,
                replicas_per_shard=config.redis.replicas_per_shard,
            )
            if cache
            else None,
            load_balancer=LoadBalancerTarget(ingress.arn_suffix, ingress.target_group_arn_suffix),
            dead_letter_queue_name=tasks.dead_letter_queue_name,
            kafka=KafkaTarget(kafka.cluster_name, kafka.broker_count) if kafka else None,
        ),
        opts=pulumi.ResourceOptions(protect=common.protected),
    )


def inject_faults(config: AwsStackConfig, network, cluster, database, monitoring, boundary) -> FaultInjection:
    """The game day's experiment templates (crm:faultInjection); the RDS failover only where a standby exists."""
    common, settings = config.common, config.fault_injection
    slot_lag = monitoring.alarms.get("db-slot-lag")
    return FaultInjection(
        f"{common.name_prefix}-gameday",
        FaultInjectionArgs(
            environment=common.environment,
            vpc_id=network.vpc_id,
            application_subnet_arns=network.private_subnet_arns,
            cluster_name=cluster.cluster_name,
            node_group_arn=cluster.node_group_arn,
            alarm_topic_arn=monitoring.topic_arn,
            tags=common.tags("resilience"),
            database_instance_arn=database.arn if database and config.database.multi_az else None,
            replication_alarm_arn=slot_lag.arn if slot_lag is not None else None,
            network_cut_minutes=settings.network_cut_minutes,
            node_termination_percent=settings.node_termination_percent,
            permissions_boundary=boundary,
        ),
    )


def backups(config: AwsStackConfig, name: str, database, keys, boundary=None) -> None:
    """RDS automated backups replicated to a second region; a scheduled restore test of the latest snapshot."""
    db, common = config.database, config.common
    if db.backup_copy_region:
        second_region = aws.Provider(f"{name}-{db.backup_copy_region}", region=db.backup_copy_region)
        BackupReplica(
            f"{name}-db-backup-copy",
            BackupReplicaArgs(
                source_db_instance_arn=database.arn,
                retention_days=max(db.backup_retention_days, 1),
                tags=common.tags("backup"),
            ),
            opts=pulumi.ResourceOptions(protect=common.protected, providers={"aws": second_region}),
        )
    if db.restore_testing:
        RestoreTesting(
            f"{name}-db-restore-test",
            RestoreTestingArgs(
                db_instance_arn=database.arn,
                kms_key_arn=keys.arn("rds"),
                retention_days=max(db.backup_retention_days, 1),
                tags=common.tags("backup"),
                permissions_boundary=boundary,
            ),
            opts=pulumi.ResourceOptions(protect=common.protected),
        )


def serve_application(
    config: AwsStackConfig, cluster, network, registry, ingress, app_env, app_role, database, cache, kafka, boundary=None
) -> Application:
    """The CRM pods on EKS, in the ALB's target group, with nodes that scale to them."""
    common, app, platform, net = config.common, config.application, config.platform, config.network
    name = common.name_prefix
    on_cluster = pulumi.ResourceOptions(providers=[cluster.provider])
    irsa = dict(oidc_provider_arn=cluster.oidc_provider_arn, oidc_provider_url=cluster.oidc_provider_url, permissions_boundary=boundary)
    ClusterAutoscaler(
        f"{name}-autoscaler",
        ClusterAutoscalerArgs(
            cluster_name=cluster.cluster_name,
            region=config.region,
            tags=common.tags("kubernetes"),
            **irsa,
        ),
        opts=on_cluster,
    )
    controller = LoadBalancerController(
        f"{name}-lbc",
        LoadBalancerControllerArgs(
            cluster_name=cluster.cluster_name,
            vpc_id=network.vpc_id,
            target_group_arn=ingress.target_group_arn,
            region=config.region,
            tags=common.tags("ingress"),
            **irsa,
        ),
        opts=on_cluster,
    )
    secrets_operator = ExternalSecretsOperator(f"{name}-eso", ExternalSecretsOperatorArgs(), opts=on_cluster)
    data = [str(c) for c in net.data_subnets]
    # The AWS APIs through their interface endpoints in the data subnets (AwsNetwork), not the internet.
    egress = [
        Egress(f"AWS APIs through their VPC endpoints ({', '.join(app_aws_apis(config))})", 443, cidrs=network.interface_endpoint_cidrs)
    ]
    if config.platform.mail_enabled:
        # SES's sending API has no interface endpoint (only SMTP has one): it stays on the NAT gateways.
        egress.append(Egress("SES API (no VPC endpoint)", 443, cidrs=["0.0.0.0/0"]))
    if database:
        egress.append(Egress("RDS PostgreSQL", 5432, cidrs=data))
    if cache:
        egress.append(Egress("ElastiCache Redis (TLS)", 6379, cidrs=data))
    if kafka:
        egress.append(Egress("MSK (IAM auth, TLS)", 9098, cidrs=[str(c) for c in net.private_subnets]))
    return Application(
        f"{name}-app",
        ApplicationArgs(
            cloud="aws",
            namespace=platform.app_namespace,
            service_account=platform.app_service_account,
            identity_annotation=("eks.amazonaws.com/role-arn", app_role.role_arn),
            image_repository_url=registry.repository_urls[app.image_repository],
            **workload_sizing(app),
            secret_store_provider={
                "aws": {
                    "service": "SecretsManager",
                    "region": config.region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": platform.app_service_account}}},
                }
            },
            app_env_key=app_env.secret_arn,
            app_env_revision=revision(app_env.payload),
            pod_security_group_ids=[cluster.app_pods_security_group_id, cluster.cluster_security_group_id]
            if config.kubernetes.pod_security_groups
            else [],
            # The ALB's nodes sit in the public subnets and connect to pod IPs directly (target type ip).
            load_balancer_cidrs=[str(c) for c in net.public_subnets],
            egress=egress,
            target_group=TargetGroup(arn=ingress.target_group_arn, vpc_id=network.vpc_id),
            strict_zone_spread=common.environment != "dev",
            labels=common.tags("application"),
            # 0 until the repository holds the image (components/image_check.py), then the autoscaler's.
            replicas=starting_replicas(
                common.stack, app.image_tag, registry.image_check(app.image_repository, app.image_tag), "run `pulumi up` again"
            ),
        ),
        opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[secrets_operator.release, controller.release]),
    )


def app_env_payload(config: AwsStackConfig, database, cache, mail, tasks, kafka, roles=None) -> dict:
    """The application's environment, every value taken from a resource of this stack.

    On AWS the pod's IAM role (IRSA) grants mail, queue and scheduler access, so no AWS keys here.
    """
    payload: dict = {
        "CLOUD_PROVIDER": "aws",  # the value of the X-Cloud-Provider response header
        "SCHEDULER_PROVIDER": "aws",
        "MESSAGE_PROVIDER": "aws",
        "APP_PUBLIC_HOST": config.common.public_host,
        "AWS_REGION": config.region,
        "AWS_SCHEDULE_ROLE_ARN": tasks.role_arn,
        "AWS_SCHEDULE_SQS_ARN": tasks.queue_arn,
        "AWS_SCHEDULE_SQS_URL": tasks.queue_url,  # SQS calls address a queue by URL
        "AWS_SCHEDULE_GROUP_NAME": tasks.group_name,
    }
    if mail:
        # Mail goes through the SES API with the pod's credentials; there is no SMTP user or key.
        payload["AWS_CONFIGURATION_SET"] = mail.configuration_set_name
    if kafka:
        payload["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_brokers
    if database:
        # RDS is the writer and the reader here; the application signs in as its own role, not the master user.
        payload.update(database_env(database.endpoint.signed_in_as(roles.app)))
    if cache:
        payload.update(redis_env(cache.endpoint))
    return payload


def zone_origin_auth_values(common: Common, gcp_stack: str) -> pulumi.Output:
    """The origin-auth header values the ALB admits: those the GCP stack generated and accepts, and the one the global
    stack sends now. Both stacks deploy after this one, so each is read as it was last deployed (empty before)."""
    gcp, zone = ReadBack(common, gcp_stack), ReadBack(common, GLOBAL_STACK)
    # A GCP stack deployed before it exported originAuthAccepted exports its current value alone.
    return pulumi.Output.secret(
        pulumi.Output.all(gcp.get(ORIGIN_AUTH_ACCEPTED_OUTPUT), gcp.get(ORIGIN_AUTH_SENT_OUTPUT), zone.get(ORIGIN_AUTH_SENT_OUTPUT)).apply(
            lambda v: list(dict.fromkeys([*(v[0] or ([v[1]] if v[1] else [])), *([v[2]] if v[2] else [])]))
        )
    )
