"""The CRM application on a Kubernetes cluster, the same on EKS and GKE.

What differs per cloud comes in as arguments: the service account's identity annotation (IRSA role
or Google service account), the External Secrets provider block that reads `app_env` with that
identity, the load balancer's source ranges, the egress the app needs, and (EKS only) the ALB
target group the pods are registered in through a TargetGroupBinding.

The pod reads its whole environment from one Kubernetes Secret that External Secrets Operator
keeps in sync with the cloud secret (`envFrom`), so `app_env` values exist only in the cloud
secret store and the cluster: the stack never copies them into a Kubernetes resource of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.base import Component

ESO_API = "external-secrets.io/v1"
TGB_API = "elbv2.k8s.aws/v1beta1"
# What the AWS Load Balancer Controller's webhook refuses to change on a TargetGroupBinding (v3.5.0,
# webhooks/elbv2/targetgroupbinding_validator.go, checkImmutableFields).
TGB_IMMUTABLE_FIELDS = ("targetGroupARN", "targetType", "vpcID", "ipAddressType")
# Those of them whose change replaces the binding. vpcID and ipAddressType follow the target group
# (a new VPC or IP type is a new group, so a new ARN) and the webhook accepts them written with the
# values its mutating webhook set at create: a binding deployed before the program wrote them gains
# them in place, where replacing it on their "change" would deregister the pods (a 503 meanwhile).
TGB_REPLACING_FIELDS = ("targetGroupARN", "targetType")
SERVICE_PORT_NAME = "http"
APP_ENV_SECRET = "app-env"
KAFKA_CA_SECRET = "kafka-ca"
SERVICE_NAME = "crm"  # the Deployment, Service, autoscaler and budget share it
POD_LABELS = {"app.kubernetes.io/name": SERVICE_NAME, "app.kubernetes.io/component": "api"}  # what selects the app's pods
CLOUDS = ("aws", "gcp")
# Kubelet probes and the cluster DNS service, found the same way on EKS (CoreDNS) and GKE (kube-dns).
DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


@dataclass(frozen=True)
class Egress:
    """One destination the pods may open connections to: address ranges, or pods of a namespace."""

    purpose: str
    port: int
    cidrs: Sequence[str] = ()
    namespace: str | None = None
    protocol: str = "TCP"

    def __post_init__(self) -> None:
        if bool(self.cidrs) == bool(self.namespace):
            raise ValueError(f"egress '{self.purpose}' needs either address ranges or a namespace")


# The databases' CA bundles (app_env keys DATABASE_CA_CERT, DATABASE_READER_CA_CERT) as files, where the
# JDBC URLs' sslrootcert names them: pgJDBC verifies the server only against a file.
DATABASE_CA_DIR = "/etc/crm/database-tls"
DATABASE_CA_FILES = {"DATABASE_CA_CERT": "writer-ca.pem", "DATABASE_READER_CA_CERT": "reader-ca.pem"}

TOKEN_DIR = "/var/run/secrets/aws"
TOKEN_FILE = f"{TOKEN_DIR}/token"
# A small, pinned image with a shell and curl; it only asks the metadata server for a token.
TOKEN_REFRESHER_IMAGE = "docker.io/curlimages/curl:8.11.1"
# Google ID tokens live for an hour; fetching every 20 minutes leaves the AWS SDK a fresh one
# whenever it refreshes its credentials, and a failed fetch is retried well before expiry.
TOKEN_REFRESH_SECONDS = 1200


@dataclass(frozen=True)
class TargetGroup:
    """The ALB target group the pods are registered in (EKS), as its TargetGroupBinding must name it.

    The AWS Load Balancer Controller's webhook refuses any change of a binding's `targetGroupARN`,
    `targetType`, `vpcID` or `ipAddressType`, and its mutating webhook fills the last two only when a
    binding is created; a later server-side apply that leaves them out would remove them, which the
    webhook refuses too. So all four are written here, and a new target group means a new binding.
    """

    arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    protocol: str = "HTTP"
    ip_address_type: str = "ipv4"


@dataclass(frozen=True)
class AwsWebIdentity:
    """AWS credentials for a pod outside AWS: the AWS SDKs' web-identity provider reads a Google-signed
    ID token from a file (AWS_WEB_IDENTITY_TOKEN_FILE) and exchanges it for the role's temporary keys.

    A sidecar keeps the file fresh from the GKE metadata server, which signs tokens for the pod's
    Workload Identity service account.
    """

    role_arn: pulumi.Input[str]
    audience: str
    image: str = TOKEN_REFRESHER_IMAGE


@dataclass
class ApplicationArgs:
    cloud: str
    namespace: str
    service_account: str
    identity_annotation: tuple[str, pulumi.Input[str]]
    image_repository_url: pulumi.Input[str]
    image_tag: str
    health_path: str
    secret_store_provider: pulumi.Input[Mapping[str, Any]]
    app_env_key: pulumi.Input[str]
    load_balancer_cidrs: Sequence[str]
    egress: Sequence[Egress]
    port: int = 8080
    min_replicas: int = 2
    max_replicas: int = 6
    cpu_request: str = "250m"
    cpu_limit: str = "1"
    memory_request: str = "512Mi"
    memory_limit: str = "1Gi"
    target_cpu_percent: int = 70
    target_group: TargetGroup | None = None
    kafka_ca: tuple[str, str] | None = None  # (namespace, Secret) holding the Kafka cluster CA certificate `ca.crt`
    strict_zone_spread: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    aws_web_identity: AwsWebIdentity | None = None
    # A digest of app_env's contents (stacks/app_env.py `revision`): when it changes, the ExternalSecret is
    # re-synced at once (ESO's force-sync annotation) and the pods roll, so rotated credentials are used in the same deploy.
    app_env_revision: pulumi.Input[str] | None = None
    # EKS security groups for pods: a SecurityGroupPolicy gives the app's pods these groups (docs/data-stores.md).
    pod_security_group_ids: Sequence[pulumi.Input[str]] = ()
    # None: the autoscaler owns the replica count (the Deployment leaves `replicas` unset). 0: the workload is held at
    # zero (its image is not in the registry yet, components/image_check.py). Kubernetes' autoscaler stays inactive
    # while a target has zero replicas ("implicit maintenance-mode deactivation",
    # https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#implicit-maintenance-mode-deactivation),
    # and pulumi-kubernetes' await passes a Deployment of zero replicas and a Service without endpoints at once. When the
    # field is dropped again, server-side apply removes the value only Pulumi set and the API server defaults it to 1,
    # from which the autoscaler scales to minReplicas
    # (https://kubernetes.io/docs/reference/using-api/server-side-apply/#transferring-ownership).
    replicas: pulumi.Input[int | None] | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.cloud not in CLOUDS:
            problems.append(f"cloud must be one of {', '.join(CLOUDS)}, got '{self.cloud}'")
        if not self.load_balancer_cidrs:
            problems.append("the load balancer's source ranges are required: without them the default-deny policy drops all traffic")
        if "0.0.0.0/0" in self.load_balancer_cidrs:
            problems.append("the pods admit the load balancer only; 0.0.0.0/0 is not a load balancer range")
        if not self.health_path.startswith("/"):
            problems.append(f"health_path must be an absolute path, got '{self.health_path}'")
        if not self.image_tag or self.image_tag == "latest":
            problems.append("image_tag must name a release (not empty, not 'latest')")
        if self.min_replicas > self.max_replicas:
            problems.append(f"min_replicas {self.min_replicas} exceeds max_replicas {self.max_replicas}")
        if isinstance(self.replicas, int) and self.replicas != 0:
            problems.append(f"replicas is 0 (held until the image exists) or None (the autoscaler's), got {self.replicas}")
        if self.aws_web_identity is not None and self.cloud != "gcp":
            problems.append("aws_web_identity is for pods outside AWS; on EKS the service account's IAM role (IRSA) gives credentials")
        if problems:
            raise ValueError("; ".join(problems))


def security_group_policy(
    name: str,
    namespace: str,
    policy_name: str,
    selector: Mapping[str, str],
    group_ids: Sequence[pulumi.Input[str]],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """An EKS SecurityGroupPolicy: pods matching `selector` in `namespace` get exactly `group_ids` on their own ENI."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version="vpcresources.k8s.aws/v1beta1",
        kind="SecurityGroupPolicy",
        metadata={"name": policy_name, "namespace": namespace, "labels": dict(labels)},
        spec={"podSelector": {"matchLabels": dict(selector)}, "securityGroups": {"groupIds": list(group_ids)}},
        opts=opts,
    )


