"""The project's tooling on the command line, `python -m tools COMMAND`: what each stack would create, whether
it passes the policy pack, what it costs, how a request reaches it, and whether the deployed estate works.

`python -m tools verify <stack>|--all` checks a deployed estate (docs/runbooks/verify.md).
`python -m tools diff <stack>|--all [--base REF]` says what a change would create, update, replace or delete (docs/diff.md).
`python -m tools webhooks <stack>|--all` gets the SES webhooks confirmed once their endpoints answer (docs/ingress.md).

Every command but `verify` runs the real stack programs in-process under Pulumi's mock engine, so it needs
neither cloud credentials nor the Pulumi CLI; `verify` reads the deployed estate and changes nothing. Each
command takes --help. Exit status: 0 on success, 2 on bad arguments or config errors, 1 when a command
finds a problem (a violation, a broken link, an estimate at its budget's alert, a failed check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stacks.config import ConfigValidationError
from stacks.references import MissingStackOutput

from . import scan_cli
from .diff import cli as diff_cli
from .engine import engine, preview_stack, preview_stacks
from .engine.render import preview_json, tree
from .engine.workspace import deploy_order, stack_names
from .reports import cli as estate_cli
from .terminal import Progress, Style, quiet_broken_pipe, tolerate_any_encoding

_ESTATE_COMMANDS: dict = {}  # cost, diagram, rebuild-time (tools/reports/cli.py)


def _parser() -> argparse.ArgumentParser:
    summary, _, details = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(prog="python -m tools", description=" ".join(summary.split()), epilog=" ".join(details.split()))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    preview = commands.add_parser("preview", help="show what a stack would create, offline")
    preview.add_argument("stack", nargs="?", help="stack name, e.g. aws-dr")
    preview.add_argument("--all", action="store_true", help="every stack, in deploy order")
    preview.add_argument("--json", action="store_true", help="JSON shaped like `pulumi preview --json`")
    check = commands.add_parser(
        "check", help="run the policy pack and the names check over a stack's offline preview, or a saved plan (docs/policies.md)"
    )
    check.add_argument("stack", nargs="?", help="stack name, e.g. aws-dr")
    check.add_argument("--all", action="store_true", help="every stack, in deploy order")
    check.add_argument("--plan", type=Path, help="a saved `preview --json` document")
    check.add_argument(
        "--pack-python",
        type=Path,
        help="the Python the policy pack runs with (default: this one); CI runs it from policies/requirements.txt alone",
    )
    _ESTATE_COMMANDS.update(estate_cli.add_commands(commands))  # cost, diagram, rebuild-time
    _ESTATE_COMMANDS.update(scan_cli.add_commands(commands))  # tfplan, scan (docs/security-scan.md)
    _ESTATE_COMMANDS.update(diff_cli.add_commands(commands))  # diff (docs/diff.md)
    verify = commands.add_parser(
        "verify", help="check a deployed stack through the clouds' APIs and the public endpoint (docs/runbooks/verify.md)"
    )
    verify.add_argument("stack", nargs="?", help="stack name, e.g. gcp-dr")
    verify.add_argument("--all", action="store_true", help="every stack, in deploy order")
    verify.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="CLOUD=HOST",
        help="host that reaches only that cloud through Cloudflare (default: the global stack's originHosts output)",
    )
    verify.add_argument("--database-host", help="HOST[:PORT] to reach the Cloud SQL copy by, e.g. a Cloud SQL Auth Proxy")
    verify.add_argument("--rpo", type=float, default=None, help="replication lag limit in seconds (default 5)")
    webhooks = commands.add_parser(
        "webhooks", help="ask SNS again for the SES webhooks' confirmations once their endpoints answer (docs/ingress.md)"
    )
    webhooks.add_argument("stack", nargs="?", help="stack name: aws-dr, or a stack whose webhooks are on its topic (gcp-dr, global)")
    webhooks.add_argument("--all", action="store_true", help="every stack, in deploy order")
    webhooks.add_argument("--wait", type=float, default=120, help="seconds to wait for confirmations SNS was asked for (default 120)")
    webhooks.add_argument(
        "--require-confirmed",
        action="store_true",
        help="also fail while an endpoint does not answer yet (after the application's first deploy)",
    )
    providers = commands.add_parser(
        "kubernetes-providers",
        help="the URNs of a stack's Kubernetes providers, one a line, as `pulumi up --exclude` takes them (docs/deploying.md)",
    )
    providers.add_argument("stack", help="stack name, e.g. aws-dr")
    path = commands.add_parser(
        "path", help="print how a request reaches a pod in an aws-* or gcp-* stack, checking every link (docs/request-path.md)"
    )
    path.add_argument("stack", help="stack name, e.g. aws-dr")
    first = commands.add_parser(
        "first-deploy",
        help="the sequence from empty accounts: bootstrap, stacks in order, images, people's steps, time (docs/deploying.md)",
    )
    first.add_argument("stack", nargs="?", help="stack name (the stacks it reads from come first), e.g. gcp-dr")
    first.add_argument("--all", action="store_true", help="every stack, bootstrap first")
    first.add_argument("--json", action="store_true", help="the sequence as JSON")

    for listed in commands._choices_actions:  # each command's own --help opens with the line the command list shows
        command = commands.choices[listed.dest]
        command.description = command.description or listed.help
    return parser


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _print_warnings(results: list[engine.PreviewResult]) -> None:
    """What the programs warned about (the shipped placeholder values, for one), on stderr as `pulumi preview`
    lists it under Diagnostics; a warning several stacks gave is printed once, naming them."""
    stacks_by_warning: dict[str, list[str]] = {}
    for result in results:
        for message in result.warnings():
            stacks_by_warning.setdefault(message, []).append(result.stack)
    for message in sorted(stacks_by_warning):
        print(f"warning ({', '.join(stacks_by_warning[message])}): {message}", file=sys.stderr)


def _preview_all(verb: str = "previewing") -> list:
    """Every stack in deploy order, with progress on stderr."""
    progress = Progress(verb)
    try:
        return preview_stacks(stack_names(), on_start=progress.step)
    finally:
        progress.done()


def preview(args: argparse.Namespace) -> int:
    known = stack_names()
    if args.all == bool(args.stack):
        return _fail("name one stack or pass --all", 2)
    if args.stack and args.stack not in known:
        return _fail(f"unknown stack '{args.stack}' (have: {', '.join(known)})", 2)
    try:
        runs = [(run.stack, run.result) for run in _preview_all()] if args.all else [(args.stack, preview_stack(args.stack))]
    except ConfigValidationError as error:
        return _fail(f"error: {error}", 2)
    except (MissingStackOutput, engine.StackReferenceError) as error:
        return _fail(f"error: {error}", 1)
    _print_warnings([result for _, result in runs])
    if args.json:
        documents = [preview_json(result) for _, result in runs]
        print(json.dumps(documents[0] if not args.all else {"stacks": documents}, indent=2))
    else:
        style = Style.for_stream(sys.stdout)
        print("\n\n".join(tree(result, style.glyphs, style.width) for _, result in runs))
        if args.all:
            print(f"\nDeploy order: {' -> '.join(stack for stack, _ in runs)}")
    return 0


def check(args: argparse.Namespace) -> int:
    from . import policy_check
    from .checks import names

    if sum(map(bool, (args.stack, args.all, args.plan))) != 1:
        return _fail("name one stack, or pass --all, or --plan FILE", 2)
    try:
        if args.plan:
            resources = policy_check.from_plan_file(args.plan)
            plans = [(policy_check.stack_of(resources), resources)]
        elif args.all:
            plans = [(run.stack, policy_check.from_preview(run.result)) for run in _preview_all()]
        else:
            if args.stack not in stack_names():
                return _fail(f"unknown stack '{args.stack}' (have: {', '.join(stack_names())})", 2)
            plans = [(args.stack, policy_check.from_preview(preview_stack(args.stack)))]
    except ConfigValidationError as error:
        return _fail(f"error: {error}", 2)
    except (OSError, ValueError) as error:
        return _fail(f"error: cannot read the plan: {error}", 2)
    from .checks import deploy_checks

    blocked = False
    totals = [0, 0, 0]  # resources, violations, mandatory
    style = Style.for_stream(sys.stdout)
    progress = Progress("checking") if len(plans) > 1 else None
    for number, (stack, resources) in enumerate(plans, start=1):
        if progress:
            progress.step(stack, number, len(plans))
        violations, policies = policy_check.evaluate(resources, stack, python=getattr(args, "pack_python", None))
        violations += deploy_checks.check(resources)  # what a real deploy would refuse: schemas, identity ordering
        violations += names.violations(resources)  # names the provider would send, against the cloud's limits
        if progress:
            progress.done()
        mandatory = sum(v.enforcement == "mandatory" for v in violations)
        print(style.wrap(policy_check.report(stack, violations)))
        print(style.wrap(checked_line(len(resources), policies, len(violations), mandatory)))
        totals = [totals[0] + len(resources), totals[1] + len(violations), totals[2] + mandatory]
        blocked |= mandatory > 0
    if len(plans) > 1:
        print(style.wrap(f"\nchecked {totals[0]} resources in {len(plans)} stacks: {totals[1]} violation(s), {totals[2]} mandatory"))
    return 1 if blocked else 0


def checked_line(resources: int, policies: int, violations: int, mandatory: int) -> str:
    """`check`'s summary of one stack: what it evaluated (the pack's policies, the names check's limits, the deploy checks)."""
    from .checks import deploy_checks, names

    rules = policies + names.RULE_COUNT + deploy_checks.CHECK_COUNT
    return (
        f"  checked {resources} resource{'s' if resources != 1 else ''} against {rules} rules "
        f"({policies} policies, {names.RULE_COUNT} name limits, {deploy_checks.CHECK_COUNT} deploy checks): "
        f"{violations} violation(s), {mandatory} mandatory"
    )


