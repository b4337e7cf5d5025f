"""Bootstrap's connection to GitHub, which every AWS stack's in-VPC runner builds through."""

from __future__ import annotations

import pytest

from components.bootstrap.github_connection import GithubConnectionArgs
from stacks.config import load, read_stack_file


def test_bootstrap_creates_the_connection_each_aws_stack_looks_up(shipped):
    bootstrap = shipped("bootstrap")
    connection = bootstrap.one("aws:codeconnections/connection:Connection")
    looked_up = {load(s, read_stack_file(s)).ci.github_connection for s in ("aws-dev", "aws-staging", "aws-production", "aws-dr")}
    assert connection["providerType"] == "GitHub" and looked_up == {connection["name"]}
    assert {"githubConnectionArn", "githubConnectionStatus"} <= set(bootstrap.outputs)


def test_a_connection_name_over_codeconnections_limit_is_refused():
    with pytest.raises(ValueError, match="1-32"):
        GithubConnectionArgs(connection_name="x" * 33, tags={})
