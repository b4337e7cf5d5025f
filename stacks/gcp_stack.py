"""The GCP program: gcp-dev, gcp-staging, gcp-production and gcp-dr, sized by their config."""

from __future__ import annotations

import datetime

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws.mail import GOOGLE_TOKEN_AUDIENCE, GoogleMailSender, GoogleMailSenderArgs, MailWebhook, MailWebhookArgs
from components.aws.monitoring import VpnTunnelAlarms, VpnTunnelAlarmsArgs
from components.cloudflare.origin_record import OriginRecord, OriginRecordArgs
from components.endpoints import DatabaseEndpoint, DatabaseUser
from components.gcp.artifact_registry import ArtifactRegistry, ArtifactRegistryArgs
from components.gcp.binary_authorization import BinaryAuthorizationArgs, BinaryAuthorizationPolicy
from components.gcp.budget import ProjectBudget, ProjectBudgetArgs
from components.gcp.certificates import ManagedCertificate, ManagedCertificateArgs
from components.gcp.cloud_armor import CloudflareOnlyPolicy, CloudflareOnlyPolicyArgs
from components.gcp.cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
from components.gcp.gateway import AppGateway, AppGatewayArgs
from components.gcp.gke import GkeCluster, GkeClusterArgs
from components.gcp.kafka import SASL_MECHANISM, KafkaOnGke, KafkaOnGkeArgs
from components.gcp.kms import SERVICE_AGENTS, GcpKms, GcpKmsArgs
from components.gcp.memorystore import MemorystoreRedis, MemorystoreRedisArgs
from components.gcp.monitoring import GcpMonitoring, GcpMonitoringArgs, alert_thresholds
from components.gcp.network import GOOGLE_HEALTH_CHECK_RANGES, GcpNetwork, GcpNetworkArgs
from components.gcp.origin import GlobalOrigin, GlobalOriginArgs
from components.gcp.origin_auth import OriginAuthSecret, OriginAuthSecretArgs
from components.gcp.replication import ReplicationJobs, ReplicationJobsArgs
from components.gcp.secret_manager import AppEnvSecret, AppEnvSecretArgs
from components.gcp.services import AGENT_APIS, ProjectServices, ProjectServicesArgs
from components.gcp.slo import GcpSlo, GcpSloArgs
from components.gcp.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.interconnect.ha_vpn import HaVpnLink, HaVpnLinkArgs
from components.kubernetes.application import POD_LABELS as APP_POD_LABELS
from components.kubernetes.application import TOKEN_REFRESHER_IMAGE, Application, ApplicationArgs, AwsWebIdentity, Egress
from components.kubernetes.external_secrets import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.postgres.roles import DatabaseRoles, DatabaseRolesArgs

from .app_env import database_env, kafka_env, redis_env, revision
from .config.model import GcpStackConfig
from .dns import cloudflare_provider, origin_host, origin_ranges
from .references import (
    GLOBAL_STACK,
    ORIGIN_AUTH_ACCEPTED_OUTPUT,
    ORIGIN_AUTH_SENT_OUTPUT,
    PERMISSIONS_BOUNDARY_OUTPUT,
    GcpServiceAccounts,
    PeerStack,
    ReadBack,
)
from .service_levels import objectives
from .workload import starting_replicas, workload_sizing


