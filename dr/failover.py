"""Failover (promote the GCP copy, fencing the old primary) and failback (back to RDS), step by step.

Every step looks before it acts, so each command can be run again after a failure and carries on
where it stopped. Each returns a record (a dict) of what it did, for the incident log.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Optional

import psycopg
from psycopg import sql

from . import replication as rep
from .endpoint import DrError, Endpoint, connect, reachable

DEFAULT_APP_ROLE = "crm_app"
# Cloudflare marks an origin down after consecutive failed checks (components/cloudflare/health.py:
# 60 s interval, 2 retries, 5 s timeout -> ~75 s); the old primary may take writes all that time,
# and during the operator's decision and the promotion itself.
DETECTION_S = 75
PROMOTION_WINDOW_S = 45
DEFAULT_WINDOW_S = DETECTION_S + PROMOTION_WINDOW_S
SAFETY_FACTOR = 2.0
MIN_MARGIN = 1_000
# No measured rate (the heartbeat writer was not running): a margin no CRM write rate reaches in a window.
FALLBACK_MARGIN = 1_000_000
FAILBACK_PUBLICATION = "crm_failback"
FAILBACK_SUBSCRIPTION = "crm_failback"
FAILBACK_SLOT = "crm_failback_slot"

Echo = Callable[[str], None]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Record:
    """What a command did, step by step (printed as it goes; written as JSON for the incident log)."""

    command: str
    echo: Echo = field(default=lambda _s: None, repr=False)
    started_at: str = field(default_factory=_now)
    steps: list = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def step(self, text: str, **details) -> None:
        self.steps.append({"at": _now(), "did": text, **details})
        self.echo(text)

    def as_dict(self) -> dict:
        return {"command": self.command, "started_at": self.started_at, "finished_at": _now(), "steps": self.steps, **self.data}

    def json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=str)


# --- fencing -------------------------------------------------------------------------------------


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def fence(conn: psycopg.Connection, app_role: str, record: Record, where: str) -> None:
    """Stops the application writing to this server.

    The application's role loses LOGIN (no new sessions), defaults to read-only transactions (should
    LOGIN come back before the failback decides), and its open sessions are ended. Role settings
    leave the replication worker (which runs as the admin) untouched, and one command undoes them
    (`unfence`); revoking table grants would have to remember and restore every grant.
    """
    if not _role_exists(conn, app_role):
        record.step(f"{where}: no role {app_role}: nothing to fence (set --app-role)", warning=True)
        return
    me = conn.execute("SELECT current_user").fetchone()[0]
    role = sql.Identifier(app_role)
    if app_role == me:
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
        record.step(
            f"{where}: role {app_role} is the admin role itself, so it keeps LOGIN: set it read-only only. "
            "Give the application its own role to make fencing complete",
            warning=True,
        )
    else:
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
    ended = conn.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE usename = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        (app_role,),
    ).fetchone()[0]
    record.step(f"{where}: fenced role {app_role} (NOLOGIN, read-only default), ended {ended} of its sessions", sessions_ended=ended)


def unfence(conn: psycopg.Connection, app_role: str, record: Record, where: str, *, writable: bool) -> None:
    """Lets the application back in: read/write (the primary) or read-only (the copy)."""
    if not _role_exists(conn, app_role):
        record.step(f"{where}: no role {app_role}: nothing to unfence", warning=True)
        return
    role = sql.Identifier(app_role)
    if app_role != conn.execute("SELECT current_user").fetchone()[0]:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(role))
    if writable:
        conn.execute(sql.SQL("ALTER ROLE {} RESET default_transaction_read_only").format(role))
    else:
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
    record.step(f"{where}: role {app_role} may log in again, " + ("read/write" if writable else "read-only"))


def _app_schemas(conn: psycopg.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(f"SELECT n.nspname FROM pg_namespace n WHERE {rep.USER_SCHEMAS} AND n.nspname <> 'dr' ORDER BY 1").fetchall()
    ]


def grant_writes(conn: psycopg.Connection, app_role: str, record: Record, where: str, *, grant: bool) -> None:
    if not _role_exists(conn, app_role):
        record.step(f"{where}: no role {app_role}: grant writes to the application's role by hand", warning=True)
        return
    role = sql.Identifier(app_role)
    for schema in _app_schemas(conn):
        ns = sql.Identifier(schema)
        if grant:
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ns, role))
            conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(ns, role))
            conn.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(ns, role))
        else:
            conn.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} FROM {}").format(ns, role))
            conn.execute(sql.SQL("REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(ns, role))
    record.step(
        f"{where}: "
        + (
            f"granted writes on every application table and sequence to {app_role}"
            if grant
            else f"revoked writes from {app_role} (the copy is read-only again)"
        )
    )


# --- sequences -----------------------------------------------------------------------------------

_OWNED_SEQUENCES = """
SELECT format('%I.%I', sn.nspname, s.relname), format('%I.%I', tn.nspname, t.relname), a.attname, ps.max_value
FROM pg_class s
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = s.relname
WHERE s.relkind = 'S'
ORDER BY 1
"""
_ALL_SEQUENCES = (
    "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, start_value - 1), max_value FROM pg_sequences "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
)


def owned_sequences(conn: psycopg.Connection) -> list[tuple[str, str, str, int]]:
    return conn.execute(_OWNED_SEQUENCES).fetchall()


def sequence_values(conn: psycopg.Connection) -> dict[str, int]:
    return {name: int(value) for name, value, _max in conn.execute(_ALL_SEQUENCES).fetchall()}


def margin_for(rate_per_s: Optional[float], window_s: float, safety: float = SAFETY_FACTOR) -> int:
    """Ids the lost primary may have handed out after the last replicated row: rate x window x safety, at least MIN_MARGIN."""
    if rate_per_s is None:
        return FALLBACK_MARGIN
    return max(MIN_MARGIN, math.ceil(rate_per_s * window_s * safety))


def _holes(conn: psycopg.Connection, table: str, column: str, highest: Optional[int], rate: Optional[float]) -> list[int]:
    """Keys just below the highest replicated one that the copy lacks at promotion.

    Ids are handed out at insert, rows replicate at commit: a transaction in flight at the cut can hold
    an id below the highest replicated key. Failback recovers those keys too; a key the copy had at
    promotion and deleted later is not among them, so it is not brought back.
    """
    if highest is None:
        return []
    look_back = min(200_000, max(10_000, math.ceil((rate or 0) * 30)))
    rows = conn.execute(
        sql.SQL(
            "SELECT g FROM generate_series(%s::bigint, %s::bigint) g WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE t.{} = g) ORDER BY g"
        ).format(sql.SQL(table), sql.Identifier(column)),
        (max(1, highest - look_back + 1), highest),
    ).fetchall()
    return [r[0] for r in rows]


def _highest(conn: psycopg.Connection, table: str, column: str) -> Optional[int]:
    value = conn.execute(sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.SQL(table))).fetchone()[0]
    return None if value is None else int(value)


# --- promote -------------------------------------------------------------------------------------


def promote(
    copy: Endpoint,
    old_primary: Optional[Endpoint],
    *,
    app_role: str = DEFAULT_APP_ROLE,
    window_s: float = DEFAULT_WINDOW_S,
    margin: Optional[int] = None,
    catchup_s: float = 10,
    echo: Echo = lambda _s: None,
) -> Record:
    """AWS is lost (or being left): make the GCP copy the read/write primary."""
    record = Record("promote", echo)
    record.data.update(window_s=window_s, app_role=app_role)
    old = reachable(old_primary) if old_primary is not None else None
    record.data["old_primary_reachable"] = old is not None
    exact: dict[str, int] = {}
    try:
        with connect(copy) as conn:
            already = (
                conn.execute("SELECT to_regclass('dr.promotion') IS NOT NULL").fetchone()[0]
                and conn.execute("SELECT promoted_at FROM dr.promotion WHERE id = 1").fetchone()
            )
            if old is not None:
                fence(old, app_role, record, "old primary")
                if rep.subscription_exists(conn):
                    _catch_up(old, conn, catchup_s, record)
                exact = sequence_values(old)
                record.step("old primary: read its sequences (fenced, so they no longer move)")
            else:
                record.step(
                    "old primary: unreachable"
                    + ("" if old_primary is None else f" ({old_primary.host}:{old_primary.port})")
                    + "; fence it as soon as it is reachable (`python -m dr fence`)",
                    warning=old_primary is not None,
                )
            if rep.drop_subscription(conn, rep.SUBSCRIPTION, keep_remote_slot=True):
                record.step(f"copy: subscription {rep.SUBSCRIPTION} detached from its slot and dropped")
            else:
                record.step("copy: no subscription (already promoted?)")
            if old is not None:
                record.step("old primary: " + rep.drop_slot(old, rep.SLOT, force=True))
            if already:
                record.step(f"copy: sequences already moved by the promotion at {already[0].isoformat()}; left alone")
            else:
                _move_sequences(conn, record, exact, window_s, margin)
            grant_writes(conn, app_role, record, "copy", grant=True)
            unfence(conn, app_role, record, "copy", writable=True)
    finally:
        if old is not None:
            old.close()
    return record


def _catch_up(old: psycopg.Connection, copy: psycopg.Connection, timeout_s: float, record: Record) -> None:
    """The old primary is fenced and reachable: let the copy apply what it still has before detaching."""
    try:
        lag = rep.measure_lag(copy, old, probe_timeout_s=timeout_s)
    except DrError as exc:
        record.step(f"copy: could not wait for catch-up: {exc}", warning=True)
        return
    caught_up = lag.seconds is not None and lag.seconds < timeout_s
    record.step(
        f"copy: {'caught up with' if caught_up else 'still behind'} the fenced old primary after {lag.seconds:.3f} s", warning=not caught_up
    )


def _move_sequences(conn: psycopg.Connection, record: Record, exact: dict[str, int], window_s: float, margin: Optional[int]) -> None:
    row = (
        conn.execute("SELECT id_rates, beat_at FROM dr.heartbeat WHERE id = 1").fetchone()
        if conn.execute("SELECT to_regclass('dr.heartbeat') IS NOT NULL").fetchone()[0]
        else None
    )
    rates = dict(row[0]) if row else {}
    if row:
        record.data["last_heartbeat_from_primary"] = row[1].isoformat()
    current = sequence_values(conn)
    moves, highest_keys = [], {}
    owned = owned_sequences(conn)
    with conn.transaction():
        for sequence, table, column, max_value in owned:
            highest = _highest(conn, table, column)
            base = max(highest or 0, current.get(sequence, 0))
            if margin is not None:
                gap, basis = margin, "margin given on the command line"
            elif sequence in exact:
                base = max(base, exact[sequence])
                gap, basis = MIN_MARGIN, "the fenced old primary's own sequence value"
            elif sequence in rates:
                gap = margin_for(float(rates[sequence]), window_s)
                basis = f"{float(rates[sequence]):.1f} ids/s measured by the heartbeat x {window_s:.0f} s x {SAFETY_FACTOR:g}"
            else:
                gap, basis = FALLBACK_MARGIN, "no measured rate (heartbeat not running): fallback margin"
            target = base + gap
            if target >= max_value:
                raise DrError(
                    f"{sequence}: {base} + margin {gap} passes the sequence's maximum {max_value}; pass a smaller --sequence-margin"
                )
            conn.execute("SELECT setval(%s::regclass, %s, true)", (sequence, target))
            highest_keys[f"{table}.{column}"] = {
                "table": table,
                "column": column,
                "highest": highest,
                "next": target + 1,
                "holes": _holes(conn, table, column, highest, rates.get(sequence)),
            }
            moves.append(
                {
                    "sequence": sequence,
                    "table": table,
                    "column": column,
                    "highest_key": highest,
                    "margin": gap,
                    "next_value": target + 1,
                    "basis": basis,
                }
            )
        conn.execute("INSERT INTO dr.promotion VALUES (1, now(), %s) ON CONFLICT (id) DO NOTHING", (json.dumps(highest_keys),))
    for move in moves:
        record.step(
            f"copy: {move['sequence']} ({move['table']}.{move['column']}) highest {move['highest_key']}, "
            f"next value {move['next_value']} (margin {move['margin']}: {move['basis']})"
        )
    owned_names = {r[0] for r in owned}
    unowned = sorted(set(current) - owned_names)
    for name in unowned:
        record.step(f"copy: sequence {name} belongs to no column: set it by hand before the application uses it", warning=True)
    record.data.update(sequences=moves, unowned_sequences=unowned)


# --- fence / slot commands -------------------------------------------------------------------------


def fence_primary(
    primary: Endpoint, *, app_role: str = DEFAULT_APP_ROLE, drop_dead_slot: bool = True, echo: Echo = lambda _s: None
) -> Record:
    """The old primary is reachable again after a failover: stop its writes and drop the slot nobody reads."""
    record = Record("fence", echo)
    with connect(primary) as conn:
        fence(conn, app_role, record, "old primary")
        if drop_dead_slot:
            record.step("old primary: " + rep.drop_slot(conn, rep.SLOT, force=True))
    return record


# --- failback ------------------------------------------------------------------------------------


def _fk_order(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """Tables ordered so that a referenced table comes before the tables that reference it."""
    edges = conn.execute(
        "SELECT format('%I.%I', cn.nspname, c.relname), format('%I.%I', rn.nspname, r.relname) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace "
        "JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace "
        "WHERE k.contype = 'f' AND k.conrelid <> k.confrelid"
    ).fetchall()
    needs = {t: {ref for child, ref in edges if child == t and ref in tables} for t in tables}
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, deps in needs.items() if not deps - set(ordered))
        if not ready:  # a cycle: keep the rest in name order
            ready = sorted(needs)
        for t in ready:
            ordered.append(t)
            needs.pop(t)
    return ordered


def recover_lost_writes(aws: psycopg.Connection, gcp: psycopg.Connection, record: Record) -> dict:
    """Rows the old primary took after the last replicated key (the writes lost at the cut, and any taken
    before it was fenced) are copied into the promoted copy with their own ids: the promotion's margin
    left those ids free. A key taken on both sides is a collision: the copy's row wins and the old
    primary's row is listed in the record.
    """
    row = (
        gcp.execute("SELECT highest_keys FROM dr.promotion WHERE id = 1").fetchone()
        if gcp.execute("SELECT to_regclass('dr.promotion') IS NOT NULL").fetchone()[0]
        else None
    )
    if row is None:
        record.step("recovery: no promotion record on the copy: nothing to recover", warning=True)
        return {"recovered": 0, "collisions": 0}
    keys = {v["table"]: v for v in row[0].values()}
    for table in sorted(set(rep.user_tables(aws)) - set(keys)):
        if not table.startswith("dr."):
            record.step(
                f"recovery: {table} has no sequence-generated key: rows the old primary took after the cut are not "
                "recovered automatically; compare with the RDS snapshot",
                warning=True,
            )
    recovered = collisions = 0
    colliding: dict[str, list] = {}
    with gcp.transaction():
        for table in _fk_order(aws, sorted(keys)):
            column, highest = keys[table]["column"], keys[table]["highest"] or 0
            tmp = sql.Identifier("dr_recover")
            gcp.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(tmp, sql.SQL(table)))
            col = sql.Identifier(column)
            holes = sql.SQL("ARRAY[{}]::bigint[]").format(sql.SQL(", ").join(sql.Literal(int(h)) for h in keys[table].get("holes") or [0]))
            with (
                aws.cursor().copy(
                    sql.SQL("COPY (SELECT * FROM {} WHERE {} > {} OR {} = ANY({}) ORDER BY {}) TO STDOUT (FORMAT binary)").format(
                        sql.SQL(table), col, sql.Literal(int(highest)), col, holes, col
                    )
                ) as source,
                gcp.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(tmp)) as sink,
            ):
                for data in source:
                    sink.write(data)
            inserted = gcp.execute(
                sql.SQL(
                    "WITH ins AS (INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {} ON CONFLICT DO NOTHING RETURNING 1) "
                    "SELECT count(*) FROM ins"
                ).format(sql.SQL(table), tmp)
            ).fetchone()[0]
            clashes = [
                r[0]
                for r in gcp.execute(
                    sql.SQL(
                        "SELECT x.{c} FROM {tmp} x JOIN {t} y ON y.{c} = x.{c} WHERE (x.*)::text IS DISTINCT FROM (y.*)::text ORDER BY 1"
                    ).format(c=col, tmp=tmp, t=sql.SQL(table))
                ).fetchall()
            ]
            gcp.execute(sql.SQL("DROP TABLE {}").format(tmp))
            recovered += inserted
            collisions += len(clashes)
            if clashes:
                colliding[table] = clashes[:1000]
            record.step(
                f"recovery: {table}: {inserted} rows the old primary took after key {highest} (or in flight below it) copied to the copy"
                + (f"; {len(clashes)} keys taken on both sides (copy's row kept)" if clashes else ""),
                warning=bool(clashes),
            )
    record.data.update(recovered_rows=recovered, collisions=collisions, colliding_keys=colliding)
    return {"recovered": recovered, "collisions": collisions}


def wait_caught_up(source: psycopg.Connection, target: psycopg.Connection, subscription: str, slot: str, timeout_s: float) -> float:
    """Seconds until a heartbeat written on `source` now is applied on `target` (DrError on timeout)."""
    probe = rep.probe_beat(source)
    started = time.monotonic()
    while True:
        seq = target.execute("SELECT seq FROM dr.heartbeat WHERE id = 1").fetchone()
        if seq and seq[0] >= probe:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise DrError(
                f"subscription {subscription} has not caught up after {timeout_s:.0f} s (slot {slot}: {rep.slot_state(source, slot)})"
            )
        time.sleep(0.02)


def failback_prepare(
    aws: Endpoint, gcp: Endpoint, *, app_role: str = DEFAULT_APP_ROLE, wait_s: float = 600, echo: Echo = lambda _s: None
) -> Record:
    """AWS is back: fence it, recover what it took after the cut, rebuild it from the promoted copy, replicate GCP -> AWS."""
    record = Record("failback prepare", echo)
    with connect(aws) as a, connect(gcp) as g:
        if rep.subscription_exists(g, rep.SUBSCRIPTION):
            raise DrError(
                f"gcp subscribes to aws ({rep.SUBSCRIPTION}): gcp is not the primary, so there is nothing to fail back "
                "(already switched back, or never promoted)"
            )
        rep.refuse_tables_without_primary_key(g, "promoted copy")
        fence(a, app_role, record, "aws")
        if rep.drop_subscription(a, rep.SUBSCRIPTION, keep_remote_slot=True):
            record.step(f"aws: dropped stray subscription {rep.SUBSCRIPTION}")
        record.step("aws: " + rep.drop_slot(a, rep.SLOT, force=True))
        if (
            rep.subscription_exists(a, FAILBACK_SUBSCRIPTION)
            and a.execute("SELECT subenabled FROM pg_subscription WHERE subname = %s", (FAILBACK_SUBSCRIPTION,)).fetchone()[0]
        ):
            record.step(f"aws: subscription {FAILBACK_SUBSCRIPTION} already there (GCP -> AWS running)")
        else:
            recover_lost_writes(a, g, record)
            if rep.slot_state(g, FAILBACK_SLOT) is not None and not rep.subscription_exists(a, FAILBACK_SUBSCRIPTION):
                record.step("gcp: " + rep.drop_slot(g, FAILBACK_SLOT, force=True) + " (orphaned by an earlier attempt)")
            rep.install_heartbeat(g)
            record.step(
                f"gcp: created publication {FAILBACK_PUBLICATION}"
                if rep.create_publication(g, FAILBACK_PUBLICATION)
                else f"gcp: publication {FAILBACK_PUBLICATION} already there"
            )
            missing = sorted(set(rep.user_tables(g)) - set(rep.user_tables(a)))
            if missing:
                raise DrError(f"aws lacks tables the copy has: {', '.join(missing)}: apply their DDL on RDS first")
            # The subscription exists (disabled) before the tables are emptied: from then on nothing on aws
            # beats the heartbeat into a table the copy is about to fill.
            if not rep.subscription_exists(a, FAILBACK_SUBSCRIPTION):
                rep.create_subscription(
                    a, gcp, name=FAILBACK_SUBSCRIPTION, publication=FAILBACK_PUBLICATION, slot=FAILBACK_SLOT, copy_data=True, enabled=False
                )
                record.step(f"aws: created subscription {FAILBACK_SUBSCRIPTION}, disabled (slot {FAILBACK_SLOT} on gcp)")
            tables = sorted(rep.user_tables(a))
            a.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(sql.SQL(", ").join(sql.SQL(t) for t in tables)))
            record.step(f"aws: emptied {len(tables)} tables to rebuild them from the copy (copy_data = true)")
            a.execute(sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(sql.Identifier(FAILBACK_SUBSCRIPTION)))
            record.step(f"aws: enabled subscription {FAILBACK_SUBSCRIPTION}: the initial copy starts")
        published = [
            r[0]
            for r in g.execute(
                "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_publication_tables WHERE pubname = %s", (FAILBACK_PUBLICATION,)
            ).fetchall()
        ]
        record.step("aws: " + rep.wait_until_copied(a, published, name=FAILBACK_SUBSCRIPTION, timeout_s=wait_s))
        seconds = wait_caught_up(g, a, FAILBACK_SUBSCRIPTION, FAILBACK_SLOT, wait_s)
        record.step(f"aws: caught up with gcp (a heartbeat took {seconds:.3f} s); run `failback switch` in a planned pause")
    return record


def failback_switch(
    aws: Endpoint, gcp: Endpoint, *, app_role: str = DEFAULT_APP_ROLE, wait_s: float = 120, echo: Echo = lambda _s: None
) -> Record:
    """The planned pause: stop writes on GCP, let AWS catch up, move AWS's sequences, make AWS the primary and GCP its copy again."""
    record = Record("failback switch", echo)
    with connect(aws) as a, connect(gcp) as g:
        if rep.subscription_exists(a, FAILBACK_SUBSCRIPTION):
            paused = time.monotonic()
            fence(g, app_role, record, "gcp")
            seconds = wait_caught_up(g, a, FAILBACK_SUBSCRIPTION, FAILBACK_SLOT, wait_s)
            record.step(f"aws: applied every write gcp took ({seconds:.3f} s)")
            values = sequence_values(g)
            with a.transaction():
                for sequence, table, column, _max in owned_sequences(a):
                    values[sequence] = max(values.get(sequence, 0), _highest(a, table, column) or 0)
                for sequence, value in sorted(values.items()):
                    if value > 0:
                        a.execute("SELECT setval(%s::regclass, %s, true)", (sequence, value))
            record.step(f"aws: moved {len(values)} sequences to gcp's values (gcp is fenced, so they are final)")
            record.data["sequences_moved_back"] = values
            rep.drop_subscription(a, FAILBACK_SUBSCRIPTION, keep_remote_slot=False)
            record.step(f"aws: dropped subscription {FAILBACK_SUBSCRIPTION} and its slot {FAILBACK_SLOT} on gcp")
        elif rep.subscription_exists(g, rep.SUBSCRIPTION):
            record.step("already switched back: gcp subscribes to aws")
            paused = None
        else:
            raise DrError(f"neither {FAILBACK_SUBSCRIPTION} (aws) nor {rep.SUBSCRIPTION} (gcp) exists: run `failback prepare` first")
        if rep.slot_state(g, FAILBACK_SLOT) is not None:
            record.step("gcp: " + rep.drop_slot(g, FAILBACK_SLOT, force=True))
        if rep.drop_publication(g, FAILBACK_PUBLICATION):
            record.step(f"gcp: dropped publication {FAILBACK_PUBLICATION}")
        if not rep.subscription_exists(g, rep.SUBSCRIPTION):
            for conn in (a, g):
                if conn.execute("SELECT to_regclass('dr.promotion') IS NOT NULL").fetchone()[0]:
                    conn.execute("DELETE FROM dr.promotion")
            record.step("both: cleared the promotion record (the next failover starts fresh)")
            record.step(
                f"aws: created publication {rep.PUBLICATION}"
                if rep.create_publication(a)
                else f"aws: publication {rep.PUBLICATION} already there"
            )
            if rep.slot_state(a, rep.SLOT) is not None:
                record.step("aws: " + rep.drop_slot(a, rep.SLOT, force=True))
            rep.create_subscription(g, aws, copy_data=False)
            record.step(f"gcp: created subscription {rep.SUBSCRIPTION} (slot {rep.SLOT} on aws, copy_data = false: the data is identical)")
        unfence(a, app_role, record, "aws", writable=True)
        if paused is not None:
            record.data["pause_s"] = round(time.monotonic() - paused, 3)
            record.step(f"writes are back on aws after a {record.data['pause_s']:.3f} s pause")
        grant_writes(g, app_role, record, "gcp", grant=False)
        unfence(g, app_role, record, "gcp", writable=False)
        published = [
            r[0]
            for r in a.execute(
                "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_publication_tables WHERE pubname = %s", (rep.PUBLICATION,)
            ).fetchall()
        ]
        record.step("gcp: " + rep.wait_until_copied(g, published, timeout_s=wait_s))
        seconds = wait_caught_up(a, g, rep.SUBSCRIPTION, rep.SLOT, wait_s)
        record.step(f"gcp: replicating from aws again (a heartbeat took {seconds:.3f} s)")
        record.data["leftovers"] = leftovers = replication_objects(a, g, expected=True)
        if leftovers:
            record.step(f"left over, not created by this tool's current state: {leftovers}; drop them if nothing uses them", warning=True)
        else:
            record.step(f"clean: aws has only slot {rep.SLOT} and publication {rep.PUBLICATION}; gcp only subscription {rep.SUBSCRIPTION}")
    return record


def replication_objects(aws: psycopg.Connection, gcp: psycopg.Connection, *, expected: bool) -> dict:
    """Slots, subscriptions and publications on both sides beyond the steady state (AWS -> GCP)."""
    found = {}
    for side, conn in (("aws", aws), ("gcp", gcp)):
        found[side] = {
            "slots": [r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots ORDER BY 1").fetchall()],
            "subscriptions": [r[0] for r in conn.execute("SELECT subname FROM pg_subscription ORDER BY 1").fetchall()],
            "publications": [r[0] for r in conn.execute("SELECT pubname FROM pg_publication ORDER BY 1").fetchall()],
        }
    if not expected:
        return found
    steady = {
        "aws": {"slots": [rep.SLOT], "subscriptions": [], "publications": [rep.PUBLICATION]},
        "gcp": {"slots": [], "subscriptions": [rep.SUBSCRIPTION], "publications": []},
    }
    return {
        side: {kind: sorted(set(names) - set(steady[side][kind])) for kind, names in kinds.items() if set(names) - set(steady[side][kind])}
        for side, kinds in found.items()
        if any(set(n) - set(steady[side][k]) for k, n in kinds.items())
    }