def verify(args: argparse.Namespace, sources=None) -> int:
    from .live import verify as verifier

    known = stack_names()
    if args.all == bool(args.stack):
        return _fail("name one stack or pass --all", 2)
    if args.stack and args.stack not in known:
        return _fail(f"unknown stack '{args.stack}' (have: {', '.join(known)})", 2)
    origins = dict(item.partition("=")[::2] for item in args.origin)
    bad = sorted(set(origins) - set(verifier.CLOUDS)) + [f"{c}=" for c, host in origins.items() if not host]
    if bad:
        return _fail(f"--origin takes CLOUD=HOST with CLOUD one of {', '.join(verifier.CLOUDS)}; got {', '.join(bad)}", 2)
    sources = sources or verifier.Sources()
    sources.origin_hosts = {**sources.origin_hosts, **origins}
    sources.database_host = args.database_host or sources.database_host
    sources.rpo_seconds = args.rpo if args.rpo is not None else sources.rpo_seconds
    stacks = deploy_order(known) if args.all else [args.stack]
    checks, code = verifier.run(stacks, sources)
    print(Style.for_stream(sys.stdout).wrap(verifier.table(checks)))
    failed = sum(not c.ok for c in checks)
    print(f"\n{len(checks) - failed} passed, {failed} failed")
    return code