def program(config: GcpStackConfig) -> None:
    common = config.common
    today = datetime.datetime.now(datetime.UTC).date()
    rotation = config.rotation.keepers(today)  # crm:rotation
    name = common.name_prefix
    protect = common.protected
    project, region = config.project_id, config.region
    # Every Google API a resource below needs is enabled first, derived from its type (components/gcp/services.py).
    services = ProjectServices(f"{name}-apis", ProjectServicesArgs(project=project))
    pulumi.runtime.register_stack_transformation(services.transformation)
    net = config.network
    # Read from Cloudflare before anything is registered: a zone it does not know stops the program with nothing created.
    dns, edge = config.dns, config.ingress
    cloudflare_account = cloudflare_provider(name, dns)
    own_host = origin_host(common, dns, cloudflare_account)
    peer_cidrs = [str(config.interconnect.peer_vpc_cidr)] if config.interconnect and config.interconnect.peer_vpc_cidr else []

    network = GcpNetwork(
        name,
        GcpNetworkArgs(
            network_name=net.name,
            project=project,
            region=region,
            subnet_cidr=str(net.subnet_cidr),
            pods_cidr=str(net.pods_cidr),
            services_cidr=str(net.services_cidr),
            private_services_cidr=str(net.private_services_cidr),
            peer_cidrs=peer_cidrs,
            labels=common.tags("network"),
        ),
    )
    purposes = ["gke", "registry", "secrets"] + [p for p, on in (("sql", config.database.enabled), ("redis", config.redis.enabled)) if on]
    # GKE's and Memorystore's service agents appear when their API is enabled: the keys' grants to them wait for it.
    agent_apis = sorted({AGENT_APIS[SERVICE_AGENTS[p]] for p in purposes if SERVICE_AGENTS[p] in AGENT_APIS})
    kms = GcpKms(
        f"{name}-keys",
        GcpKmsArgs(project=project, region=region, purposes=purposes, labels=common.tags("encryption")),
        opts=pulumi.ResourceOptions(protect=protect, depends_on=[services.enable(api) for api in agent_apis]),
    )

    # The key carries its service agent's grant (GcpKms.key_id), so the repository waits for it.
    registry = ArtifactRegistry(
        f"{name}-registry",
        ArtifactRegistryArgs(
            project=project,
            region=region,
            repository_id=f"{common.project}-{common.environment}",
            keep_images=config.registry.keep_images,
            labels=common.tags("registry"),
            kms_key=kms.key_id("registry"),
        ),
        opts=pulumi.ResourceOptions(protect=protect),
    )
    # The project's policy exists before the cluster that enforces it: only our registry and the operators' images run.
    admission = BinaryAuthorizationPolicy(
        f"{name}-binauthz",
        BinaryAuthorizationArgs(
            project=project,
            registry_url=registry.url,
            images=admitted_images(config),
        ),
    )

    peers = {stack: PeerStack(common, stack) for stack in config.references}
    # The service accounts this stack uses: bootstrap creates them and grants the deploy account its role on each.
    accounts = GcpServiceAccounts(peers[common.bootstrap_stack], project)
    k8s = config.kubernetes
    cluster = GkeCluster(
        f"{name}-gke",
        GkeClusterArgs(
            project=project,
            region=region,
            network=network.network_id,
            subnetwork=network.subnet_self_link,
            zones=net.zones,
            master_cidr=str(net.master_cidr),
            node_service_account=accounts.email("gkeNodes"),
            release_channel=k8s.release_channel,
            machine_type=k8s.machine_type,
            min_nodes=k8s.min_nodes,
            initial_nodes=k8s.initial_nodes,
            max_nodes=k8s.max_nodes,
            disk_size_gb=k8s.disk_size_gb,
            secrets_kms_key=kms.key_id("gke"),
            authorized_networks=[str(c) for c in k8s.authorized_networks],
            node_tags=[network.app_tag],
            labels=common.tags("kubernetes"),
            deletion_protection=protect,
        ),
        opts=pulumi.ResourceOptions(protect=protect, depends_on=[admission.policy]),
    )

    database = None
    if config.database.enabled:
        db = config.database
        database = CloudSqlPostgres(
            f"{name}-sql",
            CloudSqlPostgresArgs(
                project=project,
                region=region,
                network_id=network.private_services_network_id,
                tier=db.tier,
                disk_size_gb=db.disk_size_gb,
                disk_type=db.disk_type,
                availability=db.availability,
                backup_retention_count=db.backup_retention_count,
                deletion_protection=db.deletion_protection,
                kms_key=kms.key_id("sql"),
                database_version=db.database_version,
                backup_location=db.backup_location or None,
                database_name=db.database_name,
                username=db.username,
                logical_decoding=db.logical_decoding,
                labels=common.tags("database"),
                rotation=rotation,
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )

    cache = None
    if config.redis.enabled:
        rd = config.redis
        cache = MemorystoreRedis(
            f"{name}-redis",
            MemorystoreRedisArgs(
                project=project,
                region=region,
                network_id=network.private_services_network_id,
                reserved_ip_range=network.private_services_range_name,
                tier=rd.tier,
                memory_size_gb=rd.memory_size_gb,
                replica_count=rd.replica_count,
                read_replicas=rd.read_replicas,
                redis_version=rd.redis_version,
                rdb_snapshot_period=rd.rdb_snapshot_period,
                kms_key=kms.key_id("redis"),
                labels=common.tags("cache"),
            ),
            opts=pulumi.ResourceOptions(protect=protect),
        )

    aws_platform = peers.get(config.platform.aws_stack)
    kafka = KafkaOnGke(
        f"{name}-kafka",
        KafkaOnGkeArgs(
            brokers=config.platform.kafka_brokers,
            chart_version=config.platform.strimzi_chart_version,
            kafka_version=config.platform.kafka_version,
            topics=config.platform.kafka_topics,
            topic_partitions=config.platform.kafka_topic_partitions,
            rotation=rotation,
            client_namespace=config.platform.app_namespace,
            client_pod_labels=APP_POD_LABELS,
        ),
        opts=pulumi.ResourceOptions(providers=[cluster.provider], protect=protect),
    )

    # RDS stays the only writer while an AWS stack is paired: the application's role here only reads
    # (and shares the writer's password) until `python -m dr promote` grants writes.
    writer = aws_platform if aws_platform and database else None
    roles = None
    if database:
        roles = DatabaseRoles(
            f"{name}-db-roles",
            DatabaseRolesArgs(
                namespace=f"{config.platform.app_namespace}-db-roles",
                image=config.database.client_image,
                mode="read-only" if writer else "read-write",
                host=database.endpoint.host,
                database=database.endpoint.database,
                admin_username=database.endpoint.user.username,
                admin_password=database.endpoint.user.password,
                app_username=config.database.app_username,
                app_password=writer.require("databaseAppPassword") if writer else None,
                # The replication-lag CronJob signs in as this role, not the admin.
                monitor_username=config.database.monitor_username if replicating(config) else None,
                rotation=rotation,
                ca_certificate=database.endpoint.ca_certificate,
                sslmode=database.endpoint.sslmode,
            ),
            opts=pulumi.ResourceOptions(providers=[cluster.provider]),
        )

    origin = GlobalOrigin(
        f"{name}-origin",
        GlobalOriginArgs(project=project, address_name=f"{name}-origin", labels=common.tags("ingress")),
        opts=pulumi.ResourceOptions(protect=protect),
    )

    app_env = AppEnvSecret(
        f"{name}-secrets",
        AppEnvSecretArgs(
            project=project,
            secret_id=f"{name}-app-env",
            payload=app_env_payload(config, database, cache, kafka, aws_platform, roles),
            labels=common.tags("secrets"),
            region=region,
            kms_key=kms.key_id("secrets"),
        ),
        opts=pulumi.ResourceOptions(protect=protect),
    )

    identity = WorkloadIdentity(
        f"{name}-app",
        WorkloadIdentityArgs(
            project=project,
            namespace=config.platform.app_namespace,
            service_account=config.platform.app_service_account,
            app_env_secret_id=app_env.secret.id,
            google_account=accounts.email("app"),
        ),
        opts=pulumi.ResourceOptions(depends_on=[cluster]),
    )

    # SES lives in the AWS stack's account: its resources here go through a provider for that region.
    mail_aws = aws.Provider(f"{name}-mail-aws", region=aws_platform.require("region")) if aws_platform else None
    mail_sender = None
    if aws_platform:
        # The pods send mail with short-lived AWS credentials for their own Google identity, not a stored key.
        mail_sender = GoogleMailSender(
            f"{name}-mail-sender",
            GoogleMailSenderArgs(
                google_account_id=identity.unique_id,
                identity_arn=aws_platform.require("sesIdentityArn"),
                configuration_set_arn=aws_platform.require("sesConfigurationSetArn"),
                tags=common.tags("mail"),
                permissions_boundary=peers[common.bootstrap_stack].require(PERMISSIONS_BOUNDARY_OUTPUT),
            ),
            opts=pulumi.ResourceOptions(providers=[mail_aws]),
        )

    workload = serve_application(config, cluster, network, registry, app_env, identity, database, cache, kafka, mail_sender)

    # The load balancer on that address: GKE's Gateway controller builds it from the objects AppGateway declares.
    on_cloudflare = pulumi.ResourceOptions(providers=[cloudflare_account])
    hostnames = [common.public_host, own_host]
    certificate = ManagedCertificate(
        f"{name}-cert",
        ManagedCertificateArgs(
            project=project,
            map_name=f"{name}-edge",
            hostnames=hostnames,
            zone_id=dns.zone_id,
            labels=common.tags("ingress"),
        ),
        opts=on_cloudflare,
    )
    # Cloudflare's ranges are every Cloudflare customer's: a secret header the global stack adds proves the zone.
    # The value it sends now stays accepted whatever the rotation step did since (components/gcp/origin_auth.py). Only the
    # DR pair's GCP stack (crm:interconnect) is behind the global load balancer and reads it back: the other stacks'
    # deploy identities may not read the global stack's state, and its value is the DR pair's secret.
    still_sent = ReadBack(common, GLOBAL_STACK).get(ORIGIN_AUTH_SENT_OUTPUT) if config.interconnect else None
    origin_auth = OriginAuthSecret(
        f"{name}-origin-auth", OriginAuthSecretArgs(rotation_step=config.rotation.step(today), still_sent=still_sent)
    )
    armor = CloudflareOnlyPolicy(
        f"{name}-armor",
        CloudflareOnlyPolicyArgs(
            project=project,
            policy_name=f"{name}-cloudflare-only",
            allowed_cidrs=origin_ranges(edge.allowed_cidrs, cloudflare_account),
            labels=common.tags("ingress"),
            origin_auth_values=origin_auth.accepted,
        ),
    )
    gateway = AppGateway(
        f"{name}-gateway",
        AppGatewayArgs(
            namespace=config.platform.app_namespace,
            gateway_name=f"{common.project}-edge",
            address_name=origin.address_name,
            certificate_map=certificate.map_name,
            hostnames=hostnames,
            service_name=workload.service_name,
            service_port=config.application.port,
            security_policy=armor.policy_name,
            health_check_path=config.application.health_path,
        ),
        opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[workload]),
    )
    origin_dns = OriginRecord(
        f"{name}-origin-dns",
        OriginRecordArgs(
            zone_id=dns.zone_id,
            hostname=own_host,
            target=origin.ip_address,
            record_type="A",
        ),
        opts=on_cloudflare,
    )

    if aws_platform:
        # SES events reach GCP through this stack's origin host, which exists only once this stack has run: the
        # subscription lives here, after its DNS record and Gateway, on the AWS stack's topic.
        MailWebhook(
            f"{name}-mail-webhook",
            MailWebhookArgs(
                topic_arn=aws_platform.require("sesEventsTopicArn"),
                host=pulumi.Output.all(origin_dns.hostname, gateway.gateway.id).apply(lambda values: values[0]),
            ),
            opts=pulumi.ResourceOptions(providers=[mail_aws]),
        )

    link = None
    if config.interconnect:
        link_config = config.interconnect
        aws_side = peers[link_config.peer_stack]
        # The AWS half lives in the peer's account and region. This provider used to be created inside
        # the link; the alias keeps its state (moved from under the link to the stack, not replaced).
        link_aws = aws.Provider(
            f"{name}-link-aws",
            region=link_config.peer_region,
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=pulumi.create_urn(f"{name}-link", "crm:interconnect:HaVpnLink"))]),
        )
        link = HaVpnLink(
            f"{name}-link",
            HaVpnLinkArgs(
                project=project,
                region=region,
                network_id=network.network_id,
                router_asn=link_config.router_asn,
                aws_vpn_gateway_id=aws_side.require("vpnGatewayId"),
                aws_asn=link_config.peer_asn,
                inside_cidrs=link_config.inside_cidrs,
                advertised_ranges=[str(net.private_services_cidr)],
                labels=common.tags("interconnect"),
                tags=common.tags("interconnect"),
            ),
            opts=pulumi.ResourceOptions(protect=protect, providers={"aws": link_aws}),
        )
        pulumi.export("vpnTunnels", [t.name for t in link.tunnels])
        pulumi.export("vpnInsideCidrs", [str(c) for c in link_config.inside_cidrs])
        pulumi.export("routerAsn", link_config.router_asn)
        pulumi.export("vpnRouter", link.router.name)
        # The VPN connections exist only here, so their TunnelState alarms are raised here, in the AWS
        # account through the link's AWS provider, and report to aws-dr's alarm topic.
        VpnTunnelAlarms(
            f"{name}-tunnel-alarms",
            VpnTunnelAlarmsArgs(
                connection_ids=[c.id for c in link.connections],
                tunnel_addresses=[[c.tunnel1_address, c.tunnel2_address] for c in link.connections],
                topic_arn=aws_side.require("alarmTopicArn"),
                tags=common.tags("monitoring"),
            ),
            opts=pulumi.ResourceOptions(providers={"aws": link_aws}),
        )

    replication = None
    if replicating(config) and database and roles and roles.monitor is not None:
        replication = replicate(
            config, database, peers[config.interconnect.peer_stack], cluster, link, roles.monitor, net, accounts.email("replicationLag")
        )
        pulumi.export("replicationLagAccount", replication.lag_account_email)

    monitoring = GcpMonitoring(f"{name}-monitoring", monitoring_args(config, cluster, database, cache, link, replication))
    pulumi.export("notificationChannels", monitoring.channel_ids)
    budget(config, monitoring)
    GcpSlo(
        f"{name}-slo",
        GcpSloArgs(
            project=project,
            objectives=objectives(config.monitoring),
            namespace=config.platform.app_namespace,
            service_name=workload.service_name,
            service_port=config.application.port,
            notification_channels=monitoring.channel_ids,
            labels=common.tags("monitoring"),
        ),
    )

    pulumi.export("projectId", project)
    pulumi.export("region", region)
    pulumi.export("networkSelfLink", network.network_self_link)
    pulumi.export("networkName", network.network_name)
    pulumi.export("subnetCidr", str(net.subnet_cidr))
    pulumi.export("podsCidr", str(net.pods_cidr))
    pulumi.export("servicesCidr", str(net.services_cidr))
    pulumi.export("privateServicesCidr", str(net.private_services_cidr))
    pulumi.export("natRouter", network.router.name)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("clusterDnsEndpoint", cluster.dns_endpoint)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("registryUrl", registry.url)
    pulumi.export("originIp", origin.ip_address)
    pulumi.export("originAddressName", origin.address_name)
    pulumi.export("originHost", origin_dns.hostname)
    pulumi.export("gatewayName", gateway.gateway_name)
    pulumi.export("certificateMapName", certificate.map_name)
    pulumi.export("securityPolicyName", armor.policy_name)
    pulumi.export(ORIGIN_AUTH_SENT_OUTPUT, origin_auth.current)  # secret; the global stack sets it on the zone's requests
    pulumi.export(ORIGIN_AUTH_ACCEPTED_OUTPUT, origin_auth.accepted)  # secret; what Cloud Armor admits (AWS and global read it)
    pulumi.export("appEnvSecretId", app_env.secret_id)
    pulumi.export("appServiceAccount", identity.email)
    pulumi.export("kafkaBootstrapServers", kafka.bootstrap_servers)
    pulumi.export("appNamespace", config.platform.app_namespace)
    pulumi.export("appServiceName", workload.service_name)
    if database:
        pulumi.export("databasePrivateIp", database.private_ip)
        pulumi.export("databaseConnectionName", database.connection_name)
        pulumi.export("databasePassword", database.endpoint.user.password)
        pulumi.export("databaseName", database.database_name)
        pulumi.export("databaseUsername", database.username)
        pulumi.export("databaseAppUsername", roles.app_username)
        pulumi.export("databaseAppMode", "read-only" if writer else "read-write")
    if cache:
        pulumi.export("redisHost", cache.host)