class Application(Component):
    """Namespace, identity-bound service account, Deployment, Service, autoscaler, disruption budget,
    default-deny network policy with the app's own allowances, and app_env synced from the cloud.

    Pass the External Secrets Operator release in `opts.depends_on`: the SecretStore and
    ExternalSecret are its custom resources and wait for it.
    """

    def __init__(self, name: str, args: ApplicationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:kubernetes:Application", name, None, opts)
        self.require_provider("kubernetes")  # the cluster's, in opts.providers
        on_cluster = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        self.labels = dict(POD_LABELS)
        labels = {**dict(args.labels), **self.labels, "app.kubernetes.io/managed-by": "pulumi"}

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": ns, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
            opts=on_cluster,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        key, identity = args.identity_annotation
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": args.service_account, "namespace": ns, "labels": labels, "annotations": {key: identity}},
            opts=in_namespace,
        )

        operator = self.waits_for
        after_operator = pulumi.ResourceOptions(parent=self, depends_on=[self.service_account, *operator])
        self.secret_store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store",
            api_version=ESO_API,
            kind="SecretStore",
            metadata={"name": f"{args.cloud}-app-env", "namespace": ns, "labels": labels},
            spec={"provider": args.secret_store_provider},
            opts=after_operator,
        )
        self.external_secret = k8s.apiextensions.CustomResource(
            f"{name}-app-env",
            api_version=ESO_API,
            kind="ExternalSecret",
            metadata={
                "name": APP_ENV_SECRET,
                "namespace": ns,
                "labels": labels,
                **({"annotations": {"force-sync": args.app_env_revision}} if args.app_env_revision is not None else {}),
            },
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": f"{args.cloud}-app-env", "kind": "SecretStore"},
                "target": {"name": APP_ENV_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "dataFrom": [{"extract": {"key": args.app_env_key, "conversionStrategy": "Default", "decodingStrategy": "None"}}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.service_account, *operator]),
        )

        synced = [self.external_secret]
        if args.pod_security_group_ids:
            # Before the Deployment: the VPC resource controller assigns groups when a pod is created.
            synced.append(
                security_group_policy(f"{name}-pod-sg", ns, SERVICE_NAME, self.labels, args.pod_security_group_ids, labels, in_namespace)
            )
        if args.kafka_ca is not None:
            synced.append(self._kafka_ca(name, args, labels, operator))

        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": labels},
            spec=self._deployment_spec(args, labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.service_account, *synced]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": self.labels,
                "ports": [{"name": SERVICE_PORT_NAME, "port": args.port, "targetPort": args.port, "protocol": "TCP"}],
            },
            opts=in_namespace,
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": labels},
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": SERVICE_NAME},
                "minReplicas": args.min_replicas,
                "maxReplicas": args.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": args.target_cpu_percent}},
                    }
                ],
            },
            opts=in_namespace,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": labels},
            spec={"maxUnavailable": 1, "selector": {"matchLabels": self.labels}},
            opts=in_namespace,
        )
        self._network_policies(name, args, labels, in_namespace)

        self.target_group_binding = None
        if args.target_group is not None:
            self.target_group_binding = self._target_group_binding(name, args.target_group, ns, labels, operator)

        self.service_name = SERVICE_NAME
        self.register_outputs({"namespace": ns, "serviceName": self.service_name, "port": args.port})

    def _target_group_binding(
        self, name: str, group: TargetGroup, ns: str, labels: dict, operator: list
    ) -> k8s.apiextensions.CustomResource:
        """The pods' registration in the ALB target group, made by the AWS Load Balancer Controller.

        - A replaced target group (a new port, say) replaces the binding: the controller's webhook refuses
          to change `targetGroupARN` in place. The binding's name is fixed (a deployed binding renamed would
          be created beside itself on the same target group, which the webhook refuses), so the old one goes
          first (delete before replace); the listener moves
          to the new group only once this binding exists and the controller has registered the pods in it
          (`pulumi.com/waitFor` its first reconcile, `status.observedGeneration`), see PublicLoadBalancer.
        - `serviceRef.port` names the Service's port, not its number: while the pods roll to a new port the
          binding still in place follows them, so the group the listener forwards to keeps ready targets.
        """
        return k8s.apiextensions.CustomResource(
            f"{name}-tgb",
            api_version=TGB_API,
            kind="TargetGroupBinding",
            metadata={
                "name": SERVICE_NAME,
                "namespace": ns,
                "labels": labels,
                "annotations": {"pulumi.com/waitFor": "jsonpath={.status.observedGeneration}"},
            },
            spec={
                "targetGroupARN": group.arn,
                "targetType": "ip",
                "vpcID": group.vpc_id,
                "ipAddressType": group.ip_address_type,
                "targetGroupProtocol": group.protocol,
                "serviceRef": {"name": SERVICE_NAME, "port": SERVICE_PORT_NAME},
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                # Registered pods are ready pods: on a first deploy the binding waits for the rollout.
                depends_on=[self.service, self.deployment, *operator],
                replace_on_changes=[f"spec.{field}" for field in TGB_REPLACING_FIELDS],
                delete_before_replace=True,
            ),
        )

    def _deployment_spec(self, args: ApplicationArgs, labels: dict) -> dict:
        probe = {"httpGet": {"path": args.health_path, "port": args.port, "scheme": "HTTP"}}
        container = {
            "name": SERVICE_NAME,
            "image": pulumi.Output.format("{0}:{1}", args.image_repository_url, args.image_tag),
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": args.port, "protocol": "TCP"}],
            # CLOUD_PROVIDER is also in app_env; set here too so the X-Cloud-Provider header never depends on a sync.
            "env": [{"name": "CLOUD_PROVIDER", "value": args.cloud}]
            + (
                [{"name": "KAFKA_CA_CERT", "valueFrom": {"secretKeyRef": {"name": KAFKA_CA_SECRET, "key": "ca.crt"}}}]
                if args.kafka_ca
                else []
            ),
            "envFrom": [{"secretRef": {"name": APP_ENV_SECRET}}],
            "readinessProbe": {**probe, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
            "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 20, "timeoutSeconds": 3, "failureThreshold": 3},
            "resources": {
                "requests": {"cpu": args.cpu_request, "memory": args.memory_request},
                "limits": {"cpu": args.cpu_limit, "memory": args.memory_limit},
            },
            "securityContext": {
                "privileged": False,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "database-tls", "mountPath": DATABASE_CA_DIR, "readOnly": True},
            ],
        }
        volumes: list[dict] = [
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            {
                # From the same synced Secret as the environment; `optional`: a stack without a database has no CA keys.
                "name": "database-tls",
                "secret": {
                    "secretName": APP_ENV_SECRET,
                    "items": [{"key": key, "path": path} for key, path in DATABASE_CA_FILES.items()],
                    "optional": True,
                    "defaultMode": 0o444,
                },
            },
        ]
        init_containers: list[dict] = []
        if args.aws_web_identity is not None:
            federation = args.aws_web_identity
            container["env"] += [
                {"name": "AWS_ROLE_ARN", "value": federation.role_arn},
                {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE},
                {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
            ]
            container["volumeMounts"].append({"name": "aws-token", "mountPath": TOKEN_DIR, "readOnly": True})
            volumes.append({"name": "aws-token", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}})
            init_containers.append(_token_refresher(federation))
        return {
            **({"replicas": args.replicas} if args.replicas is not None else {}),
            "selector": {"matchLabels": self.labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels,
                    **({"annotations": {"crm/app-env-revision": args.app_env_revision}} if args.app_env_revision is not None else {}),
                },
                "spec": {
                    "serviceAccountName": args.service_account,
                    "hostNetwork": False,
                    "hostPID": False,
                    "hostIPC": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "DoNotSchedule" if args.strict_zone_spread else "ScheduleAnyway",
                            "labelSelector": {"matchLabels": self.labels},
                        }
                    ],
                    **({"initContainers": init_containers} if init_containers else {}),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        }

    def _kafka_ca(self, name: str, args: ApplicationArgs, labels: dict, operator: list) -> k8s.apiextensions.CustomResource:
        """Copies the Kafka cluster CA certificate (public) from Kafka's namespace into the app's.

        The operator reads it as the app's service account, which may get exactly that one Secret.
        """
        kafka_ns, secret = args.kafka_ca
        # Kafka's namespace comes from the Kafka component: pass it in `opts.depends_on` too.
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=list(operator))
        role = k8s.rbac.v1.Role(
            f"{name}-kafka-ca-reader",
            metadata={"name": f"{args.namespace}-kafka-ca-reader", "namespace": kafka_ns, "labels": labels},
            rules=[{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret], "verbs": ["get", "list", "watch"]}],
            opts=on_cluster,
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-kafka-ca-reader",
            metadata={"name": f"{args.namespace}-kafka-ca-reader", "namespace": kafka_ns, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{args.namespace}-kafka-ca-reader"},
            subjects=[{"kind": "ServiceAccount", "name": args.service_account, "namespace": args.namespace}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, *operator]),
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.service_account, binding, *operator])
        k8s.apiextensions.CustomResource(
            f"{name}-kafka-store",
            api_version=ESO_API,
            kind="SecretStore",
            metadata={"name": "kafka-ca", "namespace": args.namespace, "labels": labels},
            spec={
                "provider": {
                    "kubernetes": {
                        "remoteNamespace": kafka_ns,
                        "server": {"caProvider": {"type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt"}},
                        "auth": {"serviceAccount": {"name": args.service_account}},
                    }
                }
            },
            opts=after,
        )
        return k8s.apiextensions.CustomResource(
            f"{name}-kafka-ca",
            api_version=ESO_API,
            kind="ExternalSecret",
            metadata={"name": KAFKA_CA_SECRET, "namespace": args.namespace, "labels": labels},
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "kafka-ca", "kind": "SecretStore"},
                "target": {"name": KAFKA_CA_SECRET, "creationPolicy": "Owner"},
                "data": [{"secretKey": "ca.crt", "remoteRef": {"key": secret, "property": "ca.crt"}}],
            },
            opts=after,
        )

    def _network_policies(self, name: str, args: ApplicationArgs, labels: dict, opts: pulumi.ResourceOptions) -> None:
        ns = args.namespace
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={"name": "default-deny", "namespace": ns, "labels": labels},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=opts,
        )
        egress = [{"to": [DNS_PEER], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]
        for rule in args.egress:
            if rule.namespace:
                peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": rule.namespace}}}]
            else:
                peers = [{"ipBlock": {"cidr": cidr}} for cidr in rule.cidrs]
            egress.append({"to": peers, "ports": [{"protocol": rule.protocol, "port": rule.port}]})
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-allow",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": labels},
            spec={
                "podSelector": {"matchLabels": self.labels},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [{"ipBlock": {"cidr": cidr}} for cidr in args.load_balancer_cidrs],
                        "ports": [{"protocol": "TCP", "port": args.port}],
                    }
                ],
                "egress": egress,
            },
            opts=opts,
        )


def _token_refresher(federation: AwsWebIdentity) -> dict:
    """A native sidecar (an init container that keeps running): the app container starts only once
    the first token is on disk (startup probe), and the token is refreshed for the pod's lifetime."""
    url = (
        "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity"
        f"?audience={federation.audience}&format=full"
    )
    # The token goes from curl to a file, never through argv or the log; mv makes each update atomic.
    script = (
        f'while true; do if curl -sSf -H "Metadata-Flavor: Google" -o {TOKEN_FILE}.new "{url}"; '
        f"then mv -f {TOKEN_FILE}.new {TOKEN_FILE}; sleep {TOKEN_REFRESH_SECONDS}; else sleep 5; fi; done"
    )
    return {
        "name": "aws-token",
        "image": federation.image,
        "restartPolicy": "Always",
        "command": ["/bin/sh", "-c", script],
        "startupProbe": {"exec": {"command": ["test", "-s", TOKEN_FILE]}, "periodSeconds": 2, "failureThreshold": 60},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
        "securityContext": {
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "aws-token", "mountPath": TOKEN_DIR}],
    }
