"""Failover (promote the GCP copy, fencing the old primary) and failback (back to RDS), step by step.

Every step looks before it acts, so each command can be run again after a failure and carries on
where it stopped. Each returns a record (a dict) of what it did, for the incident log.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from . import replication as rep
from .endpoint import DrError, Endpoint, connect, reachable

DEFAULT_APP_ROLE = "crm_app"
DEFAULT_MONITOR_ROLE = "crm_monitor"
# Cloudflare marks an origin down after consecutive failed checks (components/cloudflare/health.py:
# 60 s interval, 2 retries, 5 s timeout -> ~75 s); the old primary may take writes all that time,
# and during the operator's decision and the promotion itself.
DETECTION_S = 75
PROMOTION_WINDOW_S = 45
DEFAULT_WINDOW_S = DETECTION_S + PROMOTION_WINDOW_S
SAFETY_FACTOR = 2.0
# The margin after a fenced old primary's exact sequence value (it no longer moves).
MIN_MARGIN = 1_000
# The least margin per key type when the old primary could not be read. A measured rate lags a load that
# started after the last rate window closed (idle, then a burst just before the cut), so the rate only
# ever raises the margin above these floors; keys are cheap, a collision costs a person's time.
# 10,000,000 ids is 83,000 ids/s for the whole 120 s window; an integer key (2^31) still has room for
# 2,000 failovers at 1,000,000.
FLOOR_MARGINS = {"bigint": 10_000_000, "integer": 1_000_000, "smallint": 1_000}
FAILBACK_PUBLICATION = "crm_failback"
FAILBACK_SUBSCRIPTION = "crm_failback"
FAILBACK_SLOT = "crm_failback_slot"

Echo = Callable[[str], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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
SELECT format('%I.%I', sn.nspname, s.relname), format('%I.%I', tn.nspname, t.relname), a.attname, ps.max_value,
       format_type(a.atttypid, NULL)
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


def owned_sequences(conn: psycopg.Connection) -> list[tuple[str, str, str, int, str]]:
    """(sequence, table, column, the sequence's maximum, the column's type) of every serial/identity column."""
    return conn.execute(_OWNED_SEQUENCES).fetchall()


def sequence_values(conn: psycopg.Connection) -> dict[str, int]:
    return {name: int(value) for name, value, _max in conn.execute(_ALL_SEQUENCES).fetchall()}


def margin_for(rate_per_s: float | None, window_s: float, key_type: str = "bigint", safety: float = SAFETY_FACTOR) -> int:
    """Ids the lost primary may have handed out after the last replicated row: rate x window x safety,
    never below the floor of the key's type (a rate measured before a burst would lag it)."""
    floor = FLOOR_MARGINS.get(key_type, FLOOR_MARGINS["bigint"])
    return max(floor, math.ceil((rate_per_s or 0) * window_s * safety))


def _holes(conn: psycopg.Connection, table: str, column: str, highest: int | None, rate: float | None) -> list[int]:
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


def _highest(conn: psycopg.Connection, table: str, column: str) -> int | None:
    value = conn.execute(sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.SQL(table))).fetchone()[0]
    return None if value is None else int(value)


# --- promote -------------------------------------------------------------------------------------

# The advisory lock (in the copy's database) every promote and failback step holds while it changes things.
LOCK_KEY = "dr.failover"


def _exclusive(conn: psycopg.Connection, command: str) -> None:
    """One changing command at a time on this database: a second operator's run stops with a clear message
    (two promotions at once would race on the catalogs and the sequences). Held until the connection closes."""
    if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)).fetchone()[0]:
        holder = conn.execute(
            "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.objid = hashtext(%s)::oid LIMIT 1",
            (LOCK_KEY,),
        ).fetchone()
        since = f" (a session from {holder[1] or 'local'} since {holder[2]:%H:%M:%S})" if holder else ""
        raise DrError(
            f"another promote or failback is running against this database{since}: nothing was done by this `{command}`; "
            "let it finish, then run again"
        )


