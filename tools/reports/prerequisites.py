"""What a first deploy needs, generated from the code: the Google APIs the stacks enable and the one step a
person takes before them, the Cloudflare token's permission groups, and what must stay manual, each with
the exact request to make.

    python -m tools.reports.prerequisites            # print every generated block
    python -m tools.reports.prerequisites --write    # rewrite the blocks in docs/*.md

A block in a document sits between `<!-- generated: NAME (python -m tools.reports.prerequisites) -->`
and `<!-- end: NAME -->`; tests/docs/test_prerequisites.py fails when one differs from what this prints.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from components.cloudflare import permissions as cloudflare_permissions
from components.gcp import services as gcp_services

from ..engine.engine import PreviewResult

DOCS = Path(__file__).resolve().parents[2] / "docs"
MARK = "python -m tools.reports.prerequisites"


# ---- Google APIs ---------------------------------------------------------------------------------


def enabled_services(result: PreviewResult) -> list[str]:
    """The services a stack enables itself (its gcp.projects.Service resources)."""
    return sorted({r.inputs["service"] for r in result.of_type(gcp_services.SERVICE_TYPE) if isinstance(r.inputs.get("service"), str)})


def gcp_apis_block(results: Sequence[PreviewResult]) -> str:
    rows = sorted((r.stack, enabled_services(r)) for r in results if enabled_services(r))
    first = " ".join(gcp_services.BEFORE_ANYTHING)
    lines = [
        "The stacks enable every other API themselves (`gcp.projects.Service`, never disabled on destroy), derived from the",
        "resource types they create through one table (`components/gcp/services.py`, each row with its source), and every",
        "resource waits for its own (the offline check `api-enabled`). What each enables:",
        "",
        "| stack | APIs it enables in its project |",
        "| --- | --- |",
    ]
    lines += [f"| `{stack}` | {', '.join('`' + s.split('.')[0] + '`' for s in services)} |" for stack, services in rows]
    lines += [
        "",
        "Before the first program runs, a person enables the two APIs that enabling anything needs, in the project that",
        "deployers' calls are billed to (client-based APIs, " + gcp_services.QUOTA_PROJECT_SOURCE + "): the CI project",
        "(the deploy account's own project) and, for a person, their application-default quota project:",
        "",
        "```bash",
        f'gcloud services enable {first} --project "$CI_PROJECT"',
        'gcloud auth application-default set-quota-project "$CI_PROJECT"',
        "```",
    ]
    return "\n".join(lines)


# ---- the Cloudflare token ------------------------------------------------------------------------


@dataclass(frozen=True)
class Needed:
    row: cloudflare_permissions.PermissionRow
    stacks: tuple[str, ...]


def cloudflare_needs(results: Sequence[PreviewResult]) -> list[Needed]:
    """Each permission row some stack's Cloudflare resources or invokes need, with the stacks that need it."""
    found: dict[cloudflare_permissions.PermissionRow, list[str]] = {}
    for result in results:
        uses = [(r.type, r.inputs) for r in result.resources if r.custom and r.type.startswith("cloudflare:index/")]
        uses += [(token, {}) for token in result.invokes if token.startswith("cloudflare:")]
        for type_, inputs in uses:
            for row in cloudflare_permissions.rows_for(type_, inputs):
                stacks = found.setdefault(row, [])
                if result.stack not in stacks:
                    stacks.append(result.stack)
    return [Needed(row, tuple(sorted(stacks))) for row, stacks in found.items()]


def token_groups(results: Sequence[PreviewResult]) -> list[tuple[str, str]]:
    """(permission group, scope) the stacks' token needs, each once (user-scoped groups are bootstrap's own token's)."""
    return sorted(
        {(n.row.group, n.row.scope) for n in cloudflare_needs(results) if n.row.group and n.row.scope != "user"},
        key=lambda g: (g[1] != "zone", g[0]),
    )


