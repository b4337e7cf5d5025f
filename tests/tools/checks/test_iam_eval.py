"""The policy evaluator follows IAM's documented evaluation logic on the points the checks rely on."""

from __future__ import annotations

import pytest

from tools.checks.iam_eval import Request, evaluate


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_ALL_IAM = {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}


def test_nothing_allowed_is_implicitly_denied():
    assert evaluate([policy()], Request("iam:CreateRole", "*")).result == "implicitly denied"


def test_an_explicit_deny_wins_over_any_allow():
    deny = {"Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*"}
    assert evaluate([policy(ALLOW_ALL_IAM), policy(deny)], Request("iam:CreateRole", "arn:aws:iam::1:role/x")).result == "explicitly denied"


def test_actions_match_case_insensitively_with_wildcards():
    assert evaluate([policy({"Effect": "Allow", "Action": "IAM:create*", "Resource": "*"})], Request("iam:CreateRole", "r")).allowed


def test_resource_wildcards_span_path_separators():
    statement = {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "arn:aws:iam::1:role/crm-*"}
    assert evaluate([policy(statement)], Request("iam:CreateRole", "arn:aws:iam::1:role/crm-a/b")).allowed
    assert not evaluate([policy(statement)], Request("iam:CreateRole", "arn:aws:iam::1:role/service/crm-a")).allowed


@pytest.mark.parametrize(
    "operator,context,expected",
    [
        ("StringEquals", {}, False),  # a missing key makes a positive operator false
        ("StringNotEquals", {}, True),  # ...and a negated one true
        ("StringEqualsIfExists", {}, True),
        ("StringEquals", {"iam:PermissionsBoundary": "b"}, True),
        ("StringNotEquals", {"iam:PermissionsBoundary": "b"}, False),
        ("StringNotEquals", {"iam:PermissionsBoundary": "other"}, True),
    ],
)
def test_conditions_on_missing_and_present_keys(operator, context, expected):
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {operator: {"iam:PermissionsBoundary": "b"}}}
    assert evaluate([policy(statement)], Request("iam:CreateRole", "*", context)).allowed is expected


def test_values_of_one_key_are_ored_and_keys_are_anded():
    condition = {"StringEquals": {"iam:PassedToService": ["eks.amazonaws.com", "backup.amazonaws.com"], "aws:RequestedRegion": "x"}}
    statement = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": condition}
    both = {"iam:PassedToService": "backup.amazonaws.com", "aws:RequestedRegion": "x"}
    assert evaluate([policy(statement)], Request("iam:PassRole", "*", both)).allowed
    assert not evaluate([policy(statement)], Request("iam:PassRole", "*", {"iam:PassedToService": "backup.amazonaws.com"})).allowed


def test_not_action_and_null():
    statement = {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*", "Condition": {"Null": {"aws:SourceVpc": "true"}}}
    assert evaluate([policy(ALLOW_ALL_IAM, statement)], Request("iam:GetRole", "*")).result == "explicitly denied"
    assert evaluate([policy(ALLOW_ALL_IAM, statement)], Request("iam:GetRole", "*", {"aws:SourceVpc": "vpc-1"})).allowed


def test_statements_with_a_principal_are_not_identity_policy():
    trust = {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "*", "Resource": "*"}
    assert not evaluate([policy(trust)], Request("iam:CreateRole", "*")).allowed


def test_an_unsupported_operator_is_refused_rather_than_guessed():
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}}
    with pytest.raises(ValueError):
        evaluate([policy(statement)], Request("iam:CreateRole", "*"))
