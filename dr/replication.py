"""Replication setup, lag and promotion, as SQL against two PostgreSQL 15 databases."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote

import psycopg
from psycopg import sql

PUBLICATION = "crm_replication"
SLOT = "crm_slot"
SUBSCRIPTION = "crm_subscription"
# Rows written on AWS inside the RPO window may be recovered later; leaving a gap above the highest
# replicated key means they can be re-inserted with their own ids without colliding.
DEFAULT_SEQUENCE_MARGIN = 10_000
# The application's role (crm:database.appUsername), read-only on the copy until promotion.
DEFAULT_APP_ROLE = "crm_app"


@dataclass(frozen=True)
class Endpoint:
    host: str
    dbname: str
    user: str
    password: str = field(repr=False)
    port: int = 5432
    sslmode: str = "require"

    def conninfo(self) -> str:
        """libpq key=value form; the password is quoted, never logged (see `redacted`)."""
        def value(v) -> str:
            text = str(v).replace("\\", "\\\\").replace("'", "\\'")
            return f"'{text}'"

        parts = {"host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user, "password": self.password, "sslmode": self.sslmode}
        return " ".join(f"{k}={value(v)}" for k, v in parts.items())

    def url(self) -> str:
        return f"postgresql://{quote(self.user)}:{quote(self.password)}@{self.host}:{self.port}/{quote(self.dbname)}?sslmode={self.sslmode}"

    def redacted(self) -> str:
        return f"host={self.host} port={self.port} dbname={self.dbname} user={self.user} password=*** sslmode={self.sslmode}"


def connect(endpoint: Endpoint) -> psycopg.Connection:
    return psycopg.connect(endpoint.conninfo(), autocommit=True)


def copy_schema(publisher: Endpoint, subscriber: Endpoint, pg_dump: str = "pg_dump", psql: str = "psql") -> None:
    """Logical replication needs the tables to exist on the subscriber: copy the schema, not the data."""
    dump = subprocess.run(
        [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "--no-publications", "--no-subscriptions", "--dbname", publisher.url()],
        capture_output=True, text=True, check=True,
    )
    subprocess.run([psql, "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", subscriber.url()], input=dump.stdout, capture_output=True, text=True, check=True)


def create_publication(conn: psycopg.Connection) -> bool:
    """The publication of every table; False when it already exists."""
    exists = conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (PUBLICATION,)).fetchone()
    if exists:
        return False
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(PUBLICATION)))
    return True


def create_subscription(conn: psycopg.Connection, publisher: Endpoint) -> bool:
    """The subscription on the copy, over TLS, creating the `crm_slot` slot (pgoutput) on the publisher."""
    exists = conn.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", (SUBSCRIPTION,)).fetchone()
    if exists:
        return False
    conn.execute(sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (slot_name = {}, create_slot = true, copy_data = true)").format(
        sql.Identifier(SUBSCRIPTION), sql.Literal(publisher.conninfo()), sql.Identifier(PUBLICATION), sql.Literal(SLOT),
    ))
    return True


def setup(publisher: Endpoint, subscriber: Endpoint, *, schema: bool = True, replication: Optional[Endpoint] = None) -> list[str]:
    """Starts replication from scratch; safe to run again. Returns what it did.

    `replication` is how the subscription signs in to the publisher: the stack's replication role
    (aws-dr outputs databaseReplicationUsername/Password), which holds only rds_replication and
    SELECT. Without it the subscription uses the publisher's admin endpoint.
    """
    done = []
    if schema:
        copy_schema(publisher, subscriber)
        done.append("copied the schema to the subscriber")
    with connect(publisher) as conn:
        done.append(f"created publication {PUBLICATION}" if create_publication(conn) else f"publication {PUBLICATION} already there")
    with connect(subscriber) as conn:
        done.append(f"created subscription {SUBSCRIPTION} (slot {SLOT})" if create_subscription(conn, replication or publisher) else f"subscription {SUBSCRIPTION} already there")
    return done


def lag_seconds(conn: psycopg.Connection) -> Optional[float]:
    """Seconds since the subscription last heard from the publisher; None when it is not running."""
    row = conn.execute(
        "SELECT EXTRACT(EPOCH FROM now() - last_msg_receipt_time) FROM pg_stat_subscription s "
        "JOIN pg_subscription p ON p.oid = s.subid WHERE p.subname = %s AND s.relid IS NULL",
        (SUBSCRIPTION,),
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


@dataclass
class SequenceMove:
    sequence: str
    table: str
    column: str
    highest_key: Optional[int]
    next_value: int


@dataclass
class Promotion:
    moved: list[SequenceMove]
    unowned: list[str]
    subscription_dropped: bool
    writes_granted_to: Optional[str] = None


_OWNED_SEQUENCES = """
SELECT s.oid::regclass::text, t.oid::regclass::text, a.attname
FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE s.relkind = 'S'
ORDER BY 1
"""
_ALL_SEQUENCES = "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"


def grant_writes(conn: psycopg.Connection, role: str) -> bool:
    """The application's role may write every table and sequence, present and future; False when the role does not exist."""
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        return False
    name = sql.Identifier(role)
    for statement in (
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}",
        "GRANT CREATE ON SCHEMA public TO {}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}",
    ):
        conn.execute(sql.SQL(statement).format(name))
    return True


def promote(conn: psycopg.Connection, margin: int = DEFAULT_SEQUENCE_MARGIN, app_role: Optional[str] = DEFAULT_APP_ROLE) -> Promotion:
    """Makes the copy the read/write primary.

    The application's role (read-only while RDS wrote) is granted writes once the sequences moved.

    The subscription is detached from its slot first: the publisher is gone, so DROP SUBSCRIPTION
    must not try to drop the remote slot. Then every sequence owned by a column (serial and identity
    columns) restarts above that column's highest value plus `margin`.
    """
    dropped = False
    if conn.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", (SUBSCRIPTION,)).fetchone():
        name = sql.Identifier(SUBSCRIPTION)
        conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(name))
        conn.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(name))
        conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(name))
        dropped = True
    moved = []
    owned = conn.execute(_OWNED_SEQUENCES).fetchall()
    with conn.transaction():
        for sequence, table, column in owned:
            highest = conn.execute(sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.SQL(table))).fetchone()[0]
            current = conn.execute(sql.SQL("SELECT last_value FROM {}").format(sql.SQL(sequence))).fetchone()[0]
            target = max(int(highest or 0), int(current)) + margin
            conn.execute("SELECT setval(%s::regclass, %s, true)", (sequence, target))
            moved.append(SequenceMove(sequence, table, column, highest, target + 1))
    owned_names = {row[0] for row in owned}
    unowned = [row[0] for row in conn.execute(_ALL_SEQUENCES).fetchall() if row[0] not in owned_names]
    # Last: the application writes only once the sequences are safe to draw from.
    granted = app_role if app_role and grant_writes(conn, app_role) else None
    return Promotion(moved, unowned, dropped, granted)