# What fencing, reading the sequences and dropping the slot on a reachable old primary may take beyond the
# catch-up wait; past it the old primary counts as one that stopped answering.
OLD_PRIMARY_S = 30.0


class OldPrimaryFailed(DrError):
    """The old primary failed or stopped answering in the middle of a step."""


@contextlib.contextmanager
def _bounded(conn: psycopg.Connection, seconds: float, what: str):
    """Runs the block against `conn` within `seconds`: past them the connection's socket is shut down, so a
    server that answered the login and then stopped answering (a frozen host sends TCP acknowledgements
    and keepalive answers from its kernel, so no timeout of libpq's fires) ends the wait. Any failure of the
    old primary in the block is an OldPrimaryFailed naming `what`."""
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        with contextlib.suppress(OSError, psycopg.Error):  # already closed: nothing to cut
            with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    except (psycopg.Error, DrError) as exc:
        if isinstance(exc, DrError) and not fired.is_set():
            raise
        reason = f"stopped answering for {seconds:.0f} s" if fired.is_set() else f"failed: {' '.join(str(exc).split())[:300]}"
        raise OldPrimaryFailed(f"the old primary {reason} during {what}") from None
    finally:
        timer.cancel()


def promote(
    copy: Endpoint,
    old_primary: Endpoint | None,
    *,
    app_role: str = DEFAULT_APP_ROLE,
    window_s: float = DEFAULT_WINDOW_S,
    margin: int | None = None,
    catchup_s: float = 10,
    accept_behind: bool = False,
    echo: Echo = lambda _s: None,
) -> Record:
    """AWS is lost (or being left): make the GCP copy the read/write primary.

    `old_primary` None means a person said there is none to reach (`--no-primary`); an old primary that
    answers is fenced and the copy must catch up with it (or `accept_behind`) before it is promoted."""
    record = Record("promote", echo)
    record.data.update(window_s=window_s, app_role=app_role)
    old = reachable(old_primary) if old_primary is not None else None
    record.data["old_primary_reachable"] = old is not None
    exact: dict[str, int] = {}
    try:
        with connect(copy) as conn:
            _exclusive(conn, "promote")
            already = (
                conn.execute("SELECT to_regclass('dr.promotion') IS NOT NULL").fetchone()[0]
                and conn.execute("SELECT promoted_at FROM dr.promotion WHERE id = 1").fetchone()
            )
            if old is not None:
                try:
                    with _bounded(old, catchup_s + OLD_PRIMARY_S, "the fence, the catch-up or reading its sequences"):
                        fence(old, app_role, record, "old primary")
                        if rep.subscription_exists(conn):
                            _catch_up(old, conn, catchup_s, record, accept_behind)
                        exact = sequence_values(old)
                except OldPrimaryFailed as exc:
                    raise DrError(
                        f"{exc}: its fence state is unknown (it may still take writes) and nothing on the copy was changed. "
                        "If it is truly lost, run again with --no-primary and fence it (`python -m dr fence`) as soon as it answers"
                    ) from None
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
                try:
                    with _bounded(old, OLD_PRIMARY_S, f"dropping slot {rep.SLOT}"):
                        record.step("old primary: " + rep.drop_slot(old, rep.SLOT, force=True))
                except OldPrimaryFailed as exc:  # fenced already: the promotion carries on; the slot only keeps WAL
                    record.step(f"{exc}: drop it when it answers (`python -m dr fence`)", warning=True)
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


