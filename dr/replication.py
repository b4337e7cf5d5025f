"""Replication setup, heartbeat and true lag, as SQL against two PostgreSQL 15 databases."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

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
-- The primary's snapshot when it beat: a row version whose transaction is not visible in the snapshot of
-- the newest beat the copy holds was written after it (failback finds the rows changed after the cut so).
ALTER TABLE dr.heartbeat ADD COLUMN IF NOT EXISTS snapshot text;
CREATE TABLE IF NOT EXISTS dr.promotion (
    id smallint PRIMARY KEY CHECK (id = 1),
    promoted_at timestamptz NOT NULL,
    highest_keys jsonb NOT NULL
);
-- The copy's own snapshot when it was promoted (rows it changed afterwards are not visible in it), and the
-- old primary's snapshot of the newest beat the copy held then (rows written after the cut are not visible
-- in that one): the heartbeat row itself is the new primary's from then on.
ALTER TABLE dr.promotion ADD COLUMN IF NOT EXISTS snapshot text;
ALTER TABLE dr.promotion ADD COLUMN IF NOT EXISTS cut_snapshot text;
-- When each recent beat committed on this server: `dr lag` dates the oldest write the copy lacks by the
-- first beat it lacks. UNLOGGED: no WAL, never published, so it stays on the server that beats.
CREATE UNLOGGED TABLE IF NOT EXISTS dr.beats (seq bigint PRIMARY KEY, beat_at timestamptz NOT NULL);
-- SECURITY DEFINER: the lag monitor's role may beat (EXECUTE) without any write grant on dr.heartbeat.
CREATE OR REPLACE FUNCTION dr.beat(rate_window interval DEFAULT '30 seconds') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $beat$
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
        INSERT INTO dr.heartbeat (id, seq, beat_at, id_rates, window_at, window_values, snapshot)
        VALUES (1, 1, clock_timestamp(), '{}', clock_timestamp(), current_values, pg_current_snapshot()::text);
        INSERT INTO dr.beats VALUES (1, clock_timestamp()) ON CONFLICT (seq) DO UPDATE SET beat_at = excluded.beat_at;
        RETURN 1;
    END IF;
    elapsed := extract(epoch FROM clock_timestamp() - hb.window_at);
    IF elapsed >= extract(epoch FROM rate_window) THEN
        SELECT coalesce(jsonb_object_agg(key, round(greatest(0, value::text::numeric
                   - coalesce((hb.window_values ->> key)::numeric, value::text::numeric)) / elapsed::numeric, 3)), '{}')
          INTO rates FROM jsonb_each(current_values);
        UPDATE dr.heartbeat SET seq = hb.seq + 1, beat_at = clock_timestamp(), id_rates = rates,
               window_at = clock_timestamp(), window_values = current_values, snapshot = pg_current_snapshot()::text WHERE id = 1;
        DELETE FROM dr.beats WHERE beat_at < clock_timestamp() - interval '1 hour';
    ELSE
        UPDATE dr.heartbeat SET seq = hb.seq + 1, beat_at = clock_timestamp(), snapshot = pg_current_snapshot()::text WHERE id = 1;
    END IF;
    INSERT INTO dr.beats VALUES (hb.seq + 1, clock_timestamp()) ON CONFLICT (seq) DO UPDATE SET beat_at = excluded.beat_at;
    RETURN hb.seq + 1;
END
$beat$;
REVOKE ALL ON FUNCTION dr.beat(interval) FROM PUBLIC;
"""

# The subscriptions of the current database only: pg_subscription is shared by every database of a server.
THIS_DATABASE = "subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
RESEED_COMMAND = "python -m dr setup --reseed"

USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
_TABLES = f"""
SELECT format('%I.%I', n.nspname, c.relname), EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND NOT c.relispartition AND {USER_SCHEMAS}
ORDER BY 1
"""


def user_tables(conn: psycopg.Connection) -> dict[str, bool]:
    """Every user table (schema-qualified, quoted) -> whether it has a primary key; unlogged tables (never
    published, such as dr.beats) are not among them."""
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


def beat(conn: psycopg.Connection, rate_window_s: float = RATE_WINDOW_S) -> int | None:
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


