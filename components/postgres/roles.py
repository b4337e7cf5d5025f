"""The application's database roles, created by a Kubernetes Job on the cluster next to the database.

RDS and Cloud SQL sit in private subnets no deploy runner reaches, so the stack runs `psql` where
the application runs: a Job in its own namespace, its egress limited to PostgreSQL and DNS. The
admin credentials and the new roles' passwords reach it through a Secret as environment variables
(`PG*`, the roles' `*_PASSWORD_VERIFIER`s), never its arguments; the SQL is a ConfigMap and safe to run again.

- `read-write` (the writer: RDS, or the only database of a stack): the application role reads and
  writes every table, present and future; `replication_username`, when set, is the role Cloud
  SQL's subscription connects as: `rds_replication` and SELECT, nothing else.
- `read-only` (Cloud SQL while RDS is the writer): the application role only reads. The SQL never
  grants or revokes writes, so a rerun after `python -m dr promote` (which grants them) keeps them.
- `monitor_username`, when set (both sides of the DR pair), is the replication-lag CronJob's role:
  CONNECT and `pg_monitor`, no table grants. `python -m dr setup` adds what it needs of the tool's own
  schema `dr` (EXECUTE on the heartbeat function, SELECT on the heartbeat tables), which exists only then.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.base import Component, ready_after
from components.endpoints import DatabaseUser
from components.kubernetes.application import security_group_policy
from components.postgres.logging import CREATE_EXTENSION_SQL
from components.postgres.scram import scram_sha_256

MODES = ("read-write", "read-only")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PORT = 5432
RUN_AS_USER = 70  # the postgres user of the official postgres:*-alpine images
SQL_DIR, CA_FILE = "/sql", "server-ca.pem"


def _ident(name: str) -> str:
    if not _ROLE.match(name):
        raise ValueError(f"'{name}' is not a plain lower-case PostgreSQL identifier")
    return f'"{name}"'


def _login_role(role: str, variable: str) -> list[str]:
    # The environment holds the password's SCRAM verifier (components/postgres/scram.py), never the password.
    return [
        f"\\getenv {variable} {variable.upper()}_VERIFIER",
        f"SELECT 'CREATE ROLE {_ident(role)}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') \\gexec",
        # New roles start without SUPERUSER, REPLICATION or BYPASSRLS (which only a superuser may change).
        f"ALTER ROLE {_ident(role)} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'{variable}';",
    ]


def roles_sql(
    mode: str, database: str, admin: str, app: str, replication: str | None = None, audit: bool = True, monitor: str | None = None
) -> str:
    """The idempotent psql script of one database (identifiers are checked, passwords come from the environment).

    `audit`: create the pgAudit extension first (components/postgres/logging.py), so the role changes
    that follow are already audited where the server preloads it."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    if replication and mode != "read-write":
        raise ValueError("only the writer publishes: a replication role belongs to the read-write database")
    db, owner, app_ = _ident(database), _ident(admin), _ident(app)
    lines = ["\\set ON_ERROR_STOP on"]
    if audit:
        lines.append(CREATE_EXTENSION_SQL)
    lines += _login_role(app, "app_password")
    lines += [f"GRANT CONNECT ON DATABASE {db} TO {app_};", f"GRANT USAGE ON SCHEMA public TO {app_};"]
    if mode == "read-write":
        lines += [
            f"GRANT CREATE ON SCHEMA public TO {app_};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_};",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app_};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app_};",
        ]
    else:
        lines += [
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {app_};",
            f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {app_};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON SEQUENCES TO {app_};",
        ]
    if replication:
        rep = _ident(replication)
        lines += _login_role(replication, "replication_password")
        lines += [
            f"GRANT rds_replication TO {rep};",
            f"GRANT CONNECT ON DATABASE {db} TO {rep};",
            f"GRANT USAGE ON SCHEMA public TO {rep};",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {rep};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {rep};",
            # Tables the application creates itself (migrations as the application role) are published too.
            f"GRANT {app_} TO CURRENT_USER;",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {app_} IN SCHEMA public GRANT SELECT ON TABLES TO {rep};",
        ]
    if monitor:
        mon = _ident(monitor)
        lines += _login_role(monitor, "monitor_password")
        lines += [f"GRANT CONNECT ON DATABASE {db} TO {mon};", f"GRANT pg_monitor TO {mon};"]
    return "\n".join(lines) + "\n"


@dataclass
class DatabaseRolesArgs:
    namespace: str
    image: str
    mode: str  # read-write | read-only
    host: pulumi.Input[str]
    database: str
    admin_username: str
    admin_password: pulumi.Input[str]
    app_username: str
    app_password: pulumi.Input[str] | None = None  # None: generated here (pass the writer's to share one role password)
    replication_username: str | None = None  # the writer's replication role; its password is generated here
    monitor_username: str | None = None  # the replication-lag monitor's role; its password is generated here
    port: int = PORT
    rotation: Mapping[str, str] | None = None  # keepers of the generated passwords (crm:rotation); not the replication role's
    # EKS security groups for pods: the Job's pod gets these groups, which the database admits (docs/data-stores.md).
    pod_security_group_ids: Sequence[pulumi.Input[str]] = ()
    # The server's CA bundle and how to verify it (the database endpoint's: verify-full for RDS, verify-ca for
    # Cloud SQL's private IP). Without a CA the connection is encrypted but the server unverified (require).
    ca_certificate: pulumi.Input[str] | None = None
    sslmode: str = "verify-full"

    def __post_init__(self) -> None:
        if self.admin_username in (self.app_username, self.replication_username, self.monitor_username):
            raise ValueError("the application, replication and monitor roles are their own, never the admin user")
        self.sql = roles_sql(
            self.mode, self.database, self.admin_username, self.app_username, self.replication_username, monitor=self.monitor_username
        )


