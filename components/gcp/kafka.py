"""Kafka inside GKE: the Strimzi operator from its Helm chart, and a KRaft Kafka cluster it runs.

The chart comes from Strimzi's OCI registry (the https://strimzi.io/charts/ repository is
deprecated). Strimzi 1.x serves only the `kafka.strimzi.io/v1` API and runs KRaft with node pools
by default, so the Kafka resource needs no `strimzi.io/kraft` / `strimzi.io/node-pools`
annotations. The operator watches its release namespace by default; naming that namespace again
in `watchNamespaces` ("additional namespaces") renders its RoleBindings twice and the install fails.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.base import Component, ready_after

STRIMZI_CHART = "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
STRIMZI_API = "kafka.strimzi.io/v1"
LISTENER_PORT = 9093
SASL_MECHANISM = "SCRAM-SHA-512"
# What the application does with its topics: no Create, Delete, Alter or AlterConfigs.
APP_TOPIC_OPERATIONS = ("Describe", "Read", "Write")
# Ready for the KafkaUser's current generation: pulumi-kubernetes' jsonpath wait first requires
# status.observedGeneration to have reached metadata.generation (provider/pkg/await/condition/jsonpath.go).
USER_READY = 'jsonpath={.status.conditions[?(@.type=="Ready")].status}=True'
PASSWORD_REVISION = "crm/password-revision"


def password_revision(password: pulumi.Input[str]) -> pulumi.Output[str]:
    """16 hex digits of SHA-256 over a 32-character random password: new with every password, revealing nothing."""
    return pulumi.Output.unsecret(pulumi.Output.from_input(password).apply(lambda text: hashlib.sha256(text.encode()).hexdigest()[:16]))


def topic_resource_name(topic: str) -> str:
    """A KafkaTopic's metadata.name: a DNS subdomain (the topic name itself goes in spec.topicName)."""
    return re.sub(r"[^a-z0-9.-]", "-", topic.lower()).strip(".-")[:253]


@dataclass
class KafkaOnGkeArgs:
    brokers: int = 3
    chart_version: str = "1.2.0"
    kafka_version: str = "4.3.1"
    namespace: str = "kafka"
    cluster_name: str = "crm"
    volume_size: str = "100Gi"
    app_user: str = "crm-app"
    app_topic_prefix: str = "crm."
    app_group_prefix: str = "crm"
    # Topics the platform creates (KafkaTopic); the application may not create, delete or alter any.
    topics: Sequence[str] = field(default_factory=list)
    topic_partitions: int = 6
    rotation: Mapping[str, str] | None = None  # keepers of the application's SCRAM password (crm:rotation)
    # Who may open the listener: pods matching `client_pod_labels` in `client_namespace` (Strimzi's networkPolicyPeers).
    # None: any pod in the cluster (Strimzi's default policy).
    client_namespace: str | None = None
    client_pod_labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        outside = [t for t in self.topics if not t.startswith(self.app_topic_prefix)]
        if outside:
            raise ValueError(f"topics {outside} are outside the application's prefix '{self.app_topic_prefix}'")