def _catch_up(old: psycopg.Connection, copy: psycopg.Connection, timeout_s: float, record: Record, accept_behind: bool) -> None:
    """The old primary is fenced and reachable: let the copy apply what it still has before detaching.

    A copy still behind would lose the writes it lacks: that stops the promotion (DrError, nothing on the
    copy changed, the old primary stays fenced) unless `accept_behind` says a person chose to lose them."""
    try:
        lag = rep.measure_lag(copy, old, probe_timeout_s=timeout_s)
        caught_up = lag.bound == "exact" and lag.seconds is not None and lag.seconds < timeout_s
        behind = f"{lag.bound} {lag.seconds:.3f} s" if lag.seconds is not None else "by an unknown time"
    except DrError as exc:
        caught_up, behind = False, f"by an unknown time ({exc})"
    if caught_up:
        record.step(f"copy: caught up with the fenced old primary after {lag.seconds:.3f} s")
        return
    record.data["behind_at_promotion"] = behind
    if not accept_behind:
        raise DrError(
            f"the copy is still behind the fenced old primary ({behind}) after --catchup-seconds {timeout_s:g}: promoting it now "
            "would lose the writes it lacks. Nothing on the copy was changed; the old primary stays fenced (the application "
            "cannot write anywhere). Run again with a longer --catchup-seconds, or with --accept-behind to promote and lose them"
        )
    record.step(f"copy: still behind the fenced old primary ({behind}); --accept-behind: its missing writes are lost", warning=True)


def _move_sequences(conn: psycopg.Connection, record: Record, exact: dict[str, int], window_s: float, margin: int | None) -> None:
    row = (
        conn.execute("SELECT id_rates, beat_at FROM dr.heartbeat WHERE id = 1").fetchone()
        if conn.execute("SELECT to_regclass('dr.heartbeat') IS NOT NULL").fetchone()[0]
        else None
    )
    rates = dict(row[0]) if row else {}
    if row:
        record.data["last_heartbeat_from_primary"] = row[1].isoformat()
    for column in ("snapshot", "cut_snapshot"):  # a copy set up by an older version
        conn.execute(sql.SQL("ALTER TABLE dr.promotion ADD COLUMN IF NOT EXISTS {} text").format(sql.Identifier(column)))
    current = sequence_values(conn)
    moves, highest_keys = [], {}
    owned = owned_sequences(conn)
    with conn.transaction():
        for sequence, table, column, max_value, key_type in owned:
            highest = _highest(conn, table, column)
            base = max(highest or 0, current.get(sequence, 0))
            if margin is not None:
                gap, basis = margin, "margin given on the command line"
            elif sequence in exact:
                base = max(base, exact[sequence])
                gap, basis = MIN_MARGIN, "the fenced old primary's own sequence value"
            else:
                rate = float(rates[sequence]) if sequence in rates else None
                gap = margin_for(rate, window_s, key_type)
                measured = "no rate measured" if rate is None else f"{rate:.1f} ids/s measured by the heartbeat"
                basis = (
                    f"{measured} x {window_s:.0f} s x {SAFETY_FACTOR:g}"
                    if gap > FLOOR_MARGINS.get(key_type, FLOOR_MARGINS["bigint"])
                    else f"the {key_type} floor ({measured}; a rate can lag a burst after idle time)"
                )
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
        # The copy's snapshot at promotion: failback tells the rows the copy changed afterwards by it.
        conn.execute(
            "INSERT INTO dr.promotion (id, promoted_at, highest_keys, snapshot, cut_snapshot) "
            "SELECT 1, now(), %s, pg_current_snapshot()::text, "
            "(SELECT to_jsonb(h) ->> 'snapshot' FROM dr.heartbeat h WHERE h.id = 1) ON CONFLICT (id) DO NOTHING",
            (json.dumps(highest_keys),),
        )
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


_XID_SPACE, _HALF = 2**32, 2**31


def _parse_snapshot(text: str | None) -> tuple[int, int, list[int]] | None:
    """pg_snapshot text `xmin:xmax:xip,...` as 32-bit xids (what a row's xmin holds)."""
    if not text:
        return None
    xmin, xmax, xip = text.split(":")
    return int(xmin) % _XID_SPACE, int(xmax) % _XID_SPACE, [int(x) % _XID_SPACE for x in xip.split(",") if x]


