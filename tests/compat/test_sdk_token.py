"""esperclient 0.1.3 TokenApi: get_token_info and renew_token (catalog §2.1, §2.9, §6.4).

Steward's design: an API key is its own "developer app"; token-info's `developer_app` is the key's
id, renew-token takes that id and a valid key of the same enterprise as `access_token` and answers
201 with a new key (the old one stays valid until revoked)."""

import re
import uuid
from datetime import datetime, timedelta, timezone

import esperclient

from helpers import anonymous_sdk, error_text, fails, is_aware, is_uuid

DISPLAY_ENTERPRISE = re.compile(r"^(?P<name>.+) \[(?P<id>[0-9a-f-]{36})\]$")
DISPLAY_APP = re.compile(r"^(?P<name>.+) \((?P<id>[0-9a-f-]{36})\)$")


def key_ids(server, enterprise, state="active"):
    """Ids of the enterprise's keys in that state, from `steward apikey list` (tab-separated,
    header line first, state last)."""
    out = server.admin_output("apikey", "list", "--enterprise", enterprise)
    rows = [line.split("\t") for line in out.strip().splitlines()[1:]]
    return {row[0] for row in rows if row and row[-1].strip() == state}


def assert_masked(shown, key):
    """token-info shows at most a recognisable prefix of the key, never the secret."""
    assert shown and shown != key and key not in shown
    visible = shown.rstrip("…*.•x ")
    assert key.startswith(visible), (shown, key)
    assert len(visible) <= len(key) // 2, shown


def test_token_info_describes_the_key(server, tenant):
    api = esperclient.TokenApi(tenant.sdk())
    info, status, _ = api.get_token_info_with_http_info()
    assert status == 200
    assert isinstance(info, esperclient.TokenInfoV1)
    assert isinstance(info.id, str) and int(info.id) > 0
    assert info.enterprise == tenant.id  # the bare UUID: espercli puts it into every path
    assert is_uuid(info.developer_app)
    assert key_ids(server, tenant.id) == {info.developer_app}
    assert info.scope and all(isinstance(s, str) and s for s in info.scope)
    assert_masked(info.token, tenant.key)
    assert info.expires_on is None
    assert is_aware(info.created_on) and is_aware(info.updated_on)
    assert abs(datetime.now(timezone.utc) - info.created_on) < timedelta(hours=1)
    assert api.get_token_info().to_dict() == info.to_dict()


def test_each_key_has_its_own_token_info(server, tenant):
    second = server.admin("apikey", "create", "--enterprise", tenant.id, "--name", "second")
    first_info = esperclient.TokenApi(tenant.sdk()).get_token_info()
    second_info = esperclient.TokenApi(tenant.sdk(second)).get_token_info()
    assert first_info.enterprise == second_info.enterprise == tenant.id
    assert first_info.id != second_info.id
    assert first_info.developer_app != second_info.developer_app
    assert_masked(second_info.token, second)
    assert key_ids(server, tenant.id) == {first_info.developer_app, second_info.developer_app}


def test_expiring_key_reports_its_expiry(server, tenant):
    key = server.admin("apikey", "create", "--enterprise", tenant.id, "--name", "short", "--expires-in-days", "2")
    info = esperclient.TokenApi(tenant.sdk(key)).get_token_info()
    assert is_aware(info.expires_on)
    expected = datetime.now(timezone.utc) + timedelta(days=2)
    assert abs(info.expires_on - expected) < timedelta(hours=1), info.expires_on


def test_renew_token_issues_a_new_working_key(server, tenant):
    api = esperclient.TokenApi(tenant.sdk())
    info = api.get_token_info()
    renewed, status, _ = api.renew_token_with_http_info(tenant.id, info.developer_app, tenant.key)
    assert status == 201
    assert isinstance(renewed, esperclient.TokenRenewV0)
    assert renewed.token and renewed.token != tenant.key
    # espercli reads the ids out of these display strings (split on "[" and "(").
    enterprise = DISPLAY_ENTERPRISE.match(renewed.enterprise)
    assert enterprise and enterprise["name"] == tenant.name and enterprise["id"] == tenant.id, renewed.enterprise
    app = DISPLAY_APP.match(renewed.developerapp)
    assert app and app["name"] == tenant.key_name, renewed.developerapp
    assert renewed.enterprise.split("[")[1].split("]")[0] == tenant.id
    assert isinstance(renewed.scope, str) and renewed.scope
    assert is_aware(renewed.created_on)
    assert renewed.expires_at is None

    # The new key works and is the developer app that the response names.
    new_info = esperclient.TokenApi(tenant.sdk(renewed.token)).get_token_info()
    assert new_info.enterprise == tenant.id
    assert new_info.developer_app == app["id"]
    assert new_info.developer_app != info.developer_app
    assert_masked(new_info.token, renewed.token)
    # The old key stays valid until it is revoked.
    assert api.get_token_info().developer_app == info.developer_app
    assert key_ids(server, tenant.id) == {info.developer_app, new_info.developer_app}

    # The new key can be renewed in turn, with the developer app id the response gave.
    again = esperclient.TokenApi(tenant.sdk(renewed.token)).renew_token(tenant.id, app["id"], renewed.token)
    assert again.token not in (tenant.key, renewed.token)
    assert esperclient.TokenApi(tenant.sdk(again.token)).get_token_info().enterprise == tenant.id


