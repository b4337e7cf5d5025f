"""The PostgreSQL audit and diagnostic logging both clouds set, defined once.

What is logged: connections and disconnections, DDL and role changes (pgAudit session logging,
classes `ddl,role`; pgAudit writes `<REDACTED>` for the password of CREATE/ALTER ROLE), lock waits
longer than `deadlock_timeout`, and checkpoints.

What is never logged by default: statement text or bind parameters that may carry customer data.
`log_min_duration_statement` is -1 (no slow-statement logging: its lines hold the statement with
its literals), the statement of a failing query is not echoed (`log_min_error_statement` at
`panic`), bind parameters are cut to 0 bytes where the service exposes that setting, and pgAudit
logs neither parameters nor relation lists. Slow queries are analysed with Query Insights (Cloud
SQL) and Performance Insights (RDS), which record normalised statements without values.

Each setting is one `Setting`; `cloudsql_flags` and `rds_parameters` turn the list into the
shape each service takes. `static` marks the settings PostgreSQL reads only at start-up
(`postmaster` context), which RDS applies at the next reboot and Cloud SQL by restarting.
"""

from __future__ import annotations

from dataclasses import dataclass

# Session audit classes: DDL (CREATE/ALTER/DROP of any object) and ROLE (roles, grants, privileges).
# Valid classes: read, write, function, role, ddl, misc, misc_set, all, none (pgAudit README).
AUDIT_CLASSES = "ddl,role"
PGAUDIT_CLASSES = {"read", "write", "function", "role", "ddl", "misc", "misc_set", "all", "none"}
NO_SLOW_STATEMENTS = -1


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    static: bool = False
    rds_only: bool = False  # a PostgreSQL setting RDS exposes but Cloud SQL's supported flags do not list


def audit_settings(audit_classes: str = AUDIT_CLASSES, slow_statement_ms: int = NO_SLOW_STATEMENTS) -> list[Setting]:
    """The logging settings of one database; `slow_statement_ms` >= 0 opts in to logging slow statements (with their text)."""
    classes = [c.strip() for c in audit_classes.split(",") if c.strip()]
    unknown = [c for c in classes if c.lstrip("-") not in PGAUDIT_CLASSES]
    if not classes or unknown:
        raise ValueError(f"pgaudit.log classes must be from {', '.join(sorted(PGAUDIT_CLASSES))}, got '{audit_classes}'")
    if slow_statement_ms < NO_SLOW_STATEMENTS:
        raise ValueError(f"slow_statement_ms must be -1 (off) or a duration in ms, got {slow_statement_ms}")
    return [
        Setting("pgaudit.log", ",".join(classes)),
        Setting("pgaudit.log_parameter", "off"),
        Setting("pgaudit.log_relation", "off"),
        Setting("log_connections", "on"),
        Setting("log_disconnections", "on"),
        Setting("log_lock_waits", "on"),
        Setting("log_checkpoints", "on"),
        Setting("log_min_duration_statement", str(slow_statement_ms)),
        Setting("log_min_error_statement", "panic"),
        Setting("log_parameter_max_length", "0", rds_only=True),
        Setting("log_parameter_max_length_on_error", "0", rds_only=True),
    ]


def cloudsql_flags(settings: list[Setting]) -> list[dict]:
    """Cloud SQL database flags: pgAudit is switched on by `cloudsql.enable_pgaudit` (a restart), then configured by its flags."""
    flags = [{"name": "cloudsql.enable_pgaudit", "value": "on"}]
    flags += [{"name": s.name, "value": s.value} for s in settings if not s.rds_only]
    return flags


def rds_parameters(settings: list[Setting], preload: list[str] | None = None) -> list[dict]:
    """RDS parameter-group entries: pgAudit joins `shared_preload_libraries` (static: applied at the next reboot).

    RDS's default preload list is `pg_stat_statements`, which Performance Insights reads: it stays.
    Booleans are written 1/0, the form RDS reports back, so a refresh shows no drift.
    """
    libraries = list(preload or ["pg_stat_statements"])
    if "pgaudit" not in libraries:
        libraries.append("pgaudit")
    parameters = [{"name": "shared_preload_libraries", "value": ",".join(libraries), "apply_method": "pending-reboot"}]
    for s in settings:
        value = {"on": "1", "off": "0"}.get(s.value, s.value)
        parameters.append({"name": s.name, "value": value, "apply_method": "pending-reboot" if s.static else "immediate"})
    return parameters


# The role Job creates the extension (DDL event details need it). Only a server that preloads the
# library can: RDS loads it after the reboot that follows the parameter change, so until then the
# statement fails, and the block turns that into a notice (the next deploy's Job run creates it).
# The block is idempotent, and reading `shared_preload_libraries` needs privileges the admin user
# may lack, so the attempt itself is the test.
CREATE_EXTENSION_SQL = (
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pgaudit; "
    "EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'pgaudit is not loaded yet (%); audit classes apply once it is', SQLERRM; END $$;"
)