class DatabaseRoles(Component):
    """Pass the cluster's Kubernetes provider in `opts.providers`."""

    app: DatabaseUser
    app_username: str
    monitor: DatabaseUser | None
    replication: DatabaseUser | None
    replication_username: str | None

    def __init__(self, name: str, args: DatabaseRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:postgres:DatabaseRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        labels = {"app.kubernetes.io/name": "database-roles", "app.kubernetes.io/managed-by": "pulumi"}
        # Letters and digits only: the passwords go into connection URLs and psql variables unescaped.
        self.app_password = (
            pulumi.Output.secret(args.app_password)
            if args.app_password is not None
            else pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-app-password",
                    length=32,
                    special=False,
                    min_lower=2,
                    min_upper=2,
                    min_numeric=2,
                    keepers=dict(args.rotation) if args.rotation else None,
                    opts=child,
                ).result
            )
        )
        self.replication_password = None
        if args.replication_username:
            self.replication_password = pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-replication-password", length=32, special=False, min_lower=2, min_upper=2, min_numeric=2, opts=child
                ).result
            )
        self.monitor_password = None
        if args.monitor_username:
            self.monitor_password = pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-monitor-password", length=32, special=False, min_lower=2, min_upper=2, min_numeric=2, opts=child
                ).result
            )
        namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": ns, "labels": labels}, opts=child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        env = {
            "PGHOST": args.host,
            "PGPORT": str(args.port),
            "PGDATABASE": args.database,
            "PGUSER": args.admin_username,
            "PGPASSWORD": args.admin_password,
            # libpq verifies the server against the CA file the ConfigMap mounts next to the script.
            "PGSSLMODE": args.sslmode if args.ca_certificate is not None else "require",
            "APP_PASSWORD_VERIFIER": self.app_password.apply(scram_sha_256),
        }
        if args.ca_certificate is not None:
            env["PGSSLROOTCERT"] = f"{SQL_DIR}/{CA_FILE}"
        if self.replication_password is not None:
            env["REPLICATION_PASSWORD_VERIFIER"] = self.replication_password.apply(scram_sha_256)
        if self.monitor_password is not None:
            env["MONITOR_PASSWORD_VERIFIER"] = self.monitor_password.apply(scram_sha_256)
        self.secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": "database-roles", "namespace": ns, "labels": labels},
            type="Opaque",
            string_data=pulumi.Output.secret(env),
            opts=in_ns,
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-sql",
            metadata={"name": "database-roles-sql", "namespace": ns, "labels": labels},
            data={"roles.sql": args.sql, **({CA_FILE: args.ca_certificate} if args.ca_certificate is not None else {})},
            opts=in_ns,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata={"name": "database-roles", "namespace": ns, "labels": labels},
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [
                    {"ports": [{"protocol": "TCP", "port": args.port}]},
                    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                ],
            },
            opts=in_ns,
        )
        job_after = [self.secret, script]
        if args.pod_security_group_ids:
            job_after.append(
                security_group_policy(f"{name}-pod-sg", ns, "database-roles", labels, args.pod_security_group_ids, labels, in_ns)
            )
        # A new script or new passwords make a new pod template, so Pulumi replaces the Job and it runs again.
        # The CA and mode are in it too: the Job proves at deploy time that the server verifies.
        passwords = [self.app_password, self.replication_password or ""] + (
            [self.monitor_password] if self.monitor_password is not None else []
        )
        if args.ca_certificate is not None:
            passwords += [args.sslmode, args.ca_certificate]
        revision = pulumi.Output.all(*passwords).apply(
            lambda values: hashlib.sha256((args.sql + "\0".join(values)).encode()).hexdigest()[:16]
        )
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={"namespace": ns, "labels": labels},
            spec={
                "backoffLimit": 6,
                "activeDeadlineSeconds": 540,  # fails before Pulumi stops waiting (10 minutes)
                "template": {
                    "metadata": {"labels": labels, "annotations": {"crm/revision": revision}},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": RUN_AS_USER,
                            "runAsGroup": RUN_AS_USER,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "psql",
                                "image": args.image,
                                "command": ["psql", "--no-psqlrc", "--file", f"{SQL_DIR}/roles.sql"],
                                "envFrom": [{"secretRef": {"name": "database-roles"}}],
                                "volumeMounts": [{"name": "sql", "mountPath": SQL_DIR, "readOnly": True}],
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "privileged": False,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
                            }
                        ],
                        "volumes": [{"name": "sql", "configMap": {"name": "database-roles-sql"}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=job_after),
        )
        self.app_username = args.app_username
        self.replication_username = args.replication_username
        # What signs in as these roles waits for the Job that sets their passwords: a rotated password reaches
        # app_env (and so the pods, which roll on its digest) only once the database accepts it.
        self.app = DatabaseUser(args.app_username, ready_after(self.app_password, self.job))
        self.replication = (
            DatabaseUser(args.replication_username, ready_after(self.replication_password, self.job))
            if self.replication_password is not None
            else None
        )
        self.monitor = (
            DatabaseUser(args.monitor_username, ready_after(self.monitor_password, self.job)) if self.monitor_password is not None else None
        )
        self.register_outputs({"appUsername": self.app_username})
