"""The project's monthly spend budget on its Cloud Billing account, alerting the monitoring channels.

The Billing Budgets API answers 403 to user credentials (`gcloud auth application-default login`)
unless each request names a project to bill the call's quota to: the provider's `billing_project`
with `user_project_override` (the provider's own warning on `gcp.billing.Budget`). The program
passes this component a provider set that way, with the stack's own project, whose
`billingbudgets.googleapis.com` API must be enabled. Service-account credentials (CI) need neither
but are not hurt by them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component

# The budget was a child of the stack's monitoring component, under the same name: the alias keeps it.
_FORMER_PARENT_TYPE = "crm:gcp:Monitoring"


@dataclass
class ProjectBudgetArgs:
    project: str
    billing_account: str
    monthly_budget_usd: int
    alert_percents: Sequence[int]
    notification_channels: Sequence[pulumi.Input[str]]

    def __post_init__(self) -> None:
        problems = []
        if not self.alert_percents:
            problems.append("the budget needs at least one alert percentage")
        if self.monthly_budget_usd <= 0:
            problems.append(f"the monthly budget must be positive, got {self.monthly_budget_usd}")
        if problems:
            raise ValueError("ProjectBudgetArgs: " + "; ".join(problems))


class ProjectBudget(Component):
    """Name it as the stack's GcpMonitoring is named. Pass a gcp provider with `billing_project` and
    `user_project_override` in `opts.providers`."""

    def __init__(self, name: str, args: ProjectBudgetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:ProjectBudget", name, None, opts)
        project_number = gcp.organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)).number
        self.budget = gcp.billing.Budget(
            f"{name}-budget",
            billing_account=args.billing_account,
            display_name=f"{name} monthly",
            amount={"specified_amount": {"currency_code": "USD", "units": str(args.monthly_budget_usd)}},
            budget_filter={"projects": [project_number.apply(lambda n: f"projects/{n}")], "calendar_period": "MONTH"},
            threshold_rules=[{"threshold_percent": p / 100, "spend_basis": "CURRENT_SPEND"} for p in args.alert_percents]
            + [{"threshold_percent": 1.0, "spend_basis": "FORECASTED_SPEND"}],
            all_updates_rule={
                "monitoring_notification_channels": list(args.notification_channels),
                "disable_default_iam_recipients": False,
            },
            opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=pulumi.create_urn(name, _FORMER_PARENT_TYPE))]),
        )
        self.register_outputs({"budget": self.budget.name})