def admitted_images(config: GcpStackConfig) -> list[str]:
    """The images the stack runs outside our registry: the database client, the DR tool and, where the pods
    send mail through AWS, the sidecar that fetches their Google ID token."""
    images = []
    if config.platform.aws_stack:
        images.append(TOKEN_REFRESHER_IMAGE)
    if config.database.enabled:
        images.append(config.database.client_image)
    if config.replication and config.replication.enabled:
        images.append(config.replication.tool_image)
    return images


def replicating(config: GcpStackConfig) -> bool:
    return bool(config.replication and config.replication.enabled and config.database.enabled and config.interconnect)


def replicate(
    config: GcpStackConfig, database, aws_side, cluster, link, monitor: DatabaseUser, net, lag_account: pulumi.Input[str]
) -> ReplicationJobs:
    """RDS -> Cloud SQL subscription as a Job at deploy, and its lag measured every minute, on this stack's GKE.

    The setup Job signs in as each side's admin (it creates the publication, the subscription and the
    heartbeat); the lag CronJob as each side's monitor role, which the roles Jobs create."""
    rds = peer_database(aws_side, DatabaseUser(aws_side.require("databaseUsername"), aws_side.require("databasePassword")))
    return ReplicationJobs(
        f"{config.common.name_prefix}-replication",
        ReplicationJobsArgs(
            project=config.project_id,
            namespace=config.replication.namespace,
            image=config.replication.tool_image,
            lag_threshold_seconds=config.monitoring.replication_lag_seconds,
            lag_account=lag_account,
            publisher=rds,
            subscriber=database.endpoint,
            replication_user=aws_side.require("databaseReplicationUsername"),
            replication_password=aws_side.require("databaseReplicationPassword"),
            publisher_monitor=DatabaseUser(aws_side.require("databaseMonitorUsername"), aws_side.require("databaseMonitorPassword")),
            subscriber_monitor=monitor,
            # PostgreSQL only to the two databases: RDS over the VPN (the AWS VPC) and Cloud SQL (private services access).
            database_cidrs=[str(config.interconnect.peer_vpc_cidr), str(net.private_services_cidr)],
        ),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[cluster, link, database]),
    )