def _changed_since(conn: psycopg.Connection, snapshot: tuple[int, int, list[int]], alias: str, *, maybe: bool = True) -> sql.Composable:
    """A predicate true for the row versions of `alias` written by a transaction not visible in `snapshot`.

    A row's xmin is the transaction that wrote its current version. It is invisible to the snapshot when
    it started at or after the snapshot's xmax (and no later than now: this bounds the 32-bit wraparound
    window, so an ancient frozen row cannot pass as new), or was in progress when the snapshot was taken.
    A row written inside a savepoint carries its subtransaction's xid, which the snapshot's in-progress
    list (top-level xids only) never names, so such a row is told only by its xid lying in
    [xmin, xmax): `maybe` (the default) counts every row there as changed, which takes in rows committed
    before the snapshot too (the callers drop those the copy already holds identically, and report the
    rest as changed on both sides: safe, never lost); `maybe=False` counts only rows certainly
    written after the snapshot. Rows deleted since leave no version: deletions are found by comparing keys."""
    now = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()[0] % _XID_SPACE
    xmin, xmax, xip = snapshot
    x = sql.SQL("({}.xmin::text::bigint)").format(sql.Identifier(alias))

    def distance(reference: int) -> sql.Composable:  # signed distance x - reference in 32-bit xid arithmetic
        return sql.SQL("((({x} - {r} + {half}) % {space} + {space}) % {space} - {half})").format(
            x=x, r=sql.Literal(reference), half=sql.Literal(_HALF), space=sql.Literal(_XID_SPACE)
        )

    if maybe:
        return sql.SQL("({x} >= 3 AND {since_xmin} >= 0 AND {before} <= 0)").format(x=x, since_xmin=distance(xmin), before=distance(now))
    return sql.SQL("({x} >= 3 AND (({after} >= 0 AND {before} <= 0) OR ({x} = ANY ({xip}::bigint[]) AND {since_xmin} >= 0)))").format(
        x=x, after=distance(xmax), before=distance(now), xip=sql.Literal(xip), since_xmin=distance(xmin)
    )


def _primary_key(conn: psycopg.Connection, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
            (table,),
        ).fetchall()
    ]


def _copy_rows(source: psycopg.Connection, query: sql.Composable, target: psycopg.Connection, into: sql.Composable) -> None:
    with source.cursor().copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(query)) as out:
        with target.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(into)) as sink:
            for data in out:
                sink.write(data)


SHOWN_PER_TABLE = 100


