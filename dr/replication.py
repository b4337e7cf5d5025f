"""Replication setup, heartbeat and true lag, as SQL against two PostgreSQL 15 databases."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Optional

import psycopg
from psycopg import sql

from .endpoint import DrError, Endpoint, connect, run_client

PUBLICATION = "crm_replication"
SLOT = "crm_slot"
SUBSCRIPTION = "crm_subscription"
# The rate window of the heartbeat: the ids-per-second figures promotion sizes its margin from.
RATE_WINDOW_S = 30

# `dr.beat()` is the heartbeat: one row the primary updates (by `python -m dr heartbeat`, or pg_cron
# where available). It replicates like any row, so the copy knows the newest primary write it holds
# and, after the primary is lost, how fast the primary was handing out ids.
HEARTBEAT_DDL = """
CREATE SCHEMA IF NOT EXISTS dr;
CREATE TABLE IF NOT EXISTS dr.heartbeat (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    beat_at timestamptz NOT NULL,
    id_rates jsonb NOT NULL DEFAULT '{}',
    window_at timestamptz NOT NULL,
    window_values jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS dr.promotion (
    id smallint PRIMARY KEY CHECK (id = 1),
    promoted_at timestamptz NOT NULL,
    highest_keys jsonb NOT NULL
);
CREATE OR REPLACE FUNCTION dr.beat(rate_window interval DEFAULT '30 seconds') RETURNS bigint
LANGUAGE plpgsql AS $beat$
DECLARE
    current_values jsonb;
    hb dr.heartbeat;
    elapsed double precision;
    rates jsonb;
BEGIN
    -- Only the primary beats: a database that subscribes (the copy, or RDS while failback rebuilds it)
    -- would otherwise write rows the subscription is about to copy in.
    IF EXISTS (SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_object_agg(format('%I.%I', schemaname, sequencename), coalesce(last_value, 0)), '{}')
      INTO current_values FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema');
    SELECT * INTO hb FROM dr.heartbeat WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO dr.heartbeat VALUES (1, 1, clock_timestamp(), '{}', clock_timestamp(), current_values);
        RETURN 1;
    END IF;
    elapsed := extract(epoch FROM clock_timestamp() - hb.window_at);
    IF elapsed >= extract(epoch FROM rate_window) THEN
        SELECT coalesce(jsonb_object_agg(key, round(greatest(0, value::text::numeric
                   - coalesce((hb.window_values ->> key)::numeric, value::text::numeric)) / elapsed::numeric, 3)), '{}')
          INTO rates FROM jsonb_each(current_values);
        UPDATE dr.heartbeat SET seq = hb.seq + 1, beat_at = clock_timestamp(), id_rates = rates,
               window_at = clock_timestamp(), window_values = current_values WHERE id = 1;
    ELSE
        UPDATE dr.heartbeat SET seq = hb.seq + 1, beat_at = clock_timestamp() WHERE id = 1;
    END IF;
    RETURN hb.seq + 1;
END
$beat$;
"""

USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
_TABLES = f"""
SELECT format('%I.%I', n.nspname, c.relname), EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_SCHEMAS}
ORDER BY 1
"""


def user_tables(conn: psycopg.Connection) -> dict[str, bool]:
    """Every user table (schema-qualified, quoted) -> whether it has a primary key."""
    return {name: has_pk for name, has_pk in conn.execute(_TABLES).fetchall()}


def refuse_tables_without_primary_key(conn: psycopg.Connection, where: str) -> None:
    """Rows of a table without a primary key cannot be matched across servers: a re-copy duplicates them."""
    missing = sorted(name for name, has_pk in user_tables(conn).items() if not has_pk)
    if missing:
        raise DrError(
            f"tables without a primary key on the {where}: {', '.join(missing)}. Logical replication cannot "
            "update or delete their rows, and a re-copy or failback would duplicate them: add a primary key first"
        )


def install_heartbeat(conn: psycopg.Connection) -> str:
    existed = conn.execute("SELECT to_regclass('dr.heartbeat') IS NOT NULL").fetchone()[0]
    conn.execute(HEARTBEAT_DDL)
    beat(conn)
    return "heartbeat dr.heartbeat and dr.beat() " + ("already there (function refreshed)" if existed else "created on the publisher")


def beat(conn: psycopg.Connection, rate_window_s: float = RATE_WINDOW_S) -> Optional[int]:
    """One heartbeat; None on a database that subscribes (not the primary)."""
    return conn.execute("SELECT dr.beat(make_interval(secs => %s))", (rate_window_s,)).fetchone()[0]


def probe_beat(conn: psycopg.Connection) -> int:
    seq = beat(conn)
    if seq is None:
        raise DrError("the database expected to be the primary subscribes to another one: it is a copy, not the primary")
    return seq


def copy_schema(publisher: Endpoint, subscriber: Endpoint, pg_dump: str = "pg_dump", psql: str = "psql") -> None:
    """Logical replication needs the tables to exist on the subscriber: copy the schema, not the data.

    The connection goes to pg_dump and psql in their environment (PGHOST, PGPASSWORD...), never in argv.
    """
    dump = run_client(publisher, [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "--no-publications", "--no-subscriptions"])
    run_client(subscriber, [psql, "--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=1"], stdin=dump)


def ensure_schema(publisher: Endpoint, subscriber: Endpoint, pub: psycopg.Connection, sub: psycopg.Connection) -> str:
    wanted, present = set(user_tables(pub)), set(user_tables(sub))
    if not present:
        copy_schema(publisher, subscriber)
        return f"copied the schema ({len(wanted)} tables) to the subscriber"
    if any(t.startswith("dr.") for t in wanted - present):
        sub.execute(HEARTBEAT_DDL)  # the tooling's own tables (empty: the subscription fills them)
        present = set(user_tables(sub))
    missing = sorted(wanted - present)
    if missing:
        raise DrError(
            f"the subscriber has a partial schema; missing tables: {', '.join(missing)}. "
            "Apply their DDL on the subscriber (logical replication does not carry DDL), then run setup again"
        )
    return "schema already on the subscriber"


def create_publication(conn: psycopg.Connection, name: str = PUBLICATION) -> bool:
    """The publication of every table; False when it already exists."""
    if conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone():
        return False
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(name)))
    return True


def drop_publication(conn: psycopg.Connection, name: str) -> bool:
    if not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone():
        return False
    conn.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(name)))
    return True


def slot_state(conn: psycopg.Connection, slot: str) -> Optional[dict]:
    row = conn.execute(
        "SELECT active, active_pid, wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = %s",
        (slot,),
    ).fetchone()
    if row is None:
        return None
    return {"active": row[0], "active_pid": row[1], "wal_status": row[2], "unconfirmed_bytes": row[3], "retained_bytes": row[4]}


def drop_slot(conn: psycopg.Connection, slot: str, *, force: bool = False, timeout_s: float = 30) -> str:
    """Drops a replication slot whose subscriber is gone, so the primary stops keeping WAL for it.

    An active slot still has a walsender (the subscriber, or a dead TCP peer the server has not noticed
    yet, up to wal_sender_timeout): without `force` that is refused; with it the walsender is ended.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        state = slot_state(conn, slot)
        if state is None:
            return f"slot {slot}: none"
        if state["active"]:
            if not force:
                raise DrError(
                    f"slot {slot} is in use by walsender pid {state['active_pid']}: a subscriber still streams from it. "
                    "Pass --force if that subscriber is gone"
                )
            conn.execute("SELECT pg_terminate_backend(%s)", (state["active_pid"],))
        else:
            try:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return f"slot {slot}: dropped (held {state['retained_bytes']} bytes of WAL)"
            except psycopg.errors.ObjectInUse:
                pass
        if time.monotonic() > deadline:
            raise DrError(f"slot {slot} is still in use after {timeout_s:.0f} s")
        time.sleep(0.1)