class KafkaOnGke(Component):
    """Three dual-role KRaft nodes with one internal listener: TLS on 9093, SCRAM-SHA-512 users, ACLs.

    There is no plaintext listener. The application's KafkaUser may only describe, read and write
    topics starting with `app_topic_prefix` (never create, delete or alter them: the platform
    creates `topics` as KafkaTopic resources) and use consumer groups starting with `app_group_prefix`. Its password is
    generated here (like the database passwords) so the stack can hand it to the app in `app_env`;
    the User Operator sets it on the broker from the Secret named in the KafkaUser. The brokers'
    certificates are signed by Strimzi's cluster CA, whose certificate Strimzi keeps in the Secret
    `<cluster>-cluster-ca-cert` (`ca_secret_name`); the app gets it from there (see
    components/kubernetes/application.py, `kafka_ca`).

    Traffic stays inside the cluster (Dataplane V2 network policy applies); topics default to
    replication factor 3 with min.insync.replicas 2, so one broker can be lost without losing writes.
    """

    app_password: pulumi.Output[str]
    app_user: str
    bootstrap_servers: str
    ca_secret_name: str
    namespace: str

    def __init__(self, name: str, args: KafkaOnGkeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:KafkaOnGke", name, None, opts)
        self.require_provider("kubernetes")  # the cluster's, in opts.providers
        # Deleting the namespace deletes the Kafka resources and volume claims in it: stateful like them.
        namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": args.namespace}, opts=self.stateful())
        operator = k8s.helm.v3.Release(
            f"{name}-strimzi",
            name="strimzi",
            chart=STRIMZI_CHART,
            version=args.chart_version,
            namespace=args.namespace,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        # The Kafka cluster and its node pool own the brokers' volumes, the topics their messages: stateful, protected
        # with the stack (deleting the Kafka or KafkaNodePool resource makes Strimzi remove the brokers).
        after_operator = self.stateful(depends_on=[operator])
        labels = {"strimzi.io/cluster": args.cluster_name}
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-nodes",
            api_version=STRIMZI_API,
            kind="KafkaNodePool",
            metadata={"name": "brokers", "namespace": args.namespace, "labels": labels},
            spec={
                "replicas": args.brokers,
                "roles": ["controller", "broker"],
                "storage": {
                    "type": "jbod",
                    "volumes": [{"id": 0, "type": "persistent-claim", "size": args.volume_size, "deleteClaim": False}],
                },
            },
            opts=after_operator,
        )
        replication = min(3, args.brokers)
        self.kafka = k8s.apiextensions.CustomResource(
            f"{name}-kafka",
            api_version=STRIMZI_API,
            kind="Kafka",
            metadata={"name": args.cluster_name, "namespace": args.namespace},
            spec={
                "kafka": {
                    "version": args.kafka_version,
                    "listeners": [
                        {
                            "name": "tls",
                            "port": LISTENER_PORT,
                            "type": "internal",
                            "tls": True,
                            "authentication": {"type": "scram-sha-512"},
                            **self._peers(args),
                        }
                    ],
                    "authorization": {"type": "simple"},
                    "config": {
                        "default.replication.factor": replication,
                        "min.insync.replicas": max(1, replication - 1),
                        "offsets.topic.replication.factor": replication,
                        "transaction.state.log.replication.factor": replication,
                        "transaction.state.log.min.isr": max(1, replication - 1),
                        "auto.create.topics.enable": False,
                    },
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
            opts=self.stateful(depends_on=[operator, self.node_pool]),
        )
        self.bootstrap_servers = f"{args.cluster_name}-kafka-bootstrap.{args.namespace}.svc.cluster.local:{LISTENER_PORT}"
        self.namespace = args.namespace
        self.ca_secret_name = f"{args.cluster_name}-cluster-ca-cert"
        self.app_user = args.app_user
        app_password = random.RandomPassword(
            f"{name}-app-password",
            length=32,
            special=False,
            keepers=dict(args.rotation) if args.rotation else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        password_secret = k8s.core.v1.Secret(
            f"{name}-app-password",
            metadata={"name": f"{args.app_user}-password", "namespace": args.namespace},
            type="Opaque",
            string_data={"password": app_password.result},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace], additional_secret_outputs=["stringData", "data"]),
        )
        self.user = k8s.apiextensions.CustomResource(
            f"{name}-app-user",
            api_version=STRIMZI_API,
            kind="KafkaUser",
            metadata={
                "name": args.app_user,
                "namespace": args.namespace,
                "labels": labels,
                # Counts as updated once the User Operator has reconciled this generation and set the password.
                "annotations": {"pulumi.com/waitFor": USER_READY},
            },
            spec={
                # The User Operator reads a supplied password only when it reconciles the KafkaUser: on a change of
                # the KafkaUser itself, else at its periodic full reconcile (every 2 minutes). A digest of the
                # password here makes every new password a new generation, reconciled at once.
                "template": {"secret": {"metadata": {"annotations": {PASSWORD_REVISION: password_revision(app_password.result)}}}},
                "authentication": {
                    "type": "scram-sha-512",
                    "password": {"valueFrom": {"secretKeyRef": {"name": f"{args.app_user}-password", "key": "password"}}},
                },
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {
                            "resource": {"type": "topic", "name": args.app_topic_prefix, "patternType": "prefix"},
                            "operations": list(APP_TOPIC_OPERATIONS),
                        },
                        {
                            "resource": {"type": "group", "name": args.app_group_prefix, "patternType": "prefix"},
                            "operations": ["Describe", "Read"],
                        },
                    ],
                },
            },
            # Created with the cluster: the User Operator reconciles it once the brokers and the entity operator
            # are up, which on a first deploy takes longer than the provider's default ten minutes.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.kafka, password_secret], custom_timeouts=pulumi.CustomTimeouts(create="30m")
            ),
        )
        # What the application is given: the password once the broker accepts it, so pods roll to it only then.
        self.app_password = pulumi.Output.secret(ready_after(app_password.result, self.user))
        # The Topic Operator creates these on the brokers; ACLs leave the application no way to create its own.
        self.topics = [
            k8s.apiextensions.CustomResource(
                f"{name}-topic-{topic_resource_name(topic)}",
                api_version=STRIMZI_API,
                kind="KafkaTopic",
                metadata={"name": topic_resource_name(topic), "namespace": args.namespace, "labels": labels},
                spec={
                    "topicName": topic,
                    "partitions": args.topic_partitions,
                    "replicas": replication,
                    "config": {"min.insync.replicas": max(1, replication - 1)},
                },
                # Strimzi's Topic Operator deletes a topic (and its messages) with its KafkaTopic resource: a topic
                # left out of crm:platform.kafkaTopics is only forgotten by Pulumi, the resource and topic stay.
                opts=self.stateful(depends_on=[self.kafka], retain_on_delete=True),
            )
            for topic in args.topics
        ]
        self.register_outputs({"bootstrapServers": self.bootstrap_servers, "appPassword": pulumi.Output.secret(self.app_password)})

    @staticmethod
    def _peers(args: KafkaOnGkeArgs) -> dict:
        """The listener's NetworkPolicy peers: Strimzi writes them into the policy it keeps for the brokers."""
        if args.client_namespace is None:
            return {}
        peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.client_namespace}}}
        if args.client_pod_labels:
            peer["podSelector"] = {"matchLabels": dict(args.client_pod_labels)}
        return {"networkPolicyPeers": [peer]}