def recover_lost_writes(aws: psycopg.Connection, gcp: psycopg.Connection, record: Record, *, discard: bool = False) -> dict:
    """The writes the old primary took after the cut, recovered into the promoted copy as whole transactions, or not at all.

    Every row version the old primary wrote after the newest heartbeat the copy applied (its snapshot
    travels with the beat, and promotion keeps the one the copy held) is compared with the copy. When each such row is either new to the copy or
    untouched by the copy since its promotion (its snapshot is in dr.promotion), every one of them is
    applied, inserts and updates, in one transaction: every transaction the old primary committed after
    the cut arrives whole. When any row was changed on both sides (a key taken twice is one), or the old
    primary deleted rows after the cut, nothing is applied and DrError says so: both versions stay where
    they are (the old primary fenced, not emptied) and the record lists, per table, every key with both
    versions, for a person to reconcile. `discard` (after that person decided) applies nothing and carries on.
    """
    promotion = (
        gcp.execute("SELECT snapshot, cut_snapshot FROM dr.promotion WHERE id = 1").fetchone()
        if _has_column(gcp, "dr.promotion", "cut_snapshot")
        else None
    )
    promoted, cut = (_parse_snapshot(promotion[0]), _parse_snapshot(promotion[1])) if promotion else (None, None)
    if cut is None or promoted is None:
        reason = (
            "the promotion recorded no heartbeat snapshot of the old primary" if cut is None else "the copy holds no promotion snapshot"
        )
        if not discard:
            raise DrError(
                f"cannot tell which rows the old primary changed after the cut ({reason}): nothing was recovered or "
                "changed. Compare the old primary (its snapshot) with the copy by hand, then run again with --discard-old-primary-changes"
            )
        record.step(f"recovery: skipped ({reason}); --discard-old-primary-changes: nothing of the old primary's is applied", warning=True)
        return {"recovered": 0, "conflicts": 0}
    tables = [t for t in rep.user_tables(aws) if not t.startswith("dr.")]
    report: dict[str, dict] = {}
    to_apply: list[tuple[str, list[str], list]] = []
    with gcp.transaction():
        for table in _fk_order(aws, tables):
            pk = _primary_key(aws, table)
            key = sql.SQL(", ").join(sql.Identifier(c) for c in pk)
            changed = sql.SQL("SELECT * FROM {} t WHERE {}").format(sql.SQL(table), _changed_since(aws, cut, "t"))
            tmp, keys = sql.Identifier("dr_changed"), sql.Identifier("dr_keys")
            gcp.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(tmp, sql.SQL(table)))
            _copy_rows(aws, changed, gcp, tmp)
            join = sql.SQL(" AND ").join(sql.SQL("y.{c} = x.{c}").format(c=sql.Identifier(c)) for c in pk)
            rows = gcp.execute(
                sql.SQL(
                    "SELECT to_jsonb(x), to_jsonb(y), to_jsonb(x) IS NOT DISTINCT FROM to_jsonb(y), y IS NOT NULL AND {copy_changed} "
                    "FROM {tmp} x LEFT JOIN {t} y ON {join}"
                ).format(copy_changed=_changed_since(gcp, promoted, "y"), tmp=tmp, t=sql.SQL(table), join=join)
            ).fetchall()
            apply, conflicts = [], []
            for old, new, same, copy_changed in rows:
                if same:
                    continue  # it reached the copy before the cut
                (conflicts if copy_changed else apply).append({"key": [old[c] for c in pk], "old_primary": old, "copy": new})
            # Deleted on the old primary after the cut: the copy still has an untouched row the old primary lacks (a row the
            # copy may have written in a savepoint at promotion counts as untouched: listed for a person, never dropped).
            gcp.execute(sql.SQL("CREATE TEMP TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(keys, key, sql.SQL(table)))
            _copy_rows(aws, sql.SQL("SELECT {} FROM {}").format(key, sql.SQL(table)), gcp, keys)
            deleted = gcp.execute(
                sql.SQL(
                    "SELECT to_jsonb(y) FROM {t} y WHERE NOT {copy_changed} AND NOT EXISTS (SELECT 1 FROM {keys} x WHERE {join})"
                ).format(t=sql.SQL(table), copy_changed=_changed_since(gcp, promoted, "y", maybe=False), keys=keys, join=join)
            ).fetchall()
            gcp.execute(sql.SQL("DROP TABLE {}").format(keys))
            deletions = [{"key": [row[0][c] for c in pk], "old_primary": None, "copy": row[0]} for row in deleted]
            if apply or conflicts or deletions:
                report[table] = {
                    "changed_on_old_primary": len(apply) + len(conflicts) + len(deletions),
                    "recoverable": len(apply),
                    "changed_on_both": len(conflicts),
                    "deleted_on_old_primary": len(deletions),
                    "rows": (conflicts + deletions + apply)[:SHOWN_PER_TABLE],
                }
            if apply:
                to_apply.append((table, pk, [r["key"] for r in apply]))
            gcp.execute(sql.SQL("DROP TABLE {}").format(tmp))
    record.data["old_primary_changes"] = report
    conflicts = sum(t["changed_on_both"] + t["deleted_on_old_primary"] for t in report.values())
    recoverable = sum(t["recoverable"] for t in report.values())
    for table, figures in report.items():
        record.step(
            f"recovery: {table}: {figures['changed_on_old_primary']} rows changed on the old primary after the cut "
            f"({figures['recoverable']} new to the copy or untouched by it, {figures['changed_on_both']} changed on both sides, "
            f"{figures['deleted_on_old_primary']} deleted on the old primary)",
            warning=bool(figures["changed_on_both"] or figures["deleted_on_old_primary"]),
        )
    record.data.update(collisions=conflicts)
    if conflicts:
        if not discard:
            raise DrError(
                f"{conflicts} rows were changed on both sides after the cut (or deleted on the old primary): applying the old "
                "primary's transactions would overwrite the copy's, or split them. Nothing was recovered or emptied: both versions "
                "are in place (the old primary fenced), and the record (--record) lists every key per table with both versions "
                "(old_primary_changes). Reconcile them on the copy, then run again with --discard-old-primary-changes"
            )
        record.step(f"recovery: --discard-old-primary-changes: none of the {recoverable + conflicts} changed rows applied", warning=True)
        record.data.update(recovered_rows=0)
        return {"recovered": 0, "conflicts": conflicts}
    if discard:
        record.step(f"recovery: --discard-old-primary-changes: none of the {recoverable} changed rows applied", warning=True)
        record.data.update(recovered_rows=0)
        return {"recovered": 0, "conflicts": 0}
    recovered = 0
    with gcp.transaction():
        for table, pk, keys in to_apply:
            tmp = sql.Identifier("dr_recover")
            gcp.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(tmp, sql.SQL(table)))
            _copy_rows(aws, sql.SQL("SELECT * FROM {} t WHERE {}").format(sql.SQL(table), _changed_since(aws, cut, "t")), gcp, tmp)
            columns = [r[0] for r in gcp.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(tmp)).description or []]
            wanted = sql.SQL("({}) IN (SELECT * FROM jsonb_to_recordset(%s) AS k({}))").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in pk),
                sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_column_type(gcp, table, c))) for c in pk),
            )
            updates = [c for c in columns if c not in pk]
            statement = sql.SQL("INSERT INTO {t} OVERRIDING SYSTEM VALUE SELECT * FROM {tmp} WHERE {wanted} ON CONFLICT ({pk}) ").format(
                t=sql.SQL(table), tmp=tmp, wanted=wanted, pk=sql.SQL(", ").join(sql.Identifier(c) for c in pk)
            ) + (
                sql.SQL("DO UPDATE SET {}").format(
                    sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in updates)
                )
                if updates
                else sql.SQL("DO NOTHING")
            )
            recovered += gcp.execute(statement, (json.dumps([dict(zip(pk, k)) for k in keys]),)).rowcount
            gcp.execute(sql.SQL("DROP TABLE {}").format(tmp))
        for sequence, table, column, _max, _type in owned_sequences(gcp):
            highest = _highest(gcp, table, column)
            if highest is not None:  # ids the old primary took past the copy's sequence
                gcp.execute(
                    sql.SQL("SELECT setval(%s::regclass, greatest(%s, last_value), true) FROM {}").format(sql.SQL(sequence)),
                    (sequence, highest),
                )
    record.step(f"recovery: applied {recovered} rows the old primary changed after the cut, as whole transactions, in one transaction")
    record.data.update(recovered_rows=recovered)
    return {"recovered": recovered, "conflicts": 0}


