"""The application's identity on GKE: a Google service account bound to its Kubernetes service account.

The Google account is bootstrap's (components/bootstrap/deploy_permissions.py GCP_ESTATE_ACCOUNTS): the
deploy account may set the allow policy of that account alone, not of every account in the project."""

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
    google_account: pulumi.Input[str]  # the Google service account's email (bootstrap's: it exists before this stack)


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
        member = f"serviceAccount:{args.project}.svc.id.goog[{args.namespace}/{args.service_account}]"
        self.binding = gcp.serviceaccount.IAMMember(
            f"{name}-wi",
            service_account_id=pulumi.Output.concat("projects/", args.project, "/serviceAccounts/", args.google_account),
            role="roles/iam.workloadIdentityUser",
            member=member,
            opts=after_pool,
        )
        self.secret_access = gcp.secretmanager.SecretIamMember(
            f"{name}-app-env",
            project=args.project,
            secret_id=args.app_env_secret_id,
            role="roles/secretmanager.secretAccessor",
            member=pulumi.Output.concat("serviceAccount:", args.google_account),
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
                    "annotations": {"iam.gke.io/gcp-service-account": args.google_account},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
        self.email = pulumi.Output.from_input(args.google_account)
        # Its numeric id, the `sub` of the ID tokens Google signs for it: read from the account (it exists already).
        account = gcp.serviceaccount.get_account_output(
            account_id=args.google_account, project=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.unique_id = account.unique_id
        self.register_outputs({"email": self.email, "uniqueId": self.unique_id})
