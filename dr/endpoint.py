"""Database endpoints from the environment, connections, and keeping passwords out of output.

A password reaches the tools only through the environment (`<PREFIX>_PASSWORD`) or a libpq passfile
(`<PREFIX>_PASSFILE`, or the standard PGPASSFILE / ~/.pgpass). It never goes on a command line:
pg_dump and psql get it as PGPASSWORD in their environment, and every error message is scrubbed
of it before it is printed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import psycopg

CONNECT_TIMEOUT_S = 5
# A server that answered and then stopped answering (a partition, a frozen host) must not hold a command
# forever: TCP keepalives find a silent peer while a reply is awaited, tcp_user_timeout (ms) one that stopped
# acknowledging what was sent.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 15_000}
# On the old primary a statement or a lock wait that takes longer than this is a server that cannot be
# trusted to answer (every statement there takes milliseconds); RDS lets any user set both per session.
OLD_PRIMARY_STATEMENT_TIMEOUT_MS, OLD_PRIMARY_LOCK_TIMEOUT_MS = 15_000, 5_000


class DrError(Exception):
    """A failure the operator can act on; printed as one line, without a traceback."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    dbname: str
    user: str
    password: str | None = field(default=None, repr=False)
    port: int = 5432
    sslmode: str = "require"
    passfile: str | None = None
    # The CA file libpq verifies the server's certificate against (sslmode verify-ca / verify-full).
    sslrootcert: str | None = None
    # The same CA as a path on the *other* database server, for the subscription it opens to this one
    # (self-managed servers only: a managed service offers no place for it).
    peer_sslrootcert: str | None = None

    def params(self) -> dict:
        """Keyword arguments for libpq (the password travels as a keyword, never in a string we print)."""
        params = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "sslmode": self.sslmode,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "dr",
            **KEEPALIVES,
        }
        if self.password is not None:
            params["password"] = self.password
        if self.passfile:
            params["passfile"] = self.passfile
        if self.sslrootcert:
            params["sslrootcert"] = self.sslrootcert
        return params

    def resolved_password(self) -> str | None:
        """The password, from the environment or the passfile (the subscriber's server needs it in CREATE SUBSCRIPTION)."""
        if self.password is not None:
            return self.password
        return passfile_lookup(Path(self.passfile or os.environ.get("PGPASSFILE") or Path.home() / ".pgpass"), self)

    def conninfo(self) -> str:
        """libpq key=value form, as the subscriber's server needs it; contains the password: never print it.

        The subscriber's server makes this connection, not this process, so a CA file must be a path on
        that server (`peer_sslrootcert`). Managed servers (Cloud SQL, RDS) cannot be given one: there a
        verify-* mode becomes `require` (encrypted, the certificate unchecked; see `server_tls`).
        """

        def value(v) -> str:
            text = str(v).replace("\\", "\\\\").replace("'", "\\'")
            return f"'{text}'"

        parts = {"host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user, "sslmode": self.server_tls()}
        if self.peer_sslrootcert:
            parts["sslrootcert"] = self.peer_sslrootcert
        password = self.resolved_password()
        if password is not None:
            parts["password"] = password
        return " ".join(f"{k}={value(v)}" for k, v in parts.items())

    def server_tls(self) -> str:
        """The sslmode a subscription to this endpoint can use on the other server."""
        if self.sslmode in ("verify-ca", "verify-full") and not self.peer_sslrootcert:
            return "require"
        return self.sslmode

    def client_env(self) -> dict:
        """Environment for pg_dump/psql: the connection as PG* variables, so nothing secret is in argv."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            PGHOST=self.host,
            PGPORT=str(self.port),
            PGDATABASE=self.dbname,
            PGUSER=self.user,
            PGSSLMODE=self.sslmode,
            PGCONNECT_TIMEOUT=str(CONNECT_TIMEOUT_S),
        )
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        if self.passfile:
            env["PGPASSFILE"] = self.passfile
        if self.sslrootcert:
            env["PGSSLROOTCERT"] = self.sslrootcert
        return env

    def secrets(self) -> list[str]:
        password = self.password if self.password is not None else _quiet(self.resolved_password)
        if not password:
            return []
        escaped = password.replace("\\", "\\\\").replace("'", "\\'")
        return sorted({password, quote(password, safe=""), quote_plus(password), escaped}, key=len, reverse=True)

    def redacted(self) -> str:
        text = f"host={self.host} port={self.port} dbname={self.dbname} user={self.user} password=*** sslmode={self.sslmode}"
        return text + (f" sslrootcert={self.sslrootcert}" if self.sslrootcert else "")


def _quiet(fn):
    try:
        return fn()
    except OSError:
        return None


def passfile_lookup(path: Path, endpoint: Endpoint) -> str | None:
    """The password for `endpoint` in a libpq passfile (hostname:port:database:username:password, `*` matches)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields, current, escape = [], "", False
        for ch in line:
            if escape:
                current, escape = current + ch, False
            elif ch == "\\":
                escape = True
            elif ch == ":" and len(fields) < 4:
                fields.append(current)
                current = ""
            else:
                current += ch
        fields.append(current)
        if len(fields) != 5:
            continue
        wanted = (endpoint.host, str(endpoint.port), endpoint.dbname, endpoint.user)
        if all(f == "*" or f == w for f, w in zip(fields[:4], wanted)):
            return fields[4]
    return None


def from_env(prefix: str, environ: Mapping[str, str] = os.environ, *, default_sslmode: str = "require") -> Endpoint:
    """`<PREFIX>_HOST` and a password (`<PREFIX>_PASSWORD` or `<PREFIX>_PASSFILE`/PGPASSFILE/~/.pgpass); *_PORT, *_DBNAME, *_USER,
    *_SSLMODE and *_SSLROOTCERT (the CA file for verify-ca / verify-full) optional."""
    if not environ.get(f"{prefix}_HOST"):
        raise DrError(f"set {prefix}_HOST (and {prefix}_PASSWORD or {prefix}_PASSFILE)")
    get = lambda key, default: environ.get(f"{prefix}_{key}") or default  # noqa: E731
    if not get("PORT", "5432").isdigit():
        raise DrError(f"{prefix}_PORT must be a port number")
    return Endpoint(
        host=get("HOST", ""),
        port=int(get("PORT", "5432")),
        dbname=get("DBNAME", "crm"),
        user=get("USER", "crmadmin"),
        password=environ.get(f"{prefix}_PASSWORD") or None,
        sslmode=get("SSLMODE", default_sslmode),
        passfile=environ.get(f"{prefix}_PASSFILE") or None,
        sslrootcert=environ.get(f"{prefix}_SSLROOTCERT") or None,
        peer_sslrootcert=environ.get(f"{prefix}_PEER_SSLROOTCERT") or None,
    )


class Scrubber:
    """Replaces every known secret in a text with ***."""

    def __init__(self, *endpoints: Endpoint | None):
        self.secrets: list[str] = []
        for endpoint in endpoints:
            if endpoint is not None:
                self.secrets.extend(endpoint.secrets())
        self.secrets.sort(key=len, reverse=True)

    def add(self, endpoint: Endpoint) -> None:
        self.secrets = sorted(set(self.secrets) | set(endpoint.secrets()), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def connect(endpoint: Endpoint, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection; a failure is a DrError naming the endpoint, with libpq's message and no password."""
    try:
        return psycopg.connect(**endpoint.params(), autocommit=autocommit)
    except psycopg.Error as exc:
        message = Scrubber(endpoint)(str(exc).strip())
        raise DrError(f"cannot connect to {endpoint.host}:{endpoint.port}/{endpoint.dbname} as {endpoint.user}: {message}") from None


# libpq's words for a server that never answered: the connection timed out, was refused, or had no route.
_UNREACHABLE = ("connection refused", "timeout expired", "timed out", "no route to host", "network is unreachable", "host is unreachable")


def unreachable(message: str) -> bool:
    """Whether a connection failure means no server answered.

    Only a timeout, a refused connection or no route counts. A server that answered and refused the
    login (a wrong or rotated password, no pg_hba entry, a role without LOGIN), a TLS failure, an
    unknown database or host name are errors of ours: treating them as "unreachable" would let a
    promotion skip fencing a primary that is alive and writable. libpq lists one line per address it
    tried; any line that is not one of the unreachable kinds makes the whole failure an error.
    """
    lines = [line.strip().lower() for line in message.splitlines() if "failed:" in line.lower()] or [message.lower()]
    return all(any(marker in line for marker in _UNREACHABLE) for line in lines)


def reachable(endpoint: Endpoint, *, role: str = "the old primary") -> psycopg.Connection | None:
    """A connection, or None when the server cannot be reached (timeout, refused, no route).

    Any other failure (the server answered and refused us) is a DrError: the caller must not carry on
    as if the server were gone."""
    options = f"-c statement_timeout={OLD_PRIMARY_STATEMENT_TIMEOUT_MS} -c lock_timeout={OLD_PRIMARY_LOCK_TIMEOUT_MS}"
    try:
        return psycopg.connect(**endpoint.params(), autocommit=True, options=options)
    except psycopg.Error as exc:
        message = Scrubber(endpoint)(str(exc).strip())
        if unreachable(message):
            return None
        raise DrError(
            f"{role} {endpoint.host}:{endpoint.port}/{endpoint.dbname} answered but the connection as {endpoint.user} failed: "
            f"{' '.join(message.split())}. This is not an unreachable server: it may still take writes. Fix the credentials "
            "(*_USER, *_PASSWORD, *_SSLMODE); only if it is truly lost, run again with --no-primary"
        ) from None


def run_client(endpoint: Endpoint, argv: list[str], *, stdin: str | None = None) -> str:
    """Runs pg_dump/psql against `endpoint` with the connection in the environment; their own error on failure."""
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=endpoint.client_env())
    if result.returncode != 0:
        raise DrError(f"{Path(argv[0]).name} failed against {endpoint.host}:{endpoint.port}: {Scrubber(endpoint)(result.stderr.strip())}")
    return result.stdout