def _has_column(conn: psycopg.Connection, table: str, column: str) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped)", (table, column)
    ).fetchone()[0]


def _column_type(conn: psycopg.Connection, table: str, column: str) -> str:
    return conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s", (table, column)
    ).fetchone()[0]


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
    aws: Endpoint,
    gcp: Endpoint,
    *,
    app_role: str = DEFAULT_APP_ROLE,
    wait_s: float = 600,
    echo: Echo = lambda _s: None,
    discard: bool = False,
) -> Record:
    """AWS is back: fence it, recover what it took after the cut, rebuild it from the promoted copy, replicate GCP -> AWS.

    A DrError carries the record so far (`record` attribute): when recovery stops for a person, the
    record is what they reconcile from."""
    record = Record("failback prepare", echo)
    try:
        _failback_prepare(aws, gcp, record, app_role, wait_s, discard)
    except DrError as exc:
        exc.record = record  # type: ignore[attr-defined]
        raise
    return record


def _failback_prepare(aws: Endpoint, gcp: Endpoint, record: Record, app_role: str, wait_s: float, discard: bool) -> None:
    with connect(aws) as a, connect(gcp) as g:
        _exclusive(g, "failback prepare")
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
            and a.execute(
                f"SELECT subenabled FROM pg_subscription WHERE subname = %s AND {rep.THIS_DATABASE}", (FAILBACK_SUBSCRIPTION,)
            ).fetchone()[0]
        ):
            record.step(f"aws: subscription {FAILBACK_SUBSCRIPTION} already there (GCP -> AWS running)")
        else:
            recover_lost_writes(a, g, record, discard=discard)
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
                tls = rep.create_subscription(
                    a, gcp, name=FAILBACK_SUBSCRIPTION, publication=FAILBACK_PUBLICATION, slot=FAILBACK_SLOT, copy_data=True, enabled=False
                )
                record.step(f"aws: created subscription {FAILBACK_SUBSCRIPTION}, disabled (slot {FAILBACK_SLOT} on gcp), {tls}")
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