def slot_state(conn: psycopg.Connection, slot: str) -> dict | None:
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
    return conn.execute(f"SELECT 1 FROM pg_subscription WHERE subname = %s AND {THIS_DATABASE}", (name,)).fetchone() is not None


def tables_with_rows(conn: psycopg.Connection, tables: Iterable[str]) -> list[str]:
    return [t for t in tables if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.SQL(t))).fetchone()[0]]


# Settings that would keep a statement's text (the server's log; pg_stat_statements, which RDS preloads and
# every pg_monitor member reads, keeps DDL text verbatim in PostgreSQL 15), and the value that stops them.
_STATEMENT_LOGGING = {"pgaudit.log": "none", "log_statement": "none", "pg_stat_statements.track_utility": "off"}


@contextlib.contextmanager
def unaudited(conn: psycopg.Connection) -> Iterator[None]:
    """Statement logging off in this session only, for a statement that carries a password.

    CREATE/ALTER SUBSCRIPTION ... CONNECTION is DDL: pgAudit's `ddl` class (and log_statement = ddl)
    would write its text, password included, to the server's log and on to CloudWatch Logs or Cloud
    Logging, and pg_stat_statements (track_utility) would keep it in its view. pgAudit redacts passwords
    of CREATE/ALTER ROLE only. The settings are superuser-only; the
    admin users the clouds create may change them for their own session (RDS: rds_superuser, see
    "Excluding users or databases from audit logging"; Cloud SQL: cloudsqlsuperuser). If the session may
    not, nothing is run: a password in the log is worse than a failed command.
    """
    changed = []
    for name, quiet in _STATEMENT_LOGGING.items():
        current = conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()[0]
        if current is None or current.strip().lower() in ("", quiet):
            continue
        try:
            conn.execute(sql.SQL("SET {} = {}").format(sql.Identifier(*name.split(".")), sql.Literal(quiet)))
        except psycopg.errors.InsufficientPrivilege:
            raise DrError(
                f"{name} is '{current}' and this user may not turn it off for its own session: the subscription's "
                "password would be written to the server's log. Run as the admin user the cloud created "
                "(rds_superuser / cloudsqlsuperuser)"
            ) from None
        changed.append(name)
    try:
        yield
    finally:
        for name in changed:
            conn.execute(sql.SQL("RESET {}").format(sql.Identifier(*name.split("."))))


def create_subscription(
    conn: psycopg.Connection,
    publisher: Endpoint,
    *,
    name: str = SUBSCRIPTION,
    publication: str = PUBLICATION,
    slot: str = SLOT,
    copy_data: bool = True,
    enabled: bool = True,
) -> str:
    """The subscription on `conn`'s server, creating `slot` (pgoutput) on the publisher; returns its TLS mode.

    The statement holds the publisher's password, so it runs with statement logging off (`unaudited`)."""
    with unaudited(conn):
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
    mode = publisher.server_tls()
    if mode != publisher.sslmode:
        return f"sslmode {mode}: the subscriber's server has no file with the publisher's CA (managed services offer none)"
    return f"sslmode {mode}"


def grant_tool_schema(conn: psycopg.Connection, *, replication_role: str | None, monitor_role: str | None) -> list[str]:
    """What the roles need of the tool's own schema `dr`, which the roles Job cannot grant (it is created later).

    The replication role copies every published table, `dr.heartbeat` and `dr.promotion` included (USAGE
    and SELECT). The lag monitor beats (EXECUTE on dr.beat(), a SECURITY DEFINER function) and reads the
    beats (SELECT); it holds no write grant. A role this server does not have is skipped."""
    done = []
    for role, grants in (
        (replication_role, ["GRANT USAGE ON SCHEMA dr TO {r}", "GRANT SELECT ON ALL TABLES IN SCHEMA dr TO {r}"]),
        (
            monitor_role,
            [
                "GRANT USAGE ON SCHEMA dr TO {r}",
                "GRANT SELECT ON dr.heartbeat, dr.beats TO {r}",
                "GRANT EXECUTE ON FUNCTION dr.beat(interval) TO {r}",
            ],
        ),
    ):
        if not role or conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            continue
        for grant in grants:
            conn.execute(sql.SQL(grant).format(r=sql.Identifier(role)))
        done.append(role)
    return done


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
        f"WHERE s.subname = %s AND s.{THIS_DATABASE} ORDER BY 1",
        (name,),
    ).fetchall()
    return dict(rows)


