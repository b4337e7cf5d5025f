"""Runs Parliament and Cloudsplaining over policy documents; executed by `.venv-iam`'s Python, never imported.

    .venv-iam/bin/python tools/iam_analysers.py DOCUMENTS.json

DOCUMENTS.json is a list of {"id", "kind", "policy"} (kind: identity, trust, resource or boundary),
written by tools/iam_scan.py. Prints a JSON list of findings {"id", "tool", "issue", "detail"}.
Standard library and the two analysers only: this file runs outside the project's virtualenv.

- Parliament judges every document (malformed policies, unknown actions, resource and condition
  mismatches: what IAM would refuse at deploy time); statements with a Principal are judged as
  resource or trust policy statements.
- Cloudsplaining judges identity policies (privilege escalation, resource exposure, data
  exfiltration, credentials exposure); trust, resource and boundary documents grant nothing to a
  principal by themselves and are not its subject. Its "infrastructure modification" list (every
  write action on `*`) describes a deploy role rather than a risk and is not reported.
"""

from __future__ import annotations

import json
import sys

CLOUDSPLAINING_RISKS = ("PrivilegeEscalation", "ResourceExposure", "DataExfiltration", "CredentialsExposure", "ServiceWildcard")


# A trust policy names who may assume the role; it has no Resource element (IAM refuses one there), which
# Parliament's identity-policy rule reports.
NOT_FOR_TRUST = {("MALFORMED", "Statement contains neither Resource nor NotResource")}


def parliament_findings(document: dict) -> list[dict]:
    from parliament import analyze_policy_string  # pyright: ignore[reportMissingImports]  # runs in .venv-iam

    policy = analyze_policy_string(json.dumps(document["policy"]), include_community_auditors=False)
    found = []
    for finding in policy.findings:
        detail = finding.detail if isinstance(finding.detail, str) else json.dumps(finding.detail, sort_keys=True, default=str)
        if document["kind"] == "trust" and (finding.issue, detail) in NOT_FOR_TRUST:
            continue
        found.append({"id": document["id"], "tool": "parliament", "issue": finding.issue, "detail": detail})
    return found


def cloudsplaining_findings(document: dict) -> list[dict]:
    from cloudsplaining.command.scan_policy_file import scan_policy  # pyright: ignore[reportMissingImports]  # runs in .venv-iam

    results = scan_policy(document["policy"], exclusions_config={})
    found = []
    for risk in CLOUDSPLAINING_RISKS:
        entry = results.get(risk) or {}
        for item in entry.get("findings", []) if isinstance(entry, dict) else entry:
            detail = item if isinstance(item, str) else json.dumps(item, sort_keys=True, default=str)
            found.append({"id": document["id"], "tool": "cloudsplaining", "issue": risk, "detail": detail})
    return found


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        documents = json.load(handle)
    findings = []
    for document in documents:
        findings += parliament_findings(document)
        if document["kind"] == "identity":
            findings += cloudsplaining_findings(document)
    json.dump(findings, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