def test_renew_token_refuses_what_it_cannot_renew(server, tenant, other_tenant):
    api = esperclient.TokenApi(tenant.sdk())
    mine = api.get_token_info().developer_app
    theirs = esperclient.TokenApi(other_tenant.sdk()).get_token_info().developer_app
    second = server.admin("apikey", "create", "--enterprise", tenant.id, "--name", "second")
    second_app = esperclient.TokenApi(tenant.sdk(second)).get_token_info().developer_app
    before = key_ids(server, tenant.id)

    # Not a key at all.
    envelope = fails(400, api.renew_token, tenant.id, mine, "stw_not-a-key")
    assert "access_token" in error_text(envelope)
    # A key of another enterprise, with its own developer app id.
    fails((400, 403), api.renew_token, tenant.id, theirs, other_tenant.key)
    # A real key of this enterprise that is not the named developer app.
    fails((400, 403, 404), api.renew_token, tenant.id, second_app, tenant.key)
    # A developer app that does not exist.
    fails((400, 404), api.renew_token, tenant.id, str(uuid.uuid4()), tenant.key)
    # Another enterprise in the path.
    fails((403, 404), api.renew_token, other_tenant.id, theirs, other_tenant.key)
    # No key, or a wrong key, in the Authorization header.
    fails(401, esperclient.TokenApi(anonymous_sdk(server)).renew_token, tenant.id, mine, tenant.key)
    fails(401, esperclient.TokenApi(tenant.sdk("stw_wrong")).renew_token, tenant.id, mine, tenant.key)

    assert key_ids(server, tenant.id) == before  # no key was made by a refused renewal
    assert esperclient.TokenApi(other_tenant.sdk()).get_token_info().developer_app == theirs


def test_revoked_key_is_rejected(server, tenant):
    second = server.admin("apikey", "create", "--enterprise", tenant.id, "--name", "doomed")
    api = esperclient.TokenApi(tenant.sdk(second))
    doomed = api.get_token_info().developer_app
    server.admin("apikey", "revoke", doomed)
    fails(401, api.get_token_info)
    fails(401, esperclient.EnterpriseApi(tenant.sdk(second)).get_enterprise, tenant.id)
    # A revoked key cannot be renewed either, even by a valid key of the enterprise.
    fails((400, 401, 403, 404), esperclient.TokenApi(tenant.sdk()).renew_token, tenant.id, doomed, second)
    assert doomed not in key_ids(server, tenant.id)
    # The enterprise's other key is untouched.
    assert esperclient.TokenApi(tenant.sdk()).get_token_info().enterprise == tenant.id


def test_expired_key_is_rejected(server, tenant):
    expired = server.admin("apikey", "create", "--enterprise", tenant.id, "--name", "stale", "--expires-in-days", "0")
    fails(401, esperclient.TokenApi(tenant.sdk(expired)).get_token_info)
    fails(401, esperclient.DeviceGroupApi(tenant.sdk(expired)).get_all_groups, tenant.id)
    # Nor can a valid key renew it.
    api = esperclient.TokenApi(tenant.sdk())
    stale_ids = key_ids(server, tenant.id, state="expired")
    assert len(stale_ids) == 1
    fails((400, 401, 403, 404), api.renew_token, tenant.id, stale_ids.pop(), expired)
    assert len(key_ids(server, tenant.id)) == 1


def test_token_info_without_a_valid_key_is_401(server, tenant):
    fails(401, esperclient.TokenApi(anonymous_sdk(server)).get_token_info)
    fails(401, esperclient.TokenApi(tenant.sdk("stw_" + "0" * 64)).get_token_info)
    fails(401, esperclient.TokenApi(tenant.sdk(tenant.key[:-1])).get_token_info)
