"""`python -m dr setup | lag | promote`: the DR database steps as commands.

Endpoints come from the environment so passwords stay out of shell history:
  PUBLISHER_HOST, PUBLISHER_PASSWORD (RDS: aws-dr outputs databaseAddress, databasePassword)
  SUBSCRIBER_HOST, SUBSCRIBER_PASSWORD (Cloud SQL: gcp-dr outputs databasePrivateIp, databasePassword)
  and optionally *_PORT (5432), *_DBNAME (crm), *_USER (crmadmin), *_SSLMODE (require).
  REPLICATION_USER, REPLICATION_PASSWORD (aws-dr outputs databaseReplicationUsername/Password): the role
  the subscription signs in to RDS as; without them it uses the publisher's admin user.
Run it from a host that reaches both databases (a pod in the GKE cluster reaches Cloud SQL, and RDS over the VPN).
"""
from __future__ import annotations

import argparse
import os
import sys

from . import replication
from .replication import Endpoint


def endpoint(prefix: str) -> Endpoint:
    missing = [f"{prefix}_{k}" for k in ("HOST", "PASSWORD") if not os.environ.get(f"{prefix}_{k}")]
    if missing:
        raise SystemExit(f"set {', '.join(missing)}")
    env = lambda key, default: os.environ.get(f"{prefix}_{key}", default)  # noqa: E731
    return Endpoint(host=env("HOST", ""), port=int(env("PORT", "5432")), dbname=env("DBNAME", "crm"), user=env("USER", "crmadmin"),
                    password=env("PASSWORD", ""), sslmode=env("SSLMODE", "require"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dr", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup", help="copy the schema, create the publication and the subscription (idempotent)")
    setup.add_argument("--no-schema", action="store_true", help="the subscriber already has the schema")
    commands.add_parser("lag", help="seconds since the copy last heard from the primary")
    promote = commands.add_parser("promote", help="AWS is lost: make the GCP copy the read/write primary")
    promote.add_argument("--sequence-margin", type=int, default=replication.DEFAULT_SEQUENCE_MARGIN)
    promote.add_argument("--app-role", default=replication.DEFAULT_APP_ROLE, help="the application's role, granted writes (default crm_app)")
    args = parser.parse_args(argv)

    if args.command == "setup":
        publisher, subscriber = endpoint("PUBLISHER"), endpoint("SUBSCRIBER")
        print(f"publisher:  {publisher.redacted()}\nsubscriber: {subscriber.redacted()}")
        login = None
        if os.environ.get("REPLICATION_USER") and os.environ.get("REPLICATION_PASSWORD"):
            login = Endpoint(host=publisher.host, port=publisher.port, dbname=publisher.dbname, user=os.environ["REPLICATION_USER"],
                             password=os.environ["REPLICATION_PASSWORD"], sslmode=publisher.sslmode)
        for step in replication.setup(publisher, subscriber, schema=not args.no_schema, replication=login):
            print(f"- {step}")
        return 0
    with replication.connect(endpoint("SUBSCRIBER")) as conn:
        if args.command == "lag":
            lag = replication.lag_seconds(conn)
            print("replication is not running" if lag is None else f"{lag:.1f} s behind")
            return 1 if lag is None else 0
        result = replication.promote(conn, args.sequence_margin, args.app_role)
    print("subscription detached and dropped" if result.subscription_dropped else "no subscription (already promoted?)")
    print(f"writes granted to {result.writes_granted_to}" if result.writes_granted_to else f"! role {args.app_role} not found: no writes granted",
          file=sys.stdout if result.writes_granted_to else sys.stderr)
    for move in result.moved:
        print(f"- {move.sequence}: {move.table}.{move.column} highest {move.highest_key}, next value {move.next_value}")
    for sequence in result.unowned:
        print(f"! {sequence} belongs to no column: set it by hand before writing", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