def subscription_exists(conn: psycopg.Connection, name: str = SUBSCRIPTION) -> bool:
    return conn.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", (name,)).fetchone() is not None


def tables_with_rows(conn: psycopg.Connection, tables: Iterable[str]) -> list[str]:
    return [t for t in tables if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.SQL(t))).fetchone()[0]]


def create_subscription(
    conn: psycopg.Connection,
    publisher: Endpoint,
    *,
    name: str = SUBSCRIPTION,
    publication: str = PUBLICATION,
    slot: str = SLOT,
    copy_data: bool = True,
    enabled: bool = True,
) -> None:
    """The subscription on `conn`'s server, creating `slot` (pgoutput) on the publisher."""
    conn.execute(
        sql.SQL(
            "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (slot_name = {}, create_slot = true, copy_data = {}, enabled = {})"
        ).format(
            sql.Identifier(name),
            sql.Literal(publisher.conninfo()),
            sql.Identifier(publication),
            sql.Literal(slot),
            sql.Literal(copy_data),
            sql.Literal(enabled),
        )
    )


def drop_subscription(conn: psycopg.Connection, name: str, *, keep_remote_slot: bool) -> bool:
    """Drops a subscription; with `keep_remote_slot` it does not contact the publisher (which may be gone)."""
    if not subscription_exists(conn, name):
        return False
    ident = sql.Identifier(name)
    if keep_remote_slot:
        conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident))
        conn.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident))
    conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(ident))
    return True


