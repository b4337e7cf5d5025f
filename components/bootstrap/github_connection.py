"""The account's connection to GitHub that CI's in-VPC runners use (components/aws/ci_runner.py).

AWS creates a CodeConnections connection PENDING: a person completes it once in the console, where
GitHub asks to install the AWS Connector app on the repository's owner (Developer Tools > Settings >
Connections > Update pending connection). No token is stored anywhere; the app is GitHub's own
federation. Each AWS stack finds the connection by name (`crm:ci.githubConnection`) and refuses to
deploy its runner until the connection is AVAILABLE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import Component


@dataclass
class GithubConnectionArgs:
    connection_name: str  # what each AWS stack's crm:ci.githubConnection names
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        if not 1 <= len(self.connection_name) <= 32:
            raise ValueError(f"a CodeConnections connection name has 1-32 characters, got '{self.connection_name}'")


class GithubConnection(Component):
    arn: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(self, name: str, args: GithubConnectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:bootstrap:GithubConnection", name, None, opts)
        self.connection = aws.codeconnections.Connection(
            f"{name}-connection",
            name=args.connection_name,
            provider_type="GitHub",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.connection.arn
        self.status = self.connection.connection_status
        self.register_outputs({"arn": self.arn, "status": self.status})