def _sync_errors(conn: psycopg.Connection, name: str) -> int:
    row = conn.execute(
        "SELECT st.sync_error_count + st.apply_error_count FROM pg_stat_subscription_stats st "
        f"JOIN pg_subscription s ON s.oid = st.subid WHERE s.subname = %s AND s.{THIS_DATABASE}",
        (name,),
    ).fetchone()
    return int(row[0]) if row else 0


def wait_until_copied(conn: psycopg.Connection, expected: Iterable[str], *, name: str = SUBSCRIPTION, timeout_s: float = 600) -> str:
    """Waits until every expected table is `r` (ready) in pg_subscription_rel; fails on copy errors or timeout."""
    expected = set(expected)
    baseline = _sync_errors(conn, name)
    deadline = time.monotonic() + timeout_s
    pause = 0.02  # a small database is copied in a moment; a big one is asked at most five times a second
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
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def slot_lost_message(slot: str, where: str = "the publisher") -> str:
    return (
        f"replication slot {slot} on {where} is lost (wal_status = lost): max_slot_wal_keep_size let the server remove "
        "WAL the copy had not received, so the copy can never catch up and misses writes. Re-seed the copy "
        f"(it empties the copy's tables and copies everything again): {RESEED_COMMAND}"
    )


def published_tables(conn: psycopg.Connection, publication: str = PUBLICATION) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_publication_tables WHERE pubname = %s ORDER BY 1", (publication,)
        ).fetchall()
    ]


def setup(
    publisher: Endpoint,
    subscriber: Endpoint,
    *,
    schema: bool = True,
    wait_s: float = 600,
    echo: Callable[[str], None] = lambda _s: None,
    replication_login: Endpoint | None = None,
    monitor_role: str | None = None,
    reseed: bool = False,
) -> list[str]:
    """Starts replication from scratch; safe to run again. Returns (and echoes) what it did.

    `replication_login` is how the subscription signs in to the publisher: the stack's replication
    role (aws-dr outputs databaseReplicationUsername/Password), which holds only rds_replication and
    SELECT (the roles Job's grants; the tool's own schema `dr` is granted here). Without it the
    subscription signs in as `publisher` (the admin user). `monitor_role` (the lag CronJob's role,
    where the roles Job created it) may beat and read the heartbeat on both sides.

    A subscription whose slot was invalidated (wal_status lost) or is gone cannot catch up: setup
    refuses it, unless `reseed`, which drops it, empties the copy's tables and copies everything again.
    """
    done: list[str] = []

    def step(text: str) -> None:
        done.append(text)
        echo(text)

    login = replication_login or publisher
    with connect(publisher) as pub, connect(subscriber) as sub:
        if pub.execute("SHOW wal_level").fetchone()[0] != "logical":
            raise DrError("the publisher's wal_level is not logical: set rds.logical_replication = 1 and reboot the instance")
        refuse_tables_without_primary_key(pub, "publisher")
        if sub.execute("SELECT to_regclass('dr.heartbeat') IS NOT NULL").fetchone()[0]:
            sub.execute(HEARTBEAT_DDL)  # a column the publisher's heartbeat gains must exist on the copy first
        step(install_heartbeat(pub))
        if schema:
            step(ensure_schema(publisher, subscriber, pub, sub))
        step(f"created publication {PUBLICATION}" if create_publication(pub) else f"publication {PUBLICATION} already there")
        for side, conn, roles in (
            ("publisher", pub, (login.user if login is not publisher else None, monitor_role)),
            ("subscriber", sub, (None, monitor_role)),
        ):
            granted = grant_tool_schema(conn, replication_role=roles[0], monitor_role=roles[1])
            if granted:
                step(f"{side}: schema dr granted to {', '.join(granted)}")
        published = published_tables(pub)
        slot = slot_state(pub, SLOT)
        if subscription_exists(sub) and (slot is None or slot["wal_status"] == "lost"):
            problem = slot_lost_message(SLOT) if slot is not None else f"subscription {SUBSCRIPTION} has no slot {SLOT} on the publisher"
            if not reseed:
                raise DrError(
                    problem if slot is not None else f"{problem}: the copy misses every write since. Re-seed it: {RESEED_COMMAND}"
                )
            drop_subscription(sub, SUBSCRIPTION, keep_remote_slot=True)
            step(f"dropped subscription {SUBSCRIPTION} ({'its slot was lost' if slot is not None else 'its slot was gone'})")
            if slot is not None:
                step(drop_slot(pub, SLOT, force=True))
            tables = [t for t in published if t in user_tables(sub)]
            if tables:
                sub.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.SQL(t) for t in tables)))
            step(f"emptied {len(tables)} tables on the subscriber to copy them again")
            slot = None
        if subscription_exists(sub):
            ident = sql.Identifier(SUBSCRIPTION)
            sub.execute(sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(ident))
            missing = sorted(set(published) - set(sync_states(sub)))
            if missing:
                # Tables published since the subscription was made (a new dr table, the application's own): copy them too.
                sub.execute(sql.SQL("ALTER SUBSCRIPTION {} REFRESH PUBLICATION").format(ident))
                step(f"subscription {SUBSCRIPTION} refreshed: {len(missing)} newly published tables ({', '.join(missing)})")
            step(f"subscription {SUBSCRIPTION} already there (enabled)")
        else:
            full = tables_with_rows(sub, published)
            if full:
                raise DrError(
                    f"the subscriber's tables already hold rows: {', '.join(full)}. The initial copy would collide "
                    f"with them: empty them (or start from a fresh database) and run setup again, or re-seed: {RESEED_COMMAND}"
                )
            if slot is not None:
                step(drop_slot(pub, SLOT, force=False) + " (orphaned by an earlier subscription)")
            tls = create_subscription(sub, login)
            step(f"created subscription {SUBSCRIPTION} (slot {SLOT}, copy_data = true) signing in as {login.user}, {tls}")
        step(wait_until_copied(sub, published, timeout_s=wait_s))
    return done


