"""The Google APIs a stack needs, derived from the resource types it creates, and enabled by the stack itself.

`SERVICES` is the one table: a Pulumi type (or a whole module, `gcp:compute/`) -> the services its
create calls go to, each row with its source. `ProjectServices` enables them in the project
(`gcp.projects.Service`, never disabled on destroy: another stack or a person may rely on them)
and, registered as a stack transformation, makes every `gcp:` resource depend on the services its
type needs, including resources created inside components. A `gcp:` type without a row stops the
program: a new resource type needs its row before it can be deployed.

Some APIs are client-based: Google bills their calls to the caller's project (the deploy service
account's own project, or the person's application-default quota project), not to the project the
resources are in (`CLIENT_BASED`). The stack enables them in its own project (for a provider whose
`user_project_override` bills calls there) and bootstrap enables them in the CI project, where the
deploy account lives. Two of them must be on in the caller's project before anything can be
enabled at all (`BEFORE_ANYTHING`): a person enables those once, with the command
docs/prerequisites.md lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import Component

SERVICE_TYPE = "gcp:projects/service:Service"
QUOTA_PROJECT_SOURCE = "https://cloud.google.com/docs/quotas/quota-project#client-based-apis"


@dataclass(frozen=True)
class ServiceRow:
    """`match`: an exact type token, or a module prefix ending in `/` (every type of that module)."""

    match: str
    services: tuple[str, ...]
    source: str
    why: str = ""

    def matches(self, type_: str) -> bool:
        return type_ == self.match or (self.match.endswith("/") and type_.startswith(self.match))


# The REST reference of each API names its host: the service to enable. Exact types come before their module.
SERVICES: tuple[ServiceRow, ...] = (
    ServiceRow(
        "gcp:container/cluster:Cluster",
        ("container.googleapis.com", "iamcredentials.googleapis.com"),
        "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#before_you_begin",
        "GKE, and Workload Identity (`workload_identity_config`): pods get Google tokens through the IAM Service Account Credentials API",
    ),
    ServiceRow("gcp:container/", ("container.googleapis.com",), "https://cloud.google.com/kubernetes-engine/docs/reference/rest"),
    ServiceRow("gcp:compute/", ("compute.googleapis.com",), "https://cloud.google.com/compute/docs/reference/rest/v1"),
    ServiceRow(
        "gcp:servicenetworking/",
        ("servicenetworking.googleapis.com", "compute.googleapis.com"),
        "https://cloud.google.com/vpc/docs/configure-private-services-access#before-you-begin",
        "the private services connection peers the VPC (Compute Engine)",
    ),
    ServiceRow("gcp:sql/", ("sqladmin.googleapis.com",), "https://cloud.google.com/sql/docs/postgres/admin-api/rest"),
    ServiceRow("gcp:redis/", ("redis.googleapis.com",), "https://cloud.google.com/memorystore/docs/redis/reference/rest"),
    ServiceRow(
        "gcp:artifactregistry/", ("artifactregistry.googleapis.com",), "https://cloud.google.com/artifact-registry/docs/reference/rest"
    ),
    ServiceRow("gcp:secretmanager/", ("secretmanager.googleapis.com",), "https://cloud.google.com/secret-manager/docs/reference/rest"),
    ServiceRow("gcp:kms/", ("cloudkms.googleapis.com",), "https://cloud.google.com/kms/docs/reference/rest"),
    ServiceRow(
        "gcp:serviceaccount/", ("iam.googleapis.com",), "https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts"
    ),
    ServiceRow(
        "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
        ("iam.googleapis.com", "sts.googleapis.com", "iamcredentials.googleapis.com"),
        "https://cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines#prepare",
        "GitHub's tokens are exchanged at the Security Token Service, then impersonate through IAM Credentials",
    ),
    ServiceRow("gcp:iam/", ("iam.googleapis.com",), "https://cloud.google.com/iam/docs/reference/rest"),
    ServiceRow(
        "gcp:projects/iAMMember:IAMMember",
        ("cloudresourcemanager.googleapis.com",),
        "https://cloud.google.com/resource-manager/reference/rest/v1/projects/setIamPolicy",
    ),
    ServiceRow(
        "gcp:projects/defaultServiceAccounts:DefaultServiceAccounts",
        ("cloudresourcemanager.googleapis.com", "iam.googleapis.com"),
        "https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/project_default_service_accounts",
        "lists the project's default accounts (IAM) and removes their project roles (Resource Manager)",
    ),
    ServiceRow(
        "gcp:projects/serviceIdentity:ServiceIdentity",
        ("serviceusage.googleapis.com",),
        "https://cloud.google.com/service-usage/docs/reference/rest/v1beta1/services/generateServiceIdentity",
        "and the service it creates the agent of (its `service` input)",
    ),
    ServiceRow(
        SERVICE_TYPE, ("serviceusage.googleapis.com",), "https://cloud.google.com/service-usage/docs/reference/rest/v1/services/enable"
    ),
    ServiceRow(
        "gcp:binaryauthorization/",
        ("binaryauthorization.googleapis.com",),
        "https://cloud.google.com/binary-authorization/docs/reference/rest",
    ),
    ServiceRow(
        "gcp:certificatemanager/",
        ("certificatemanager.googleapis.com",),
        "https://cloud.google.com/certificate-manager/docs/reference/rest",
    ),
    ServiceRow("gcp:logging/", ("logging.googleapis.com",), "https://cloud.google.com/logging/docs/reference/v2/rest"),
    ServiceRow("gcp:monitoring/", ("monitoring.googleapis.com",), "https://cloud.google.com/monitoring/api/ref_v3/rest"),
    ServiceRow(
        "gcp:billing/budget:Budget",
        ("billingbudgets.googleapis.com",),
        "https://cloud.google.com/billing/docs/reference/budget/rest",
        "a client-based API: billed to the provider's billing project (user_project_override), else the caller's",
    ),
    ServiceRow("gcp:storage/", ("storage.googleapis.com",), "https://cloud.google.com/storage/docs/json_api/v1"),
    ServiceRow(
        "gcp:organizations/project:Project",
        ("cloudresourcemanager.googleapis.com", "cloudbilling.googleapis.com"),
        "https://cloud.google.com/billing/docs/reference/rest/v1/projects/updateBillingInfo",
        "creates the project (Resource Manager) and links it to the billing account (Cloud Billing)",
    ),
)

# Billed to the caller's project, not the resources' (QUOTA_PROJECT_SOURCE): what each is called for.
CLIENT_BASED: Mapping[str, str] = {
    "serviceusage.googleapis.com": "enables every other service (gcp.projects.Service) and creates service agents",
    "cloudresourcemanager.googleapis.com": "reads the project (its number) and sets project IAM",
    "billingbudgets.googleapis.com": "the billing budget (gcp.billing.Budget)",
    "cloudbilling.googleapis.com": "links created projects to the billing account",
}
# Needed on in the caller's project before a program can enable anything: a person's one command.
BEFORE_ANYTHING = ("serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com")
# Service agents Google creates when their API is enabled (not on demand: no gcp.projects.ServiceIdentity for them),
# by the domain of `service-PROJECT_NUMBER@<domain>`: a grant to one waits for its API's Service.
AGENT_APIS: Mapping[str, str] = {
    "container-engine-robot.iam.gserviceaccount.com": "container.googleapis.com",
    "cloud-redis.iam.gserviceaccount.com": "redis.googleapis.com",
    "compute-system.iam.gserviceaccount.com": "compute.googleapis.com",
}
AGENT_SOURCE = "https://cloud.google.com/iam/docs/service-agents"
# Invokes the programs make, by token: they run in preview too, before any resource exists.
INVOKES: Mapping[str, str] = {"gcp:organizations/getProject:getProject": "cloudresourcemanager.googleapis.com"}


class UnknownServiceType(ValueError):
    pass


def row_for(type_: str) -> ServiceRow:
    for row in SERVICES:
        if row.matches(type_):
            return row
    raise UnknownServiceType(
        f"no row in components/gcp/services.py SERVICES for {type_}: add the Google API it calls (with its source) before creating it"
    )


def services_for(type_: str, inputs: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The services a resource of `type_` needs enabled before it is created (inputs: a ServiceIdentity's `service`)."""
    services = list(row_for(type_).services)
    named = (inputs or {}).get("service")
    if type_ == "gcp:projects/serviceIdentity:ServiceIdentity" and isinstance(named, str) and named not in services:
        services.append(named)
    return tuple(services)