def cloudflare_token_block(results: Sequence[PreviewResult]) -> str:
    lines = [
        "One API token serves every stack (`cloudflare:apiToken`, or CI's secret `CLOUDFLARE_API_TOKEN`). Its permission",
        "groups are derived from the Cloudflare types and settings the stacks use (`components/cloudflare/permissions.py`):",
        "",
        "| permission group (API name) | dashboard | scope | needed by | for | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for n in sorted(cloudflare_needs(results), key=lambda n: (n.row.group is None, n.row.scope != "zone", n.row.group or "", n.row.type)):
        what = n.row.type.split(":")[-1] + (f" ({n.row.setting})" if n.row.setting else "")
        group = f"`{n.row.group}`" if n.row.group else "none"
        lines.append(f"| {group} | {n.row.dashboard} | {n.row.scope or '-'} | {', '.join(n.stacks)} | {what} | [API]({n.row.source}) |")
    zone = ", ".join(g for g, scope in token_groups(results) if scope == "zone")
    account = ", ".join(g for g, scope in token_groups(results) if scope == "account")
    lines += ["", f"Zone resources (the zone of `crm:publicHost`): {zone}. Account resources: {account}."]
    return "\n".join(lines)


# ---- what stays manual ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualStep:
    what: str
    why: str
    command: str  # the exact request, with the values a person fills in as shell variables
    applies: Callable[[PreviewResult], bool]
    when: str  # before/after which step of the first deploy


def _types(result: PreviewResult) -> set[str]:
    return {r.type for r in result.resources}


def _bootstrap_creates(setting: str) -> bool:
    """Whether the bootstrap stack's file has bootstrap create this (`projects`, `cloudflare_token`)."""
    from stacks.config import load, read_stack_file

    factory = getattr(load("bootstrap", read_stack_file("bootstrap")), setting)
    return bool(factory and factory.create)


MANUAL: tuple[ManualStep, ...] = (
    ManualStep(
        "The CI project, linked to a billing account",
        "bootstrap's own resources (the identity pool, the CI accounts) live in it, so it exists before bootstrap runs",
        'gcloud projects create "$CI_PROJECT" && gcloud billing projects link "$CI_PROJECT" --billing-account "$BILLING"',
        lambda r: r.stack == "bootstrap",
        "before bootstrap",
    ),
    ManualStep(
        "The GCP stack's project, linked to a billing account (bootstrap creates them with crm:projects.create)",
        "creating a project needs rights on the organization and the billing account that the estate's CI identities do not hold",
        'gcloud projects create "$PROJECT" && gcloud billing projects link "$PROJECT" --billing-account "$BILLING"',
        lambda r: r.stack != "bootstrap" and any(t.startswith("gcp:container/") for t in _types(r)) and not _bootstrap_creates("projects"),
        "before bootstrap (its CI grants are made in them)",
    ),
    ManualStep(
        "Service Usage and Cloud Resource Manager in the CI project",
        "client-based APIs every program needs before it can enable any other (components/gcp/services.py BEFORE_ANYTHING)",
        f'gcloud services enable {" ".join(gcp_services.BEFORE_ANYTHING)} --project "$CI_PROJECT" && gcloud auth application-default set-quota-project "$CI_PROJECT"',
        lambda r: r.stack == "bootstrap",
        "before bootstrap",
    ),
    ManualStep(
        "A Cloudflare zone for crm:publicHost, with Load Balancing, on the Pro plan or higher",
        "a registered domain and a paid plan are contracts, not API objects",
        "Cloudflare dashboard: Add a site; Load Balancing: Enable; Plans: Pro",
        lambda r: any(t.startswith("cloudflare:") for t in _types(r)),
        "before the first stack that writes DNS records",
    ),
    ManualStep(
        "The Cloudflare API token (bootstrap creates it with crm:cloudflareToken.create)",
        "creating a token needs a token that may create tokens; this one is scoped to the groups listed under Cloudflare",
        "Cloudflare dashboard: My Profile / API Tokens / Create Token, with the groups above; then gh secret set CLOUDFLARE_API_TOKEN",
        lambda r: (
            r.stack != "bootstrap" and any(t.startswith("cloudflare:") for t in _types(r)) and not _bootstrap_creates("cloudflare_token")
        ),
        "before the first stack that writes DNS records",
    ),
    ManualStep(
        "A Cloudflare token for bootstrap that may create tokens (with crm:cloudflareToken.create)",
        "bootstrap creates the stacks' scoped token with it; it needs User / API Tokens / Edit and nothing else",
        "Cloudflare dashboard: My Profile / API Tokens / Create Token (User / API Tokens / Edit); pulumi config set -s bootstrap --secret cloudflare:apiToken",
        lambda r: r.stack == "bootstrap" and _bootstrap_creates("cloudflare_token"),
        "before bootstrap",
    ),
    ManualStep(
        "The CodeConnections handshake with GitHub (the connection bootstrap creates stays PENDING until then)",
        "AWS creates a connection to GitHub pending; only a person, in the console, can authorize the AWS Connector "
        "for GitHub app. The AWS stacks' `pulumi up` refuses to start until the connection is AVAILABLE, since their "
        "runners build through it",
        'AWS console: Developer Tools > Settings > Connections > "$(pulumi stack output -s bootstrap githubConnectionArn)": '
        "Update pending connection, install the AWS Connector for GitHub app on the repository's owner (this repository "
        "only); then pulumi up -s bootstrap --refresh --yes && pulumi stack output -s bootstrap githubConnectionStatus  # AVAILABLE",
        lambda r: "aws:codeconnections/connection:Connection" in _types(r),
        "after bootstrap, before the first AWS stack",
    ),
    ManualStep(
        "SES production access",
        "a new SES account sends only to verified addresses until AWS reviews the use case",
        'aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL --website-url "https://$PUBLIC_HOST" '
        '--use-case-description "Transactional mail of the CRM application (notifications, password resets)" --region "$AWS_REGION"',
        lambda r: "aws:ses/domainIdentity:DomainIdentity" in _types(r),
        "after the stack's first deploy (the review takes about a day)",
    ),
    ManualStep(
        "Elastic IP quota above 5 when more than two AWS stacks share an account and region",
        "each NAT gateway takes an Elastic IP (2 per stack outside dev, 1 in dev); the default quota is 5",
        'aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3 --desired-value 10 --region "$AWS_REGION"',
        lambda r: "aws:ec2/natGateway:NatGateway" in _types(r),
        "before the third AWS stack in one account",
    ),
    ManualStep(
        "The DR tool image (crm:replication.toolImage)",
        "the replication Job runs it during gcp-dr's first deploy, and the engine waits for the Job",
        'docker build -t "$TOOL_IMAGE" dr/ && docker push "$TOOL_IMAGE"',
        lambda r: any(t == "kubernetes:batch/v1:Job" and "replication" in n for t, n in ((x.type, x.name) for x in r.resources)),
        "before gcp-dr's first deploy",
    ),
)


def manual_steps(result: PreviewResult) -> list[ManualStep]:
    return [step for step in MANUAL if step.applies(result)]


def manual_block(results: Sequence[PreviewResult]) -> str:
    lines = [
        "What no program can do, with the exact request to make (`python -m tools first-deploy --all` prints them in order):",
        "",
        "| what | stacks | when | why it is manual | request |",
        "| --- | --- | --- | --- | --- |",
    ]
    for step in MANUAL:
        stacks = sorted(r.stack for r in results if step.applies(r))
        if stacks:
            lines.append(f"| {step.what} | {', '.join(stacks)} | {step.when} | {step.why} | `{step.command}` |")
    return "\n".join(lines)


BLOCKS: dict[str, Callable[[Sequence[PreviewResult]], str]] = {
    "gcp-apis": gcp_apis_block,
    "cloudflare-token": cloudflare_token_block,
    "manual-steps": manual_block,
}


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} \({re.escape(MARK)}\) -->\n)(.*?)(\n<!-- end: {re.escape(name)} -->)", re.S)


def blocks_in(text: str) -> dict[str, str]:
    return {name: m.group(2) for name in BLOCKS for m in [_pattern(name).search(text)] if m}


def rewrite(text: str, generated: dict[str, str]) -> str:
    for name, body in generated.items():
        text = _pattern(name).sub(lambda m, body=body: m.group(1) + body + m.group(3), text)
    return text


def generate(results: Sequence[PreviewResult], names: Iterable[str] | None = None) -> dict[str, str]:
    return {name: BLOCKS[name](results) for name in (names or BLOCKS)}


def main(argv: list[str] | None = None) -> int:
    from ..engine.workspace import preview_stacks, stack_names

    parser = argparse.ArgumentParser(prog=MARK, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the generated blocks in docs/*.md")
    args = parser.parse_args(argv)
    results = [run.result for run in preview_stacks(stack_names())]
    generated = generate(results)
    if not args.write:
        print("\n\n".join(f"<!-- {name} -->\n{body}" for name, body in generated.items()))
        return 0
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        updated = rewrite(text, generated)
        if updated != text:
            path.write_text(updated)
            print(f"rewrote {path.relative_to(DOCS.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