@dataclass
class Lag:
    """How far the copy is behind, as far as it can be known.

    `seconds` is what the lag is known to be, read with `bound`: "exact" (a probe write was applied
    within its timeout: the time it took), "at least" (the probe was not applied within its timeout:
    the lag is at least the timeout and at least the age of the oldest primary beat the copy lacks),
    or "at most" (the primary was not asked: the age of the newest beat the copy holds). `seconds_upper`
    bounds it from above where that is known (the age of the newest beat the copy holds).
    `bytes` is the WAL the copy has not confirmed; `slot_status` the slot's wal_status ("lost": the copy
    can never catch up and must be re-seeded).
    """

    seconds: float | None
    bytes: int | None
    slot_wal_bytes: int | None
    method: str
    primary_reachable: bool
    subscription_running: bool
    last_beat_at: str | None
    bound: str = "exact"
    seconds_upper: float | None = None
    probe_timeout_s: float | None = None
    slot_status: str | None = None
    problems: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _copy_beat(sub: psycopg.Connection) -> tuple[int | None, object | None, float]:
    row = sub.execute(
        "SELECT hb.seq, hb.beat_at, extract(epoch FROM clock_timestamp())::float8 FROM (SELECT 1) one "
        "LEFT JOIN dr.heartbeat hb ON hb.id = 1"
    ).fetchone()
    return row[0], row[1], row[2]


def _backlog(pub: psycopg.Connection, copy_seq: int | None, copy_at) -> tuple[float, float | None]:
    """(lower, upper) bounds in seconds of the age of the oldest primary write the copy has not applied.

    The oldest unapplied write committed after the newest beat the copy holds (upper bound) and no
    later than the first beat it lacks (lower bound: that beat waits behind it)."""
    row = pub.execute(
        "SELECT extract(epoch FROM clock_timestamp())::float8, "
        "(SELECT extract(epoch FROM b.beat_at)::float8 FROM dr.beats b WHERE b.seq > %s ORDER BY b.seq LIMIT 1)",
        (copy_seq if copy_seq is not None else -1,),
    ).fetchone()
    now, first_missing = row
    lower = max(0.0, now - first_missing) if first_missing is not None else 0.0
    upper = max(0.0, now - copy_at.timestamp()) if copy_at is not None else None
    return lower, upper


