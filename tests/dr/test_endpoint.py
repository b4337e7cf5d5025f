"""Passwords reach the tools through the environment or a passfile, and never leave them."""

from __future__ import annotations

import subprocess

from dr import replication
from dr.endpoint import Endpoint, Scrubber, connect, from_env, passfile_lookup

from .conftest import PASSWORD
from .helpers import env_for, run_dr


def test_conninfo_quotes_the_password_and_redacts_it():
    endpoint = Endpoint(host="db", dbname="crm", user="crmadmin", password="it's \\ secret")
    assert "password='it\\'s \\\\ secret'" in endpoint.conninfo()
    assert "secret" not in endpoint.redacted() and "sslmode=require" in endpoint.redacted()
    assert "secret" not in repr(endpoint)


def test_scrubber_removes_the_password_in_raw_percent_encoded_and_escaped_forms():
    endpoint = Endpoint(host="db", dbname="crm", user="u", password="p@ss w'rd\\x")
    scrub = Scrubber(endpoint)
    text = "raw p@ss w'rd\\x url p%40ss%20w%27rd%5Cx plus p%40ss+w%27rd%5Cx conninfo p@ss w\\'rd\\\\x"
    cleaned = scrub(text)
    assert "p@ss" not in cleaned and "p%40ss" not in cleaned and cleaned.count("***") == 4


def test_pg_dump_and_psql_get_the_password_in_their_environment_not_argv(monkeypatch):
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs["env"]))
        return subprocess.CompletedProcess(argv, 0, "CREATE TABLE t ();", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    publisher = Endpoint(host="rds", dbname="crm", user="crmadmin", password="pub-Secret-1")
    subscriber = Endpoint(host="cloudsql", dbname="crm", user="crmadmin", password="sub-Secret-2")
    replication.copy_schema(publisher, subscriber)
    (dump_argv, dump_env), (psql_argv, psql_env) = calls
    assert not any("Secret" in arg for arg in dump_argv + psql_argv)
    assert (dump_env["PGHOST"], dump_env["PGPASSWORD"]) == ("rds", "pub-Secret-1")
    assert (psql_env["PGHOST"], psql_env["PGPASSWORD"]) == ("cloudsql", "sub-Secret-2")


def test_passfile_supplies_the_password_with_wildcards_and_escapes(tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("# comment\nother:5432:crm:crmadmin:wrong\nrds.example:*:crm:crmadmin:pa\\:ss\\\\word\n")
    endpoint = Endpoint(host="rds.example", dbname="crm", user="crmadmin", port=6543, passfile=str(passfile))
    assert passfile_lookup(passfile, endpoint) == "pa:ss\\word"
    assert endpoint.resolved_password() == "pa:ss\\word"
    assert "password" not in endpoint.params() and endpoint.params()["passfile"] == str(passfile)


def test_endpoint_from_environment_names_the_missing_variable():
    try:
        from_env("PUBLISHER", {})
    except Exception as exc:
        assert "PUBLISHER_HOST" in str(exc)
    else:
        raise AssertionError("a missing host must be reported")


def test_unreachable_host_error_shows_no_password_and_no_traceback():
    secret = "Unr3achable-pw-%/@"
    target = Endpoint(host="127.0.0.1", dbname="crm", user="crmadmin", password=secret, port=9, sslmode="disable")
    result = run_dr("lag", "--max-seconds", "4", env=env_for(target, target))
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "cannot connect to 127.0.0.1:9/crm" in output
    assert secret not in output and "Unr3achable" not in output and "Traceback" not in output


def test_wrong_password_error_shows_libpq_message_without_the_password(postgres_pair):
    publisher, subscriber = postgres_pair
    wrong = publisher.endpoint(sslmode="require", password="Wr0ng-" + PASSWORD)
    result = run_dr("setup", env=env_for(wrong, subscriber.endpoint()))
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "password authentication failed" in output
    assert "Wr0ng" not in output and "Traceback" not in output


def test_pg_dump_failure_is_reported_with_its_own_message_and_no_password():
    publisher = Endpoint(host="127.0.0.1", dbname="crm", user="crmadmin", password="Dump-Secret-9", port=9, sslmode="disable")
    try:
        replication.copy_schema(publisher, publisher)
    except Exception as exc:
        message = str(exc)
    else:
        raise AssertionError("pg_dump against a closed port must fail")
    assert message.startswith("pg_dump failed against 127.0.0.1:9") and "Dump-Secret-9" not in message


def test_setup_and_lag_commands_work_from_a_passfile_alone(postgres_pair, tmp_path):
    publisher, subscriber = postgres_pair
    pub, sub = publisher.endpoint(sslmode="require"), subscriber.endpoint()
    with connect(pub) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text); INSERT INTO customers (name) VALUES ('a'), ('b')")
    escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:*:*:postgres:{escaped}\n")
    passfile.chmod(0o600)
    env = env_for(
        Endpoint(pub.host, pub.dbname, pub.user, None, pub.port, pub.sslmode),
        Endpoint(sub.host, sub.dbname, sub.user, None, sub.port, sub.sslmode),
        PUBLISHER_PASSFILE=str(passfile),
        SUBSCRIBER_PASSFILE=str(passfile),
    )
    setup = run_dr("setup", env=env)
    assert setup.returncode == 0, setup.stderr
    assert "- initial copy finished: 3 tables ready" in setup.stdout
    lag = run_dr("lag", "--max-seconds", "4", env=env)
    assert lag.returncode == 0, lag.stderr
    assert PASSWORD not in setup.stdout + setup.stderr + lag.stdout + lag.stderr