def failback_switch(
    aws: Endpoint,
    gcp: Endpoint,
    *,
    app_role: str = DEFAULT_APP_ROLE,
    wait_s: float = 120,
    echo: Echo = lambda _s: None,
    replication_login: Endpoint | None = None,
    monitor_role: str | None = None,
) -> Record:
    """The planned pause: stop writes on GCP, let AWS catch up, move AWS's sequences, make AWS the primary and GCP its copy again.

    The restored subscription signs in to RDS as `replication_login` (the replication role), as `setup`'s does."""
    record = Record("failback switch", echo)
    with connect(aws) as a, connect(gcp) as g:
        _exclusive(g, "failback switch")
        for conn in (a, g):  # aws first: gcp publishes dr.promotion to aws until the switch
            if conn.execute("SELECT to_regclass('dr.promotion') IS NOT NULL").fetchone()[0]:
                conn.execute("ALTER TABLE dr.promotion ADD COLUMN IF NOT EXISTS switching_at timestamptz")
        switching = _switch_marker(a)
        if rep.subscription_exists(a, FAILBACK_SUBSCRIPTION):
            paused = time.monotonic()
            fence(g, app_role, record, "gcp")
            seconds = wait_caught_up(g, a, FAILBACK_SUBSCRIPTION, FAILBACK_SLOT, wait_s)
            record.step(f"aws: applied every write gcp took ({seconds:.3f} s)")
            values = sequence_values(g)
            with a.transaction():
                for sequence, table, column, _max, _type in owned_sequences(a):
                    values[sequence] = max(values.get(sequence, 0), _highest(a, table, column) or 0)
                for sequence, value in sorted(values.items()):
                    if value > 0:
                        a.execute("SELECT setval(%s::regclass, %s, true)", (sequence, value))
                # With the sequences: from here on aws holds everything gcp took, so a switch interrupted after
                # the subscription below is gone resumes from this mark instead of finding nothing to do.
                a.execute(
                    "INSERT INTO dr.promotion (id, promoted_at, highest_keys, switching_at) VALUES (1, now(), '{}', now()) "
                    "ON CONFLICT (id) DO UPDATE SET switching_at = excluded.switching_at"
                )
            record.step(f"aws: moved {len(values)} sequences to gcp's values (gcp is fenced, so they are final)")
            record.data["sequences_moved_back"] = values
            rep.drop_subscription(a, FAILBACK_SUBSCRIPTION, keep_remote_slot=False)
            record.step(f"aws: dropped subscription {FAILBACK_SUBSCRIPTION} and its slot {FAILBACK_SLOT} on gcp")
        elif rep.subscription_exists(g, rep.SUBSCRIPTION):
            record.step("already switched back: gcp subscribes to aws")
            paused = None
        elif switching is not None:
            record.step(
                f"resuming the switch begun at {switching.isoformat()}: aws had applied every write gcp took and moved its "
                "sequences then (gcp stayed fenced since)"
            )
            fence(g, app_role, record, "gcp")
            paused = None
        else:
            raise DrError(f"neither {FAILBACK_SUBSCRIPTION} (aws) nor {rep.SUBSCRIPTION} (gcp) exists: run `failback prepare` first")
        if rep.slot_state(g, FAILBACK_SLOT) is not None:
            record.step("gcp: " + rep.drop_slot(g, FAILBACK_SLOT, force=True))
        if rep.drop_publication(g, FAILBACK_PUBLICATION):
            record.step(f"gcp: dropped publication {FAILBACK_PUBLICATION}")
        if not rep.subscription_exists(g, rep.SUBSCRIPTION):
            record.step(
                f"aws: created publication {rep.PUBLICATION}"
                if rep.create_publication(a)
                else f"aws: publication {rep.PUBLICATION} already there"
            )
            if rep.slot_state(a, rep.SLOT) is not None:
                record.step("aws: " + rep.drop_slot(a, rep.SLOT, force=True))
            login = replication_login or aws
            granted = rep.grant_tool_schema(a, replication_role=login.user if login is not aws else None, monitor_role=monitor_role)
            if granted:
                record.step(f"aws: schema dr granted to {', '.join(granted)}")
            if login is aws:
                record.step("gcp: no replication role given (REPLICATION_USER): the subscription signs in as the RDS admin", warning=True)
            tls = rep.create_subscription(g, login, copy_data=False)
            record.step(
                f"gcp: created subscription {rep.SUBSCRIPTION} (slot {rep.SLOT} on aws, copy_data = false: the data is identical) "
                f"signing in as {login.user}, {tls}"
            )
        cleared = 0
        for conn in (g, a):  # last, so that until the subscription exists aws's mark says where to resume
            if conn.execute("SELECT to_regclass('dr.promotion') IS NOT NULL").fetchone()[0]:
                cleared += conn.execute("DELETE FROM dr.promotion").rowcount
        if cleared:
            record.step("both: cleared the promotion record (the next failover starts fresh)")
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