def measure_lag(
    sub: psycopg.Connection,
    pub: psycopg.Connection | None,
    *,
    probe_timeout_s: float = 10.0,
    subscription: str = SUBSCRIPTION,
    slot: str = SLOT,
) -> Lag:
    """True lag of the copy.

    With the primary reachable: a probe heartbeat is written on the primary and timed until the copy
    has applied it (a fresh write waits behind everything not yet applied, so this is the lag a write
    made now would see; an idle pair reads ~0). When the probe is not applied within its timeout the
    lag is reported as a lower bound: the timeout, or the age of the first primary beat the copy still
    lacks (dr.beats on the primary records when each beat committed), whichever is larger. The slot's
    unconfirmed WAL gives the bytes, and its wal_status whether it was invalidated. Without the primary,
    the copy can only tell how old its newest beat is (an upper bound, growing while the primary is gone).
    """
    if sub.execute("SELECT to_regclass('dr.heartbeat') IS NULL").fetchone()[0]:
        raise DrError("the copy has no dr.heartbeat table: run `python -m dr setup` first")
    running = sub.execute(
        "SELECT s.pid IS NOT NULL FROM pg_subscription p LEFT JOIN pg_stat_subscription s ON s.subid = p.oid AND s.relid IS NULL "
        f"WHERE p.subname = %s AND p.{THIS_DATABASE}",
        (subscription,),
    ).fetchone()
    subscription_running = bool(running and running[0])
    copy_seq, copy_at, copy_now = _copy_beat(sub)
    if pub is None:
        age = None if copy_at is None else max(0.0, copy_now - copy_at.timestamp())
        return Lag(
            None if age is None else round(age, 3) + 0.0,
            None,
            None,
            "age of the newest heartbeat on the copy (primary unreachable)",
            False,
            subscription_running,
            None if copy_at is None else copy_at.isoformat(),
            bound="at most",
            seconds_upper=None if age is None else round(age, 3) + 0.0,
        )
    state = slot_state(pub, slot)
    problems = []
    if state is not None and state["wal_status"] == "lost":
        problems.append(slot_lost_message(slot))
        probe_applied, waited = False, 0.0
    else:
        probe = probe_beat(pub)
        started = time.monotonic()
        while True:
            seq, _at, _ = _copy_beat(sub)
            waited = time.monotonic() - started
            if seq is not None and seq >= probe:
                probe_applied = True
                break
            if waited >= probe_timeout_s:
                probe_applied = False
                break
            time.sleep(0.01)
        state = slot_state(pub, slot)
    copy_seq, copy_at, _ = _copy_beat(sub)
    lower, upper = _backlog(pub, copy_seq, copy_at)
    if probe_applied:
        seconds, bound = waited, "exact"
    elif state is not None and state["wal_status"] == "lost":
        seconds, bound = lower, "at least"
    else:
        seconds, bound = max(lower, waited), "at least"
    return Lag(
        round(seconds, 3) + 0.0,
        None if state is None else state["unconfirmed_bytes"],
        None if state is None else state["retained_bytes"],
        "probe heartbeat written on the primary and timed until applied on the copy"
        + ("" if probe_applied else "; not applied in time: at least the timeout and the age of the first beat the copy lacks"),
        True,
        subscription_running,
        None if copy_at is None else copy_at.isoformat(),
        bound=bound,
        seconds_upper=None if upper is None or probe_applied else round(max(seconds, upper), 3) + 0.0,
        probe_timeout_s=probe_timeout_s,
        slot_status=None if state is None else state["wal_status"],
        problems=problems,
    )


def format_lag(lag: Lag) -> str:
    if lag.seconds is None:
        return "lag unknown: the copy has never received a heartbeat"
    text = f"{max(0.0, lag.seconds):.3f} s behind" if lag.bound == "exact" else f"{lag.bound} {max(0.0, lag.seconds):.3f} s behind"
    if lag.seconds_upper is not None and lag.bound == "at least":
        text += f" (at most {lag.seconds_upper:.3f} s)"
    if lag.bytes is not None:
        text += f", {lag.bytes} bytes of WAL unconfirmed, slot holds {lag.slot_wal_bytes} bytes"
    if not lag.primary_reachable:
        text += " (primary unreachable: age of the copy's newest heartbeat)"
    if not lag.subscription_running:
        text += " (subscription worker not running)"
    return text
