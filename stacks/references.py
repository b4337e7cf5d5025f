"""Reading another stack's outputs: every cross-stack value flows through here."""

from __future__ import annotations

import pulumi

from .config.model import Common

# The bootstrap stack's output every AWS role of the other stacks carries as its permissions boundary.
PERMISSIONS_BOUNDARY_OUTPUT = "awsPermissionsBoundaryArn"
# The stack that runs the zone's Cloudflare load balancer and sets the origin-auth header (docs/deploying.md), and
# its output holding the value it sends: the GCP stacks read it back so that a rotation never drops it.
GLOBAL_STACK = "global"
ORIGIN_AUTH_SENT_OUTPUT = "originAuthHeader"  # also the GCP stack's: the value the global stack should send next
# Every origin's list of the header values it admits now (secret): the global stack sends one that both admit.
ORIGIN_AUTH_ACCEPTED_OUTPUT = "originAuthAccepted"

# The bootstrap stack's output naming, per deploy project, the service accounts the GCP stacks use but do not
# create (components/bootstrap/deploy_permissions.py GCP_ESTATE_ACCOUNTS): project -> key -> {email}.
GCP_SERVICE_ACCOUNTS_OUTPUT = "gcpServiceAccounts"


class MissingStackOutput(Exception):
    pass


class PeerStack:
    """A StackReference that fails clearly when the other stack does not export what is read."""

    def __init__(self, common: Common, stack: str):
        self.stack = stack
        self._reader = common.stack
        self._ref = pulumi.StackReference(f"{stack}-outputs", stack_name=common.stack_reference_name(stack))

    def require(self, name: str) -> pulumi.Output:
        def check(outputs: dict) -> None:
            if name not in (outputs or {}):
                exported = ", ".join(sorted(outputs or {})) or "nothing"
                raise MissingStackOutput(
                    f"stack '{self._reader}' reads output '{name}' of stack '{self.stack}', which does not export it"
                    f" (it exports: {exported}). Deploy '{self.stack}' first, or export '{name}' there."
                )

        checked = pulumi.Output.unsecret(self._ref.outputs.apply(check))
        return pulumi.Output.all(self._ref.get_output(name), checked).apply(lambda values: values[0])

    def get(self, name: str) -> pulumi.Output:
        """An output the other stack may not export (yet): None then."""
        return self._ref.get_output(name)


class ReadBack:
    """What a stack that deploys after this one exported at its last deploy; None for an output it does not export,
    or when it was never deployed (`pulumi stack init` done, no `up` yet: docs/deploying.md inits every stack first).
    Not one of the reader's `references`: the deploy order still runs this stack first."""

    def __init__(self, common: Common, stack: str):
        self.stack = stack
        # "-readback": the offline engine answers a stack not previewed yet as initialized and never deployed.
        self._ref = pulumi.StackReference(f"{stack}-readback", stack_name=common.stack_reference_name(stack))

    def get(self, name: str) -> pulumi.Output:
        return self._ref.get_output(name)


def permissions_boundary(common: Common) -> pulumi.Output:
    """The bootstrap stack's permissions boundary (components/aws/iam.py): the CI deploy role creates no role without it."""
    return PeerStack(common, common.bootstrap_stack).require(PERMISSIONS_BOUNDARY_OUTPUT)


class GcpServiceAccounts:
    """The estate's service accounts of one deploy project, as the bootstrap stack created them."""

    def __init__(self, bootstrap: PeerStack, project: str):
        self._bootstrap, self._project = bootstrap, project
        self._accounts = bootstrap.require(GCP_SERVICE_ACCOUNTS_OUTPUT).apply(self._of_project)

    def _of_project(self, accounts: dict) -> dict:
        if self._project not in (accounts or {}):
            raise MissingStackOutput(
                f"stack '{self._bootstrap.stack}' creates no service accounts in project '{self._project}'"
                f" (its crm:deployProjects: {', '.join(sorted(accounts or {})) or 'none'}). Add the project there and deploy it."
            )
        return accounts[self._project]

    def email(self, key: str) -> pulumi.Output[str]:
        return self._accounts.apply(lambda a: a[key]["email"])
