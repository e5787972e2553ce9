"""esperclient 0.1.3 EnterpriseApi: get_enterprise and partial_update_enterprise (catalog §2.1, §4)."""

import uuid

import esperclient
import pytest

from helpers import anonymous_sdk, error_text, fails, is_aware

FIELDS = (
    "registered_name", "registered_address", "location", "zipcode",
    "contact_person", "contact_number", "contact_email",
)


def test_get_enterprise_describes_the_enterprise_of_the_key(tenant):
    api = esperclient.EnterpriseApi(tenant.sdk())
    e, status, _ = api.get_enterprise_with_http_info(tenant.id)
    assert status == 200
    assert isinstance(e, esperclient.EnterpriseV1)
    assert e.id == tenant.id
    assert e.name == tenant.name
    assert 1 <= len(e.short_code) <= 10
    # A new enterprise has no details yet: null (never "", which the SDK's length checks reject).
    assert all(getattr(e, f) is None for f in FIELDS), e
    assert e.emm is None
    assert is_aware(e.created_on) and is_aware(e.updated_on)
    assert e.created_on <= e.updated_on
    # get_enterprise is the plain form of the same call.
    assert api.get_enterprise(tenant.id).to_dict() == e.to_dict()


def test_partial_update_sets_every_field_and_persists(tenant):
    api = esperclient.EnterpriseApi(tenant.sdk())
    before = api.get_enterprise(tenant.id)
    values = {
        "name": tenant.name + " Renamed",
        "registered_name": "Compat Retail GmbH",
        "registered_address": "Unter den Linden 1",
        "location": "Berlin",
        "zipcode": "10117",
        "contact_person": "Ada Lovelace",
        "contact_number": "+49 30 1234567",
        "contact_email": "ops@compat.test",
    }
    changed = api.partial_update_enterprise(tenant.id, esperclient.EnterpriseUpdateV1(**values))
    assert isinstance(changed, esperclient.EnterpriseV1)
    for field, value in values.items():
        assert getattr(changed, field) == value, field
    assert changed.id == tenant.id
    assert changed.short_code == before.short_code
    assert changed.created_on == before.created_on
    assert changed.updated_on > before.updated_on

    again = api.get_enterprise(tenant.id)
    assert again.to_dict() == changed.to_dict()


def test_partial_update_leaves_the_other_fields_alone(tenant):
    api = esperclient.EnterpriseApi(tenant.sdk())
    api.partial_update_enterprise(tenant.id, esperclient.EnterpriseUpdateV1(location="Hamburg", contact_person="Grace"))
    api.partial_update_enterprise(tenant.id, esperclient.EnterpriseUpdateV1(zipcode="20095"))
    e = api.get_enterprise(tenant.id)
    assert (e.location, e.contact_person, e.zipcode, e.name) == ("Hamburg", "Grace", "20095", tenant.name)
    assert e.registered_name is None and e.contact_email is None


def test_partial_update_accepts_the_longest_allowed_values(tenant):
    api = esperclient.EnterpriseApi(tenant.sdk())
    longest = {"name": "N" * 255, "zipcode": "Z" * 8, "contact_number": "1" * 20,
               "contact_email": "m" * 240 + "@compat.test", "location": "L" * 255}
    assert len(longest["contact_email"]) == 252
    changed = api.partial_update_enterprise(tenant.id, longest)
    assert {k: getattr(changed, k) for k in longest} == longest
    e = api.get_enterprise(tenant.id)
    assert {k: getattr(e, k) for k in longest} == longest


# Bodies the SDK models would refuse to build are sent as plain dicts, as espercli does.
INVALID = [
    ("name", ""),
    ("name", "N" * 256),
    ("registered_name", ""),
    ("registered_address", "A" * 256),
    ("location", "L" * 256),
    ("zipcode", "123456789"),
    ("contact_person", "P" * 256),
    ("contact_number", "1" * 21),
    ("contact_email", "not-an-email"),
    ("contact_email", "m" * 250 + "@x.test"),
]


@pytest.mark.parametrize("field,value", INVALID, ids=[f"{f}-{len(v)}" for f, v in INVALID])
def test_partial_update_rejects_invalid_values_with_400(tenant, field, value):
    api = esperclient.EnterpriseApi(tenant.sdk())
    before = api.get_enterprise(tenant.id)
    companion = "contact_person" if field != "contact_person" else "location"
    envelope = fails(400, api.partial_update_enterprise, tenant.id, {field: value, companion: "Changed"})
    assert field in error_text(envelope), envelope
    # Nothing of a refused update is kept, not even its valid fields.
    assert api.get_enterprise(tenant.id).to_dict() == before.to_dict()


def test_invalid_email_through_the_sdk_model(tenant):
    # EnterpriseUpdateV1 only checks lengths, so the server is the one to refuse the address.
    api = esperclient.EnterpriseApi(tenant.sdk())
    envelope = fails(400, api.partial_update_enterprise, tenant.id, esperclient.EnterpriseUpdateV1(contact_email="nobody"))
    assert "contact_email" in error_text(envelope)


def test_another_enterprise_is_out_of_reach(tenant, other_tenant):
    mine = esperclient.EnterpriseApi(tenant.sdk())
    fails((403, 404), mine.get_enterprise, other_tenant.id)
    fails((403, 404), mine.partial_update_enterprise, other_tenant.id, esperclient.EnterpriseUpdateV1(location="Hijacked"))
    fails((403, 404), mine.get_enterprise, str(uuid.uuid4()))
    theirs = esperclient.EnterpriseApi(other_tenant.sdk()).get_enterprise(other_tenant.id)
    assert theirs.location is None and theirs.name == other_tenant.name


def test_malformed_enterprise_id_is_a_client_error(tenant):
    api = esperclient.EnterpriseApi(tenant.sdk())
    fails((400, 403, 404), api.get_enterprise, "not-a-uuid")


def test_missing_or_wrong_key_is_401(server, tenant):
    for client in (anonymous_sdk(server), tenant.sdk("stw_not-a-real-key"), tenant.sdk(tenant.key + "x")):
        api = esperclient.EnterpriseApi(client)
        fails(401, api.get_enterprise, tenant.id)
        fails(401, api.partial_update_enterprise, tenant.id, esperclient.EnterpriseUpdateV1(location="Nowhere"))
    assert esperclient.EnterpriseApi(tenant.sdk()).get_enterprise(tenant.id).location is None