@dataclass
class ProjectServicesArgs:
    project: str  # the stack's project: caller-billed services are enabled here, and where a resource names none


class ProjectServices(Component):
    """Enables each service the first time a resource needs it; `transformation` makes every `gcp:` resource wait for them.

    Register it before anything else: `pulumi.runtime.register_stack_transformation(services.transformation)`.
    (The SDK's in-process transformation, rather than the engine-side `transforms`, so the offline engine sees the
    same dependencies `pulumi up` does.)
    """

    def __init__(self, name: str, args: ProjectServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:ProjectServices", name, None, opts)
        self._name, self.project = name, args.project
        self.services: dict[tuple[str, str], gcp.projects.Service] = {}
        self.created: dict[str, pulumi.Resource] = {}
        self.register_outputs({"project": args.project})

    def created_here(self, project_id: str, project: pulumi.Resource) -> None:
        """`project_id` is created by this stack: its services, and everything in it, wait for `project`."""
        self.created[project_id] = project

    def enable(self, service: str, project: str | None = None) -> gcp.projects.Service:
        project = project or self.project
        key = (project, service)
        if key not in self.services:
            short = service.split(".")[0]
            suffix = "" if project == self.project else f"-{project}"
            self.services[key] = gcp.projects.Service(
                f"{self._name}-{short}{suffix}",
                project=project,
                service=service,
                # Never switched off by a destroy: other stacks, people and Google's own agents may rely on it.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.created[project]] if project in self.created else []),
            )
        return self.services[key]

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("gcp:") or args.type_ == SERVICE_TYPE or not isinstance(args.resource, pulumi.CustomResource):
            return None
        named = args.props.get("project")
        project = named if isinstance(named, str) else self.project
        needed: list[pulumi.Resource] = [
            self.enable(service, self.project if service in CLIENT_BASED else project) for service in services_for(args.type_, args.props)
        ]
        if project in self.created and args.type_ != "gcp:organizations/project:Project":
            needed.append(self.created[project])
        opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(depends_on=needed))
        return pulumi.ResourceTransformationResult(args.props, opts)
