"""The application's identity on GKE: a Google service account bound to its Kubernetes service account."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.base import Component


@dataclass
class WorkloadIdentityArgs:
    project: str
    namespace: str
    service_account: str
    app_env_secret_id: pulumi.Input[str]


class WorkloadIdentity(Component):
    """The `PROJECT.svc.id.goog` pool named in the binding only exists once a Workload Identity
    cluster does: pass that cluster in `opts.depends_on`, and the binding waits for it.
    """

    binding: gcp.serviceaccount.IAMMember
    email: pulumi.Output[str]
    unique_id: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:WorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        after_pool = pulumi.ResourceOptions(parent=self, depends_on=self.waits_for)
        self.account = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=f"{name}"[:30],
            project=args.project,
            display_name="CRM application (Workload Identity)",
            opts=child,
        )
        member = f"serviceAccount:{args.project}.svc.id.goog[{args.namespace}/{args.service_account}]"
        self.binding = gcp.serviceaccount.IAMMember(
            f"{name}-wi",
            service_account_id=self.account.name,
            role="roles/iam.workloadIdentityUser",
            member=member,
            opts=after_pool,
        )
        self.secret_access = gcp.secretmanager.SecretIamMember(
            f"{name}-app-env",
            project=args.project,
            secret_id=args.app_env_secret_id,
            role="roles/secretmanager.secretAccessor",
            member=self.account.email.apply(lambda e: f"serviceAccount:{e}"),
            opts=child,
        )
        if self.get_provider("kubernetes::") is not None:  # the cluster's, in opts.providers
            on_cluster = pulumi.ResourceOptions(parent=self)
            namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": args.namespace}, opts=on_cluster)
            k8s.core.v1.ServiceAccount(
                f"{name}-ksa",
                metadata={
                    "name": args.service_account,
                    "namespace": args.namespace,
                    "annotations": {"iam.gke.io/gcp-service-account": self.account.email},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
        self.email = self.account.email
        self.unique_id = self.account.unique_id  # the `sub` of the ID tokens Google signs for this account
        self.register_outputs({"email": self.email, "uniqueId": self.unique_id})