def _switch_marker(conn: psycopg.Connection):
    """When `failback switch` moved aws's sequences (aws had every write of the fenced gcp), or None."""
    if not _has_column(conn, "dr.promotion", "switching_at"):
        return None
    row = conn.execute("SELECT switching_at FROM dr.promotion WHERE id = 1").fetchone()
    return row[0] if row else None


def slot_health(conn: psycopg.Connection) -> list[str]:
    """The slots of this database that were invalidated (wal_status lost): their subscriber must be re-seeded."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT slot_name FROM pg_replication_slots WHERE database = current_database() AND wal_status = 'lost' ORDER BY 1"
        ).fetchall()
    ]


def replication_objects(aws: psycopg.Connection, gcp: psycopg.Connection, *, expected: bool) -> dict:
    """Slots, subscriptions and publications on both sides beyond the steady state (AWS -> GCP)."""
    found = {}
    for side, conn in (("aws", aws), ("gcp", gcp)):
        found[side] = {
            "slots": [
                r[0]
                for r in conn.execute(
                    "SELECT slot_name FROM pg_replication_slots WHERE database = current_database() ORDER BY 1"
                ).fetchall()
            ],
            "subscriptions": [
                r[0] for r in conn.execute(f"SELECT subname FROM pg_subscription WHERE {rep.THIS_DATABASE} ORDER BY 1").fetchall()
            ],
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