def budget(config: GcpStackConfig, monitoring: GcpMonitoring) -> ProjectBudget:
    """The project's spend budget, its API calls billed to the project itself: with user credentials the
    Billing Budgets API refuses calls that name no billing project (403)."""
    m, name = config.monitoring, f"{config.common.name_prefix}-monitoring"
    billing = gcp.Provider(
        f"{config.common.name_prefix}-billing", project=config.project_id, billing_project=config.project_id, user_project_override=True
    )
    return ProjectBudget(
        name,
        ProjectBudgetArgs(
            project=config.project_id,
            billing_account=m.billing_account,
            monthly_budget_usd=config.common.budget.monthly_usd,
            alert_percents=config.common.budget.alert_percents,
            notification_channels=monitoring.channel_ids,
        ),
        opts=pulumi.ResourceOptions(providers={"gcp": billing}),
    )


def monitoring_args(config: GcpStackConfig, cluster, database, cache, link, replication) -> GcpMonitoringArgs:
    m, common = config.monitoring, config.common
    return GcpMonitoringArgs(
        project=config.project_id,
        emails=m.emails,
        thresholds=alert_thresholds(m),
        public_host=common.public_host,
        labels=common.tags("monitoring"),
        cluster_name=cluster.cluster_name,
        database_instance=database.instance_name if database else None,
        cache_instance_id=cache.instance_id if cache else None,
        replication_lag=replication is not None,
        vpn_tunnels=[t.name for t in link.tunnels] if link else [],
        bgp_peers=[p.name for p in link.bgp_peers] if link else [],
    )


