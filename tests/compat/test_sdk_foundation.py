"""esperclient 0.1.3: every method of EnterpriseApi, TokenApi and DeviceGroupApi."""

import json
import uuid

import esperclient
import pytest
from esperclient.rest import ApiException

from conftest import unique


def error_of(excinfo):
    body = json.loads(excinfo.value.body)
    assert set(body) >= {"errors", "message", "status"}, body
    assert body["status"] == excinfo.value.status
    return body["message"]


def test_enterprise_get_and_partial_update(server):
    api = esperclient.EnterpriseApi(server.sdk())
    e = api.get_enterprise(server.enterprise)
    assert e.id == server.enterprise
    assert e.name == "Compat Retail"
    assert 1 <= len(e.short_code) <= 10
    update = esperclient.EnterpriseUpdateV1(registered_name="Compat Retail GmbH", zipcode="10115", contact_email="ops@compat.test")
    changed = api.partial_update_enterprise(server.enterprise, update)
    assert changed.registered_name == "Compat Retail GmbH"
    assert changed.name == "Compat Retail"
    again = api.get_enterprise(server.enterprise)
    assert (again.zipcode, again.contact_email) == ("10115", "ops@compat.test")

    with pytest.raises(ApiException) as bad:
        api.partial_update_enterprise(server.enterprise, {"zipcode": "123456789"})
    assert bad.value.status == 400
    assert "zipcode" in error_of(bad)
    with pytest.raises(ApiException) as other:
        api.get_enterprise(server.other_enterprise)
    assert other.value.status == 403


def test_token_info_and_renew(server):
    api = esperclient.TokenApi(server.sdk())
    info = api.get_token_info()
    assert info.enterprise == server.enterprise
    assert int(info.id) > 0
    assert server.key not in (info.token or "")
    renewed = api.renew_token(server.enterprise, info.developer_app, server.key)
    assert renewed.token and renewed.token != server.key
    assert renewed.enterprise.split("[")[1].split("]")[0] == server.enterprise
    assert renewed.developerapp.split("(")[1].split(")")[0]
    # The new key works on its own.
    fresh = esperclient.TokenApi(server.sdk(renewed.token)).get_token_info()
    assert fresh.enterprise == server.enterprise

    with pytest.raises(ApiException) as bad:
        api.renew_token(server.enterprise, info.developer_app, "stw_not-a-key")
    assert bad.value.status == 400
    with pytest.raises(ApiException) as unauthorized:
        esperclient.TokenApi(server.sdk("stw_wrong")).get_token_info()
    assert unauthorized.value.status == 401


def test_groups_create_get_list_update_delete(server):
    api = esperclient.DeviceGroupApi(server.sdk())
    eid = server.enterprise
    root_name = unique("Stores")
    root = api.create_group(eid, esperclient.DeviceGroupUpdate(name=root_name))
    assert root.name == root_name
    assert root.path == root_name
    assert root.parent is None
    assert root.children_count == 0 and root.device_count == 0
    assert root.enterprise.endswith(f"/enterprise/{eid}/")

    child = api.create_group(eid, esperclient.DeviceGroupUpdate(name="Berlin", parent=root.id))
    assert child.parent.split("/")[-2] == root.id
    assert child.path == f"{root_name}/Berlin"
    assert api.get_group_by_id(root.id, eid).children_count == 1

    # List with the name filter: the exact match comes first, pages are counted.
    api.create_group(eid, esperclient.DeviceGroupUpdate(name=root_name + " Old"))
    page = api.get_all_groups(eid, name=root_name, limit=1, offset=0)
    assert page.count == 2
    assert page.results[0].name == root_name
    assert page.next and "limit=1" in page.next and "offset=1" in page.next
    assert api.get_all_groups(eid, name=root_name, limit=1, offset=50).results == []

    # Rename (PUT with action), partial update without action, move and back.
    renamed = api.update_group(child.id, eid, esperclient.DeviceGroupUpdate(name="Berlin Mitte"), action="rename")
    assert renamed.path == f"{root_name}/Berlin Mitte"
    patched = api.partial_update_group(child.id, eid, esperclient.DeviceGroupPartialUpdate(name="Mitte"))
    assert patched.name == "Mitte"
    other_root = api.create_group(eid, esperclient.DeviceGroupUpdate(name=unique("Depots")))
    moved = api.partial_update_group(child.id, eid, esperclient.DeviceGroupPartialUpdate(name="Mitte", parent=other_root.id), action="move")
    assert moved.parent.split("/")[-2] == other_root.id
    assert api.get_group_by_id(root.id, eid).children_count == 0

    # Rules: cycles, depth, unknown devices, bad actions.
    with pytest.raises(ApiException) as cycle:
        api.partial_update_group(other_root.id, eid, esperclient.DeviceGroupPartialUpdate(parent=child.id), action="move")
    assert cycle.value.status == 400 and "below itself" in error_of(cycle)
    parent = other_root
    for level in range(1, 5):
        parent = api.create_group(eid, esperclient.DeviceGroupUpdate(name=f"L{level}", parent=parent.id))
    deepest = api.create_group(eid, esperclient.DeviceGroupUpdate(name="L5", parent=parent.id))
    with pytest.raises(ApiException) as deep:
        api.create_group(eid, esperclient.DeviceGroupUpdate(name="L6", parent=deepest.id))
    assert deep.value.status == 400 and "5 levels" in error_of(deep)
    with pytest.raises(ApiException) as unknown:
        api.partial_update_group(root.id, eid, esperclient.DeviceGroupPartialUpdate(device_ids=[str(uuid.uuid4())]), action="add")
    assert unknown.value.status == 400 and "device_ids" in error_of(unknown)
    with pytest.raises(ApiException) as bad_action:
        api.partial_update_group(root.id, eid, esperclient.DeviceGroupPartialUpdate(name="x"), action="explode")
    assert bad_action.value.status == 400

    # Delete: gone afterwards; a group with children is refused.
    with pytest.raises(ApiException) as has_children:
        api.delete_group(other_root.id, eid)
    assert has_children.value.status == 400
    api.delete_group(root.id, eid)
    with pytest.raises(ApiException) as gone:
        api.get_group_by_id(root.id, eid)
    assert gone.value.status == 404


def test_groups_of_another_enterprise_are_out_of_reach(server):
    mine = esperclient.DeviceGroupApi(server.sdk())
    theirs_api = esperclient.DeviceGroupApi(server.sdk(server.other_key))
    theirs = theirs_api.create_group(server.other_enterprise, esperclient.DeviceGroupUpdate(name=unique("Theirs")))
    with pytest.raises(ApiException) as listing:
        mine.get_all_groups(server.other_enterprise)
    assert listing.value.status == 403
    with pytest.raises(ApiException) as reading:
        mine.get_group_by_id(theirs.id, server.enterprise)
    assert reading.value.status == 404
    with pytest.raises(ApiException) as deleting:
        mine.delete_group(theirs.id, server.other_enterprise)
    assert deleting.value.status == 403
    assert theirs_api.get_group_by_id(theirs.id, server.other_enterprise).name == theirs.name
