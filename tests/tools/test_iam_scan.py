"""Every IAM policy document the stacks create, through Parliament and Cloudsplaining against the baseline (tools/iam_scan.py)."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ALL_STACKS
from tools import iam_scan
from tools.iam_scan import Accepted, Document, Finding, judge, load_baseline

needs_analysers = pytest.mark.skipif(
    not iam_scan.PYTHON.exists(),
    reason=f"the IAM analysers' virtualenv is missing ({iam_scan.PYTHON}); `python3 dev.py iam-scan` creates it (CI does, before the tests)",
)
ARN = re.compile(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:[0-9a-z]*:[^\"]+")
# IAM and S3 ARNs carry no region; S3's no account; regional services both (AWS General Reference, "ARN formats").
GLOBAL = {"iam": (False, True), "s3": (False, False), "cloudwatch": (None, True), "budgets": (False, True)}


def _documents(shipped, stacks=ALL_STACKS):
    return [d for stack in stacks for d in iam_scan.documents_of(stack, shipped(stack, preview=False))]


def test_the_documents_of_every_kind_are_collected(shipped):
    kinds = {d.kind for d in _documents(shipped, ["bootstrap", "aws-dr", "gcp-dr"])}
    assert kinds == {"identity", "trust", "resource", "boundary"}


def test_resolved_documents_name_arns_in_the_shape_aws_gives_them(shipped):
    arns = {a for d in _documents(shipped) for a in ARN.findall(json.dumps(d.policy))}
    assert len(arns) > 50
    wrong = []
    for arn in arns:
        _, _, service, region, account, _ = arn.split(":", 5)
        has_region, has_account = GLOBAL.get(service, (True, True))
        if (has_region is not None and bool(region) != has_region) or (bool(account) != has_account and account not in ("aws", "*")):
            wrong.append(arn)
    assert wrong == []


def test_an_irsa_trust_names_the_clusters_oidc_provider_as_iam_does(shipped):
    result = shipped("aws-dr", preview=False)
    trust = json.loads(result.one("aws:iam/role:Role", "crm-dr-app-role")["assumeRolePolicy"])["Statement"][0]
    provider = trust["Principal"]["Federated"]
    assert re.fullmatch(r"arn:aws:iam::123456789012:oidc-provider/oidc\.eks\.ap-northeast-2\.amazonaws\.com/id/[A-Z0-9-]+", provider)
    assert provider == result.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").output("arn")


def _finding(**changes) -> Finding:
    values = dict(stack="aws-dev", resource="crm-dev-app-policy", kind="identity", tool="parliament", issue="UNKNOWN_ACTION", detail="x")
    values.update(changes)
    return Finding(**values)


def test_a_finding_the_baseline_does_not_list_is_not_accepted():
    outcome = judge([], [_finding()], [])
    assert not outcome.ok and outcome.unaccepted == [_finding()]


def test_baseline_details_treat_json_brackets_literally():
    entry = Accepted("parliament", "RESOURCE_STAR", "crm-*", "r", detail='["kms:*"]')
    assert judge([], [_finding(issue="RESOURCE_STAR", detail='["kms:Decrypt", "kms:Encrypt"]')], [entry]).ok
    assert not judge([], [_finding(issue="RESOURCE_STAR", detail='["s3:GetObject"]')], [entry]).ok


def test_a_baseline_entry_that_matches_nothing_is_stale():
    entry = Accepted("cloudsplaining", "PrivilegeEscalation", "crm-*", "r")
    outcome = judge([], [], [entry])
    assert not outcome.ok and outcome.stale == [entry]


def test_every_shipped_baseline_entry_says_why():
    entries = load_baseline()
    assert entries and all(len(e.reason) > 40 for e in entries)


@needs_analysers
def test_the_shipped_stacks_pass_against_the_baseline():
    outcome = iam_scan.scan(ALL_STACKS)
    assert outcome.ok, iam_scan.report(outcome)
    assert len(outcome.documents) > 100


@needs_analysers
def test_a_policy_iam_would_refuse_and_an_escalation_are_reported():
    documents = [
        Document(
            "aws-dev",
            "aws:iam/rolePolicy:RolePolicy",
            "typo",
            "identity",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::crm-dev-x/*"}]},
        ),
        Document(
            "aws-dev",
            "aws:iam/rolePolicy:RolePolicy",
            "escalates",
            "identity",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:CreatePolicyVersion"], "Resource": "*"}]},
        ),
    ]
    outcome = judge(documents, iam_scan.analyse(documents), load_baseline())
    found = {(f.resource, f.tool, f.issue) for f in outcome.unaccepted}
    assert ("typo", "parliament", "UNKNOWN_ACTION") in found
    assert ("escalates", "cloudsplaining", "PrivilegeEscalation") in found
