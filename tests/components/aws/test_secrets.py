from __future__ import annotations

import json

from components.aws.secrets import AppSecrets, AppSecretsArgs
from tests.helpers import is_secret, secret_value


def build(**changes):
    values = dict(
        secret_name="crm/test/app_env",
        kms_key_arn="arn:kms:secrets",
        payload={"A": "1"},
        tags={},
        settings={"public-host": "crm.example.com"},
        sensitive_settings={"token": "t0ken"},
    )
    values.update(changes)
    return lambda: AppSecrets("sec", AppSecretsArgs(**values))


def test_app_env_is_a_kms_encrypted_json_secret(run_component):
    result = run_component(build())
    secret = result.one("aws:secretsmanager/secret:Secret")
    version = result.one("aws:secretsmanager/secretVersion:SecretVersion")
    suffix = result.one("random:index/randomString:RandomString", "sec-app-env-suffix").output("result")
    assert secret["kmsKeyId"] == "arn:kms:secrets" and secret["name"] == f"crm/test/app_env-{suffix}"
    assert is_secret(version["secretString"])
    assert json.loads(secret_value(version["secretString"])) == {"A": "1"}


def test_a_destroyed_stacks_secret_name_is_not_asked_for_again(run_component):
    # A deleted secret's name stays taken for its recovery window; each incarnation draws its own suffix,
    # and a secret created before the suffix keeps its recorded name.
    result = run_component(build())
    secret = result.one("aws:secretsmanager/secret:Secret")
    suffix = result.one("random:index/randomString:RandomString", "sec-app-env-suffix")
    assert suffix.urn in secret.property_dependencies["name"] and secret.options["ignoreChanges"] == ["name"]


def test_sensitive_settings_are_secure_strings(run_component):
    params = {p["name"]: p for p in run_component(build()).of_type("aws:ssm/parameter:Parameter")}
    assert params["/crm/token"]["type"] == "SecureString" and params["/crm/token"]["keyId"] == "arn:kms:secrets"
    assert is_secret(params["/crm/token"]["value"])
    assert params["/crm/public-host"]["type"] == "String"


def test_secret_protected_and_recoverable_outside_dev(shipped):
    secret = shipped("aws-production").one("aws:secretsmanager/secret:Secret")
    assert secret.protect and secret["recoveryWindowInDays"] == 30