def serve_application(
    config: GcpStackConfig, cluster, network, registry, app_env, identity, database, cache, kafka, mail_sender=None
) -> Application:
    """The CRM pods on GKE; the GKE Gateway in front of the Service is the ingress's concern."""
    common, app, platform, net = config.common, config.application, config.platform, config.network
    name = common.name_prefix
    secrets_operator = ExternalSecretsOperator(
        f"{name}-eso", ExternalSecretsOperatorArgs(), opts=pulumi.ResourceOptions(providers=[cluster.provider])
    )
    # The pods call no Google API themselves: External Secrets reads Secret Manager from its own namespace and
    # the GKE metadata server mints their tokens (Private Google Access serves both from the nodes). Only mail
    # leaves the VPC: AWS STS and SES, over Cloud NAT.
    egress = [Egress("AWS STS and SES APIs (mail through the AWS stack)", 443, cidrs=["0.0.0.0/0"])] if mail_sender else []
    egress += [
        # The GKE metadata server answers Workload Identity token requests for the pod.
        Egress("GKE metadata server", 80, cidrs=["169.254.169.254/32"]),
        Egress("GKE metadata server (Dataplane V2)", 988, cidrs=["169.254.169.252/32"]),
        Egress("Kafka brokers (TLS, SCRAM)", 9093, namespace=kafka.namespace),
    ]
    if database:
        egress.append(Egress("Cloud SQL PostgreSQL", 5432, cidrs=[str(net.private_services_cidr)]))
    if config.interconnect and config.interconnect.peer_vpc_cidr:
        egress.append(Egress("RDS PostgreSQL over the VPN (writes)", 5432, cidrs=[str(config.interconnect.peer_vpc_cidr)]))
    if cache:
        egress.append(Egress("Memorystore Redis (TLS)", 6378, cidrs=[str(net.private_services_cidr)]))
    return Application(
        f"{name}-app",
        ApplicationArgs(
            cloud="gcp",
            namespace=platform.app_namespace,
            service_account=platform.app_service_account,
            identity_annotation=("iam.gke.io/gcp-service-account", identity.email),
            image_repository_url=pulumi.Output.concat(registry.url, "/", app.image_repository),
            **workload_sizing(app),
            secret_store_provider={
                "gcpsm": {
                    "projectID": config.project_id,
                    "auth": {
                        "workloadIdentity": {
                            "clusterLocation": config.region,
                            "clusterName": cluster.cluster_name,
                            "clusterProjectID": config.project_id,
                            "serviceAccountRef": {"name": platform.app_service_account},
                        }
                    },
                }
            },
            app_env_key=app_env.secret_id,
            load_balancer_cidrs=GOOGLE_HEALTH_CHECK_RANGES,
            egress=egress,
            app_env_revision=revision(app_env.payload),
            kafka_ca=(kafka.namespace, kafka.ca_secret_name),
            strict_zone_spread=common.environment != "dev",
            labels=common.tags("application"),
            aws_web_identity=AwsWebIdentity(role_arn=mail_sender.role_arn, audience=GOOGLE_TOKEN_AUDIENCE) if mail_sender else None,
            # 0 until the repository holds the image (components/image_check.py), then the autoscaler's.
            replicas=starting_replicas(
                common.stack, app.image_tag, registry.image_check(app.image_repository, app.image_tag), "run `pulumi up` again"
            ),
        ),
        opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=[secrets_operator.release, identity.binding, kafka]),
    )