def sync_states(conn: psycopg.Connection, name: str = SUBSCRIPTION) -> dict[str, str]:
    """Per table, the initial-copy state in pg_subscription_rel: i init, d copying, f/s synced, r ready."""
    rows = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.relname), r.srsubstate FROM pg_subscription_rel r "
        "JOIN pg_subscription s ON s.oid = r.srsubid JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE s.subname = %s ORDER BY 1",
        (name,),
    ).fetchall()
    return dict(rows)


def _sync_errors(conn: psycopg.Connection, name: str) -> int:
    row = conn.execute("SELECT sync_error_count + apply_error_count FROM pg_stat_subscription_stats WHERE subname = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def wait_until_copied(conn: psycopg.Connection, expected: Iterable[str], *, name: str = SUBSCRIPTION, timeout_s: float = 600) -> str:
    """Waits until every expected table is `r` (ready) in pg_subscription_rel; fails on copy errors or timeout."""
    expected = set(expected)
    baseline = _sync_errors(conn, name)
    deadline = time.monotonic() + timeout_s
    while True:
        states = sync_states(conn, name)
        missing = sorted(expected - set(states))
        pending = {t: s for t, s in states.items() if s != "r"}
        if not missing and not pending:
            return f"initial copy finished: {len(states)} tables ready"
        errors = _sync_errors(conn, name) - baseline
        if errors > 0 or time.monotonic() > deadline:
            described = ", ".join(f"{t}={s}" for t, s in sorted(pending.items())) or "none"
            reason = f"{errors} copy/apply errors (see the subscriber's log)" if errors > 0 else f"not done after {timeout_s:.0f} s"
            raise DrError(
                f"initial copy of subscription {name} failed: {reason}; tables not ready: {described}"
                + (f"; not subscribed: {', '.join(missing)}" if missing else "")
            )
        time.sleep(0.2)


def setup(
    publisher: Endpoint,
    subscriber: Endpoint,
    *,
    schema: bool = True,
    wait_s: float = 600,
    echo: Callable[[str], None] = lambda _s: None,
    replication_login: Optional[Endpoint] = None,
) -> list[str]:
    """Starts replication from scratch; safe to run again. Returns (and echoes) what it did.

    `replication_login` is how the subscription signs in to the publisher: the stack's replication
    role (aws-dr outputs databaseReplicationUsername/Password), which holds only rds_replication and
    SELECT. Without it the subscription signs in as `publisher` (the admin user).
    """
    done: list[str] = []

    def step(text: str) -> None:
        done.append(text)
        echo(text)

    with connect(publisher) as pub, connect(subscriber) as sub:
        if pub.execute("SHOW wal_level").fetchone()[0] != "logical":
            raise DrError("the publisher's wal_level is not logical: set rds.logical_replication = 1 and reboot the instance")
        refuse_tables_without_primary_key(pub, "publisher")
        step(install_heartbeat(pub))
        if schema:
            step(ensure_schema(publisher, subscriber, pub, sub))
        step(f"created publication {PUBLICATION}" if create_publication(pub) else f"publication {PUBLICATION} already there")
        published = [
            r[0]
            for r in pub.execute(
                "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_publication_tables WHERE pubname = %s", (PUBLICATION,)
            ).fetchall()
        ]
        if subscription_exists(sub):
            sub.execute(sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(sql.Identifier(SUBSCRIPTION)))
            step(f"subscription {SUBSCRIPTION} already there (enabled)")
        else:
            full = tables_with_rows(sub, published)
            if full:
                raise DrError(
                    f"the subscriber's tables already hold rows: {', '.join(full)}. The initial copy would collide "
                    "with them: empty them (or start from a fresh database) and run setup again"
                )
            if slot_state(pub, SLOT) is not None:
                step(drop_slot(pub, SLOT, force=False) + " (orphaned by an earlier subscription)")
            create_subscription(sub, replication_login or publisher)
            step(f"created subscription {SUBSCRIPTION} (slot {SLOT}, copy_data = true)")
        step(wait_until_copied(sub, published, timeout_s=wait_s))
    return done


@dataclass
class Lag:
    """How far the copy is behind: `seconds` of primary writes it has not applied, `bytes` of WAL it has not confirmed."""

    seconds: Optional[float]
    bytes: Optional[int]
    slot_wal_bytes: Optional[int]
    method: str
    primary_reachable: bool
    subscription_running: bool
    last_beat_at: Optional[str]

    def as_dict(self) -> dict:
        return asdict(self)


def _copy_beat(sub: psycopg.Connection) -> tuple[Optional[int], Optional[object], float]:
    row = sub.execute(
        "SELECT hb.seq, hb.beat_at, extract(epoch FROM clock_timestamp())::float8 FROM (SELECT 1) one "
        "LEFT JOIN dr.heartbeat hb ON hb.id = 1"
    ).fetchone()
    return row[0], row[1], row[2]


def measure_lag(
    sub: psycopg.Connection,
    pub: Optional[psycopg.Connection],
    *,
    probe_timeout_s: float = 10.0,
    subscription: str = SUBSCRIPTION,
    slot: str = SLOT,
) -> Lag:
    """True lag of the copy.

    With the primary reachable: a probe heartbeat is written on the primary and timed until the copy
    has applied it (a fresh write waits behind everything not yet applied, so this is the lag a write
    made now would see; an idle pair reads ~0). It is combined with the age of the newest primary beat
    the copy is missing, and the slot's unconfirmed WAL gives the bytes. Without the primary, the
    copy can only tell how old its newest beat is (an upper bound, growing while the primary is gone).
    """
    if sub.execute("SELECT to_regclass('dr.heartbeat') IS NULL").fetchone()[0]:
        raise DrError("the copy has no dr.heartbeat table: run `python -m dr setup` first")
    running = sub.execute(
        "SELECT s.pid IS NOT NULL FROM pg_subscription p LEFT JOIN pg_stat_subscription s ON s.subid = p.oid AND s.relid IS NULL "
        "WHERE p.subname = %s",
        (subscription,),
    ).fetchone()
    subscription_running = bool(running and running[0])
    copy_seq, copy_at, copy_now = _copy_beat(sub)
    if pub is None:
        age = None if copy_at is None else max(0.0, copy_now - copy_at.timestamp())
        return Lag(
            age,
            None,
            None,
            "age of the newest heartbeat on the copy (primary unreachable)",
            False,
            subscription_running,
            None if copy_at is None else copy_at.isoformat(),
        )
    pub_seq, pub_now = pub.execute(
        "SELECT hb.seq, extract(epoch FROM clock_timestamp())::float8 FROM (SELECT 1) one LEFT JOIN dr.heartbeat hb ON hb.id = 1"
    ).fetchone()
    behind = 0.0
    if pub_seq is not None and copy_seq is not None and copy_seq < pub_seq:
        behind = max(0.0, pub_now - copy_at.timestamp())
    probe = probe_beat(pub)
    started = time.monotonic()
    waited = 0.0
    while True:
        seq, _at, _ = _copy_beat(sub)
        waited = time.monotonic() - started
        if seq is not None and seq >= probe:
            break
        if waited >= probe_timeout_s:
            break
        time.sleep(0.01)
    state = slot_state(pub, slot)
    seconds = max(behind, waited)
    copy_seq, copy_at, _ = _copy_beat(sub)
    return Lag(
        round(seconds, 3) + 0.0,
        None if state is None else state["unconfirmed_bytes"],
        None if state is None else state["retained_bytes"],
        "probe heartbeat written on the primary and timed until applied on the copy",
        True,
        subscription_running,
        None if copy_at is None else copy_at.isoformat(),
    )


def format_lag(lag: Lag) -> str:
    if lag.seconds is None:
        return "lag unknown: the copy has never received a heartbeat"
    text = f"{max(0.0, lag.seconds):.3f} s behind"
    if lag.bytes is not None:
        text += f", {lag.bytes} bytes of WAL unconfirmed, slot holds {lag.slot_wal_bytes} bytes"
    if not lag.primary_reachable:
        text += " (primary unreachable: age of the copy's newest heartbeat)"
    if not lag.subscription_running:
        text += " (subscription worker not running)"
    return text
