"""The shipped table of Google's predefined roles' iam.* permissions covers every role the CI deploy account holds."""

from __future__ import annotations

import pytest

from tools.checks import gcp_roles
from tools.checks.gcp_roles.extract import granted_roles


def test_every_role_the_deploy_account_is_granted_is_in_the_table():
    granted = granted_roles()
    assert len(granted) > 10 and sorted(set(granted) - set(gcp_roles.roles())) == []


def test_the_table_names_its_source_commit():
    assert gcp_roles.source().startswith("https://github.com/iann0036/iam-dataset/tree/")


def test_service_account_user_acts_as_and_service_account_admin_re_grants_but_does_not_act_as():
    assert gcp_roles.holds("roles/iam.serviceAccountUser", "iam.serviceAccounts.actAs")
    assert gcp_roles.holds("roles/iam.serviceAccountAdmin", "iam.serviceAccounts.setIamPolicy")
    assert not gcp_roles.holds("roles/iam.serviceAccountAdmin", "iam.serviceAccounts.actAs")


def test_a_role_outside_the_table_is_an_error_not_an_empty_set():
    with pytest.raises(KeyError):
        gcp_roles.permissions("roles/owner")
