"""Checkov over the Terraform plan export, and the reviewed baseline (tools/security_scan.py)."""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import _shipped
from tools import security_scan
from tools.engine.engine import PreviewResult
from tools.reports.terraform_plan import export
from tools.security_scan import Accepted, Finding, StackResult, judge, load_baseline

needs_checkov = pytest.mark.skipif(
    not security_scan.CHECKOV.exists(),
    reason=f"Checkov's virtualenv is missing ({security_scan.CHECKOV}); `python3 dev.py scan` creates it (CI does, before the tests)",
)


def _results(*findings: Finding) -> list[StackResult]:
    return [StackResult("aws-dev", 1, 0, list(findings))]


def test_a_failure_the_baseline_does_not_list_is_not_accepted():
    outcome = judge(_results(Finding("aws-dev", "CKV_AWS_16", "aws_db_instance.db")), [])
    assert not outcome.ok and [f.check for f in outcome.unaccepted] == ["CKV_AWS_16"]


def test_a_baseline_entry_accepts_matching_failures_by_pattern():
    entry = Accepted("CKV_AWS_18", "aws_s3_bucket.crm-*-logs", "log sink")
    outcome = judge(_results(Finding("aws-dev", "CKV_AWS_18", "aws_s3_bucket.crm-dev-logs")), [entry])
    assert outcome.ok and outcome.accepted[0][1] is entry


def test_a_baseline_entry_for_other_stacks_does_not_accept():
    entry = Accepted("CKV_AWS_18", "aws_s3_bucket.*", "log sink", stack="aws-production,aws-dr")
    outcome = judge(_results(Finding("aws-dev", "CKV_AWS_18", "aws_s3_bucket.crm-dev-logs")), [entry])
    assert [f.resource for f in outcome.unaccepted] == ["aws_s3_bucket.crm-dev-logs"]


def test_a_baseline_entry_that_matches_nothing_is_stale_and_fails():
    entry = Accepted("CKV_AWS_18", "aws_s3_bucket.gone", "was a log sink")
    outcome = judge(_results(), [entry])
    assert not outcome.ok and outcome.stale == [entry]
    assert "aws_s3_bucket.gone" in security_scan.report(outcome)


def test_a_baseline_entry_without_a_reason_is_rejected(tmp_path):
    path = tmp_path / "baseline.yaml"
    path.write_text(
        "accepted:\n  - check: CKV_AWS_18\n    resource: aws_s3_bucket.x\n  - check: CKV_AWS_19\n    resource: x\n    reason: r\n    kind: maybe\n"
    )
    with pytest.raises(security_scan.ScanError) as error:
        load_baseline(path)
    assert "entry 1: missing reason" in str(error.value) and "entry 2: kind must be accepted or gap" in str(error.value)


def test_the_shipped_baseline_gives_every_entry_a_reason():
    entries = load_baseline()
    assert entries and all(len(e.reason) > 20 for e in entries)


def test_a_missing_checkov_is_a_clear_error(tmp_path):
    with pytest.raises(security_scan.ScanError, match=r"dev.py scan"):
        security_scan.run_checkov({"aws-dev": tmp_path / "x.json"}, checkov=tmp_path / "no-checkov")


@needs_checkov
def test_checkov_fails_an_unencrypted_rds_instance_and_passes_the_shipped_one(tmp_path):
    shipped = _shipped("aws-staging", True)
    bad = copy.deepcopy(shipped)
    db = next(r for r in bad.resources if r.type == "aws:rds/instance:Instance")
    db.inputs["storageEncrypted"] = False
    db.inputs.pop("kmsKeyId", None)
    plans = {}
    for name, result in (("shipped", shipped), ("unencrypted", bad)):
        plans[name] = tmp_path / f"{name}.tfplan.json"
        plans[name].write_text(json.dumps(export(PreviewResult(result.stack, result.resources, {}, True)).plan))
    reports = security_scan.run_checkov(plans)
    address = "aws_db_instance.crm-staging-db-postgres"

    def outcome(plan: str, check: str, resource: str) -> set[str]:
        return {
            kind
            for kind in ("passed_checks", "failed_checks")
            for c in reports[plan][kind]
            if c["check_id"] == check and c["resource"] == resource
        }

    assert outcome("unencrypted", "CKV_AWS_16", address) == {"failed_checks"}
    assert outcome("shipped", "CKV_AWS_16", address) == {"passed_checks"}
    # The log group's KMS key is known only after deploy; exported as a reference, Checkov counts it as set.
    log_group = next(
        c["resource"]
        for c in reports["shipped"]["passed_checks"] + reports["shipped"]["failed_checks"]
        if c["resource"].startswith("aws_cloudwatch_log_group.") and c["check_id"] == "CKV_AWS_158"
    )
    assert outcome("shipped", "CKV_AWS_158", log_group) == {"passed_checks"}