def webhooks(args: argparse.Namespace, sources=None) -> int:
    from .live import verify as verifier
    from .live import webhooks as hooks

    known = stack_names()
    if args.all == bool(args.stack):
        return _fail("name one stack or pass --all", 2)
    if args.stack and args.stack not in known:
        return _fail(f"unknown stack '{args.stack}' (have: {', '.join(known)})", 2)
    sources = sources or verifier.Sources()
    done, code = hooks.run(deploy_order(known) if args.all else [args.stack], sources, args.wait, args.require_confirmed)
    print(hooks.table(done))
    return code


def kubernetes_providers(args: argparse.Namespace) -> int:
    """A stack's first deploy from outside its VPC creates everything but what its cluster's private API holds:
    `pulumi up --exclude-dependents --exclude <each URN>`; the in-VPC runner then deploys the rest."""
    if args.stack not in stack_names():
        return _fail(f"unknown stack '{args.stack}' (have: {', '.join(stack_names())})", 2)
    try:
        result = preview_stack(args.stack)
    except ConfigValidationError as error:
        return _fail(f"error: {error}", 2)
    for provider in result.of_type("pulumi:providers:kubernetes"):
        print(engine.deployed_urn(provider.urn))
    return 0


def path(args: argparse.Namespace) -> int:
    from .checks.request_path import walk_stack

    if args.stack not in stack_names() or not args.stack.startswith(("aws-", "gcp-")):
        return _fail(f"'{args.stack}' is not an aws-* or gcp-* stack (have: {', '.join(stack_names())})", 2)
    try:
        walked = walk_stack(args.stack)
    except ConfigValidationError as error:
        return _fail(f"error: {error}", 2)
    print(Style.for_stream(sys.stdout).wrap(walked.render()))
    return 1 if walked.problems else 0


def first_deploy(args: argparse.Namespace) -> int:
    from .reports import first_deploy as sequence

    try:
        return sequence.main(args, preview_stacks, stack_names)
    except ConfigValidationError as error:
        return _fail(f"error: {error}", 2)


def main(argv: list[str] | None = None, verify_sources=None) -> int:
    tolerate_any_encoding()
    args = _parser().parse_args(argv)
    try:
        if args.command == "verify":
            code = verify(args, verify_sources)
        elif args.command == "webhooks":
            code = webhooks(args, verify_sources)
        else:
            commands = {
                "preview": preview,
                "check": check,
                "path": path,
                "first-deploy": first_deploy,
                "kubernetes-providers": kubernetes_providers,
            }
            code = {**commands, **_ESTATE_COMMANDS}[args.command](args)
        sys.stdout.flush()  # a reader that went away shows here, not in the interpreter's last flush
    except BrokenPipeError:
        return quiet_broken_pipe()
    return code


if __name__ == "__main__":
    sys.exit(main())