def app_env_payload(config: GcpStackConfig, database, cache, kafka, aws_platform, roles=None) -> dict:
    """The application's environment on GCP: its own resources, plus AWS mail and scheduler from the AWS stack.

    Mail goes through the SES API with temporary credentials of a sending-only role the pods assume
    with their Google identity (GoogleMailSender); no AWS key is stored here.
    """
    payload: dict = {
        "CLOUD_PROVIDER": "gcp",  # the value of the X-Cloud-Provider response header
        "SCHEDULER_PROVIDER": "redis-kafka",
        "MESSAGE_PROVIDER": "kafka",
        "APP_PUBLIC_HOST": config.common.public_host,
        **kafka_env(kafka.bootstrap_servers, kafka.app_user, kafka.app_password, SASL_MECHANISM),
    }
    if aws_platform:
        payload.update(
            {
                "AWS_REGION": aws_platform.require("region"),
                "AWS_CONFIGURATION_SET": aws_platform.require("sesConfigurationSet"),
                "AWS_SCHEDULE_ROLE_ARN": aws_platform.require("scheduleRoleArn"),
                "AWS_SCHEDULE_SQS_ARN": aws_platform.require("scheduleQueueArn"),
                "AWS_SCHEDULE_SQS_URL": aws_platform.require("scheduleQueueUrl"),
                "AWS_SCHEDULE_GROUP_NAME": aws_platform.require("scheduleGroupName"),
            }
        )
    if database:
        if aws_platform:
            # Writes go to RDS over the VPN (its private address); reads stay on the local Cloud SQL copy.
            app = DatabaseUser(aws_platform.require("databaseAppUsername"), roles.app.password)
            payload.update(database_env(peer_database(aws_platform, app), reader=database.endpoint))
        else:
            payload.update(database_env(database.endpoint.signed_in_as(roles.app)))
    if cache:
        payload.update(redis_env(cache.endpoint))
    return payload


def peer_database(peer: PeerStack, user: DatabaseUser) -> DatabaseEndpoint:
    """The AWS stack's RDS as its outputs describe it, reached over the VPN as `user`."""
    return DatabaseEndpoint(
        peer.require("databaseAddress"),
        peer.require("databasePort"),
        peer.require("databaseName"),
        user,
        peer.require("databaseCaCertificate"),
    )
