"""`python -m dr <command>`: the DR database steps (RDS publisher -> Cloud SQL subscriber) as commands.

Endpoints come from the environment, never the command line:
  PUBLISHER_HOST   RDS, the primary in normal operation (aws-dr output databaseAddress)
  SUBSCRIBER_HOST  Cloud SQL, the copy (gcp-dr output databasePrivateIp)
  *_PASSWORD, or *_PASSFILE (a libpq passfile; PGPASSFILE and ~/.pgpass work too)
  optional *_PORT (5432), *_DBNAME (crm), *_USER (crmadmin), *_SSLMODE (require); DR_APP_ROLE (crm_app)
  optional *_SSLROOTCERT: the CA file for *_SSLMODE verify-ca / verify-full; *_PEER_SSLROOTCERT: the same CA
  as a path on the other database server (self-managed servers only; a subscription from a managed server
  to this one is otherwise made with sslmode require)
  REPLICATION_USER, REPLICATION_PASSWORD (aws-dr outputs databaseReplicationUsername/Password): the role
  the subscription signs in to RDS as (setup, failback switch); without them it uses the publisher's admin user
  DR_MONITOR_ROLE (crm_monitor): the lag monitor's role, granted what it needs of schema dr where it exists
PUBLISHER always names RDS and SUBSCRIBER Cloud SQL, also during failback. `promote` and `lag` need
PUBLISHER_HOST, or --no-primary when RDS is lost and must not be contacted.
Exit codes: 0 done, 1 a threshold or target missed, 2 an error (printed on one line, no traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import psycopg

from . import failover, replication
from .endpoint import DrError, Endpoint, Scrubber, connect, from_env, reachable
from .gameday import add_arguments as gameday_arguments

SCRUB = Scrubber()
# The drill's cases (dr/drill.py CASES; that module needs the server binaries, so it is imported only to run).
DRILL_CASES = ("friendly", "savepoint_across_cut", "rejected_login", "big_transaction", "slot_lost", "burst_after_idle")


def _endpoint(prefix: str) -> Endpoint:
    endpoint = from_env(prefix)
    SCRUB.add(endpoint)
    return endpoint


def _primary(args):
    """The old primary (PUBLISHER_*), or None with --no-primary; neither is an error, not a silent "no primary"."""
    if args.no_primary:
        return None
    if not os.environ.get("PUBLISHER_HOST"):
        raise DrError(
            "PUBLISHER_HOST is not set: set it to the primary (RDS) so it can be reached and fenced, or pass --no-primary "
            "when it is truly lost and must not be contacted"
        )
    return _endpoint("PUBLISHER")


def echo(text: str) -> None:
    print(f"- {SCRUB(text)}", flush=True)


def _write_record(record: failover.Record, args) -> None:
    text = SCRUB(record.json())
    if getattr(args, "record", None):
        Path(args.record).write_text(text + "\n")
        print(f"record written to {args.record}")
    if getattr(args, "json", False):
        print(text)


def _replication_login(publisher: Endpoint):
    """The stack's replication role, which the subscription signs in to RDS as; None: the publisher's admin."""
    if not os.environ.get("REPLICATION_USER"):
        return None
    # Its password comes from REPLICATION_PASSWORD or the passfile, like the others.
    login = dataclasses.replace(publisher, user=os.environ["REPLICATION_USER"], password=os.environ.get("REPLICATION_PASSWORD") or None)
    SCRUB.add(login)
    return login


def cmd_setup(args) -> int:
    publisher, subscriber = _endpoint("PUBLISHER"), _endpoint("SUBSCRIBER")
    print(f"publisher:  {publisher.redacted()}\nsubscriber: {subscriber.redacted()}")
    replication.setup(
        publisher,
        subscriber,
        schema=not args.no_schema,
        wait_s=args.wait,
        echo=echo,
        replication_login=_replication_login(publisher),
        monitor_role=args.monitor_role,
        reseed=args.reseed,
    )
    with connect(subscriber) as conn:  # the application reads the copy; it writes only after a promotion
        record = failover.Record("setup", echo)
        failover.grant_writes(conn, args.app_role, record, "subscriber", grant=False)
        failover.unfence(conn, args.app_role, record, "subscriber", writable=False)
    print("replication is set up and the initial copy is complete")
    return 0


def cmd_heartbeat(args) -> int:
    """Beats on every target each interval; a target that does not answer is retried, the others keep beating.

    `dr.beat()` does nothing on a database that subscribes, so `--target both` beats on whichever is the primary.
    """
    prefixes = {"publisher": ["PUBLISHER"], "subscriber": ["SUBSCRIBER"], "both": ["PUBLISHER", "SUBSCRIBER"]}[args.target]
    targets = {prefix: _endpoint(prefix) for prefix in prefixes}
    conns: dict = {prefix: None for prefix in prefixes}
    n = 0
    while args.count is None or n < args.count:
        for prefix, endpoint in targets.items():
            try:
                if conns[prefix] is None:
                    conns[prefix] = connect(endpoint)
                seq = replication.beat(conns[prefix], args.rate_window)
                if args.verbose:
                    echo(f"{prefix.lower()}: " + ("not the primary (it subscribes): no beat" if seq is None else f"heartbeat {seq}"))
            except (DrError, psycopg.Error) as exc:
                if conns[prefix] is not None:
                    conns[prefix].close()
                conns[prefix] = None
                print(f"! {prefix.lower()}: {SCRUB(str(exc).strip())}", file=sys.stderr, flush=True)
        n += 1
        if args.count is None or n < args.count:
            time.sleep(args.interval)
    return 0


def cmd_lag(args) -> int:
    subscriber = _endpoint("SUBSCRIBER")
    publisher = _primary(args)
    with connect(subscriber) as sub:
        # A primary that answers but refuses the login is an error (exit 2), not "unreachable".
        pub = reachable(publisher, role="the primary") if publisher is not None else None
        try:
            timeout = args.timeout if args.timeout is not None else max(1.0, 2 * args.max_seconds if args.max_seconds else 10.0)
            lag = replication.measure_lag(sub, pub, probe_timeout_s=timeout)
        finally:
            if pub is not None:
                pub.close()
    over = list(lag.problems)
    if lag.seconds is None:
        over.append("no heartbeat on the copy")
    elif args.max_seconds is not None and lag.seconds > args.max_seconds:
        over.append(f"lag {'' if lag.bound == 'exact' else lag.bound + ' '}{lag.seconds:.3f} s > {args.max_seconds:g} s")
    if args.max_bytes is not None and lag.bytes is not None and lag.bytes > args.max_bytes:
        over.append(f"unconfirmed WAL {lag.bytes} > {args.max_bytes} bytes")
    if not lag.subscription_running:
        over.append("the subscription's worker is not running")
    # Without a threshold there is nothing to be ok against: `ok` is null unless something is wrong.
    judged = args.max_seconds is not None or args.max_bytes is not None
    ok = False if over else (True if judged else None)
    if args.json:
        print(json.dumps({**lag.as_dict(), "max_seconds": args.max_seconds, "max_bytes": args.max_bytes, "ok": ok, "problems": over}))
    else:
        print(replication.format_lag(lag))
        for problem in over:
            print(f"! {problem}", file=sys.stderr)
    return 1 if over else 0


def cmd_promote(args) -> int:
    subscriber = _endpoint("SUBSCRIBER")
    publisher = _primary(args)
    record = failover.promote(
        subscriber,
        publisher,
        app_role=args.app_role,
        window_s=args.window_seconds,
        margin=args.sequence_margin,
        catchup_s=args.catchup_seconds,
        accept_behind=args.accept_behind,
        echo=echo,
    )
    _write_record(record, args)
    print("the copy is the primary: point the application at it")
    return 0


def cmd_fence(args) -> int:
    record = failover.fence_primary(_endpoint("PUBLISHER"), app_role=args.app_role, drop_dead_slot=not args.keep_slot, echo=echo)
    _write_record(record, args)
    return 0


def cmd_drop_slot(args) -> int:
    with connect(_endpoint("PUBLISHER")) as conn:
        echo(replication.drop_slot(conn, args.slot, force=args.force))
    return 0


def cmd_failback(args) -> int:
    aws, gcp = _endpoint("PUBLISHER"), _endpoint("SUBSCRIBER")
    try:
        if args.phase == "prepare":
            record = failover.failback_prepare(
                aws, gcp, app_role=args.app_role, wait_s=args.wait, echo=echo, discard=args.discard_old_primary_changes
            )
        else:
            record = failover.failback_switch(
                aws,
                gcp,
                app_role=args.app_role,
                wait_s=args.wait,
                echo=echo,
                replication_login=_replication_login(aws),
                monitor_role=args.monitor_role,
            )
    except DrError as exc:
        if getattr(exc, "record", None) is not None:  # what a person needs to decide (both versions of every row)
            _write_record(exc.record, args)  # type: ignore[attr-defined]
        raise
    _write_record(record, args)
    return 0


def cmd_status(args) -> int:
    aws, gcp = _endpoint("PUBLISHER"), _endpoint("SUBSCRIBER")
    with connect(aws) as a, connect(gcp) as g:
        found = failover.replication_objects(a, g, expected=False)
        extra = failover.replication_objects(a, g, expected=True)
        slots = {side: failover.slot_health(conn) for side, conn in (("aws", a), ("gcp", g))}
    problems = [replication.slot_lost_message(slot, f"the {side} database") for side, lost in slots.items() for slot in lost]
    print(json.dumps({"objects": found, "beyond_steady_state": extra, "lost_slots": slots, "problems": problems}, indent=2))
    for problem in problems:
        print(f"! {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_gameday(args) -> int:
    from . import gameday

    return gameday.main(args)


def cmd_drill(args) -> int:
    from . import drill  # the drill needs local PostgreSQL binaries and matplotlib; the other commands do not

    return drill.main(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dr",
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(dest="command", required=True)
    app_role = os.environ.get("DR_APP_ROLE", failover.DEFAULT_APP_ROLE)
    monitor_role = os.environ.get("DR_MONITOR_ROLE", failover.DEFAULT_MONITOR_ROLE)

    c = commands.add_parser("setup", help="heartbeat, schema copy, publication, subscription; waits for the initial copy (idempotent)")
    c.add_argument("--no-schema", action="store_true", help="the subscriber already has the schema")
    c.add_argument("--wait", type=float, default=600, help="seconds to wait for the initial copy (600)")
    c.add_argument("--app-role", default=app_role, help="the application's role: read-only on the copy")
    c.add_argument("--monitor-role", default=monitor_role, help=f"the lag monitor's role, where it exists ({monitor_role})")
    c.add_argument(
        "--reseed",
        action="store_true",
        help="the subscription's slot was lost (or is gone): drop the subscription, empty the copy's tables, copy everything again",
    )
    c.set_defaults(run=cmd_setup)

    c = commands.add_parser("heartbeat", help="write the primary's heartbeat every --interval seconds (run it continuously)")
    c.add_argument("--interval", type=float, default=1.0)
    c.add_argument(
        "--target",
        choices=["publisher", "subscriber", "both"],
        default="publisher",
        help="where to beat; only a database that does not subscribe (the primary) records a beat",
    )
    c.add_argument("--count", type=int, help="stop after this many beats")
    c.add_argument("--rate-window", type=float, default=replication.RATE_WINDOW_S, help="seconds over which ids/s are measured")
    c.add_argument("--verbose", action="store_true")
    c.set_defaults(run=cmd_heartbeat)

    c = commands.add_parser("lag", help="true replication lag in seconds and bytes; exit 1 over a threshold or when the slot is lost")
    c.add_argument("--max-seconds", type=float, help="exit 1 when the lag exceeds this (e.g. 4 for a 5 s RPO)")
    c.add_argument("--max-bytes", type=int, help="exit 1 when the copy has not confirmed more WAL than this")
    c.add_argument("--timeout", type=float, help="longest wait for the probe heartbeat (default 2 x --max-seconds, or 10)")
    c.add_argument(
        "--no-primary",
        action="store_true",
        help="do not contact the primary (age of the copy's newest heartbeat); without it PUBLISHER_HOST is required",
    )
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_lag)

    c = commands.add_parser("promote", help="AWS is lost: fence it if reachable, make the GCP copy the read/write primary")
    c.add_argument("--app-role", default=app_role, help=f"the application's database role ({app_role})")
    c.add_argument(
        "--window-seconds",
        type=float,
        default=failover.DEFAULT_WINDOW_S,
        help=f"detection + promotion window the old primary may keep writing ({failover.DEFAULT_WINDOW_S} s)",
    )
    c.add_argument("--sequence-margin", type=int, help="fixed margin instead of the measured rate x window")
    c.add_argument(
        "--catchup-seconds",
        type=float,
        default=10,
        help="when the old primary is reachable, wait this long for the copy; still behind then: stop (exit 2) unless --accept-behind",
    )
    c.add_argument(
        "--accept-behind",
        action="store_true",
        help="promote even though the copy has not caught up with the reachable, fenced old primary (its missing writes are lost)",
    )
    c.add_argument(
        "--no-primary",
        action="store_true",
        help="the old primary is lost: do not try to reach it (without this flag PUBLISHER_HOST is required)",
    )
    c.add_argument("--record", help="write the JSON record of what was done here")
    c.add_argument("--json", action="store_true", help="print the JSON record")
    c.set_defaults(run=cmd_promote)

    c = commands.add_parser("fence", help="after a failover, stop the old primary's application writes and drop its dead slot")
    c.add_argument("--app-role", default=app_role)
    c.add_argument("--keep-slot", action="store_true")
    c.add_argument("--record")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_fence)

    c = commands.add_parser("drop-slot", help="drop the primary's slot of a dead subscriber (it keeps WAL until dropped)")
    c.add_argument("--slot", default=replication.SLOT)
    c.add_argument("--force", action="store_true", help="end the walsender still holding the slot")
    c.set_defaults(run=cmd_drop_slot)

    c = commands.add_parser("failback", help="back to AWS: `prepare` (rebuild + GCP -> AWS), then `switch` (planned pause)")
    c.add_argument("phase", choices=["prepare", "switch"])
    c.add_argument("--app-role", default=app_role)
    c.add_argument("--wait", type=float, default=600, help="seconds to wait for copies and catch-up")
    c.add_argument(
        "--discard-old-primary-changes",
        action="store_true",
        help="prepare: a person has reconciled the rows the old primary changed after the cut (listed in the record of the "
        "refused run): apply none of them and carry on",
    )
    c.add_argument("--monitor-role", default=monitor_role, help="switch: the lag monitor's role, granted schema dr on aws again")
    c.add_argument("--record")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_failback)

    c = commands.add_parser("status", help="slots, subscriptions and publications on both sides; exit 1 when a slot is lost")
    c.set_defaults(run=cmd_status)

    c = commands.add_parser("drill", help="the whole failover and failback on two local PostgreSQL 15 servers")
    c.add_argument("--rtt-ms", type=float, default=20)
    c.add_argument("--seconds", type=float, default=60, help="seconds of load before the cut")
    c.add_argument("--clients", type=int, default=8)
    c.add_argument("--detect-seconds", type=float, default=2, help="seconds the cut-off primary keeps taking writes")
    c.add_argument("--after-seconds", type=float, default=5, help="seconds of application writes on the promoted copy")
    c.add_argument("--json", dest="json_path", help="write the JSON report here")
    c.add_argument("--plot", help="write a PNG of lag over time here")
    c.add_argument("--min-tps", type=float, default=1000)
    c.add_argument("--max-lag-p99", type=float, default=1.0)
    c.add_argument("--max-promotion", type=float, default=10.0)
    c.add_argument("--keep", action="store_true", help="leave the servers' directory behind")
    c.add_argument("--cases", nargs="+", choices=list(DRILL_CASES), help=f"run only these cases (all: {' '.join(DRILL_CASES)})")
    c.set_defaults(run=cmd_drill)

    c = commands.add_parser(
        "gameday", help="the documents' AWS-outage test against the deployed estate, through AWS FIS (a dry run unless --execute)"
    )
    gameday_arguments(c)
    c.set_defaults(run=cmd_gameday)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except DrError as exc:
        print(f"error: {SCRUB(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {SCRUB(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
