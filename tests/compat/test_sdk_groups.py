"""esperclient 0.1.3 DeviceGroupApi: create_group, get_group_by_id, get_all_groups, update_group,
partial_update_group, delete_group (catalog §1, §2.4, §2.9, §6.4).

Every test works in an enterprise of its own, so counts are exact."""

import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import esperclient
import pytest
from esperclient.rest import ApiException

from helpers import anonymous_sdk, error_text, fails, id_from_url, is_aware, is_uuid, raw, unique

New = esperclient.DeviceGroupUpdate
Patch = esperclient.DeviceGroupPartialUpdate


@pytest.fixture
def api(tenant):
    return esperclient.DeviceGroupApi(tenant.sdk())


def group_url(server, eid, gid):
    return f"{server.base}/api/enterprise/{eid}/devicegroup/{gid}/"


def names(page):
    return [g.name for g in page.results]


def query(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def path_of_link(url):
    """/api/...?query of an absolute link, to fetch it with raw()."""
    return urllib.parse.urlsplit(url)._replace(scheme="", netloc="").geturl()


def at_once(*calls):
    """Runs SDK calls in parallel; returns "ok" or the HTTP status of each, in order."""
    def outcome(call):
        try:
            call()
            return "ok"
        except ApiException as e:
            return e.status

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(outcome, calls))


def test_create_root_group(server, tenant, api):
    name = unique("Stores")
    group, status, _ = api.create_group_with_http_info(tenant.id, New(name=name))
    assert status == 201
    assert isinstance(group, esperclient.DeviceGroup)
    assert is_uuid(group.id)
    assert group.name == name and group.path == name
    assert group.parent is None
    assert (group.children_count, group.device_count) == (0, 0)
    # Related objects are absolute URLs from the public URL, ending in "/".
    assert group.enterprise == f"{server.base}/api/enterprise/{tenant.id}/"
    assert is_aware(group.created_on)

    fetched, status, _ = api.get_group_by_id_with_http_info(group.id, tenant.id)
    assert status == 200
    assert fetched.to_dict() == group.to_dict()


def test_nested_groups_have_parents_paths_and_counts(server, tenant, api):
    root = api.create_group(tenant.id, New(name=unique("Region")))
    berlin = api.create_group(tenant.id, New(name="Berlin", parent=root.id))
    munich = api.create_group(tenant.id, New(name="Munich", parent=root.id))
    mitte = api.create_group(tenant.id, New(name="Mitte", parent=berlin.id))

    assert berlin.parent == group_url(server, tenant.id, root.id)
    assert id_from_url(mitte.parent) == berlin.id  # how espercli reads it
    assert berlin.path == f"{root.name}/Berlin" and munich.path == f"{root.name}/Munich"
    assert mitte.path == f"{root.name}/Berlin/Mitte"
    # children_count counts the direct children.
    assert api.get_group_by_id(root.id, tenant.id).children_count == 2
    assert api.get_group_by_id(berlin.id, tenant.id).children_count == 1
    assert api.get_group_by_id(munich.id, tenant.id).children_count == 0
    assert api.get_group_by_id(mitte.id, tenant.id).path == mitte.path


def test_nesting_stops_five_levels_below_a_root(tenant, api):
    parent = api.create_group(tenant.id, New(name=unique("Root")))
    for level in range(1, 6):
        parent = api.create_group(tenant.id, New(name=f"Level{level}", parent=parent.id))
    assert parent.path.count("/") == 5
    envelope = fails(400, api.create_group, tenant.id, New(name="Level6", parent=parent.id))
    assert "parent" in error_text(envelope) or "level" in error_text(envelope)
    assert api.get_all_groups(tenant.id, name="Level6").count == 0
    assert api.get_group_by_id(parent.id, tenant.id).children_count == 0


def test_a_move_may_not_nest_a_subtree_too_deep(tenant, api):
    deep = api.create_group(tenant.id, New(name=unique("Deep")))
    for level in range(1, 5):
        deep = api.create_group(tenant.id, New(name=f"D{level}", parent=deep.id))
    top = api.create_group(tenant.id, New(name=unique("Top")))
    api.create_group(tenant.id, New(name="Below", parent=top.id))
    # top would land at level 5 and its child at level 6.
    fails(400, api.partial_update_group, top.id, tenant.id, Patch(name=top.name, parent=deep.id), action="move")
    assert api.get_group_by_id(top.id, tenant.id).parent is None
    assert api.get_group_by_id(deep.id, tenant.id).children_count == 0
    # A group without children fits at level 5.
    leaf = api.create_group(tenant.id, New(name=unique("Leaf")))
    moved = api.partial_update_group(leaf.id, tenant.id, Patch(name=leaf.name, parent=deep.id), action="move")
    assert moved.path.count("/") == 5


def test_a_group_cannot_move_below_itself(tenant, api):
    a = api.create_group(tenant.id, New(name=unique("A")))
    b = api.create_group(tenant.id, New(name="B", parent=a.id))
    c = api.create_group(tenant.id, New(name="C", parent=b.id))
    for target in (a, b, c):
        envelope = fails(400, api.partial_update_group, a.id, tenant.id, Patch(name=a.name, parent=target.id), action="move")
        assert "parent" in error_text(envelope)
    fails(400, api.update_group, b.id, tenant.id, New(name=b.name, parent=c.id), action="move")
    assert api.get_group_by_id(a.id, tenant.id).parent is None
    assert api.get_group_by_id(c.id, tenant.id).path == f"{a.name}/B/C"


def test_move_takes_the_subtree_along(server, tenant, api):
    old_root = api.create_group(tenant.id, New(name=unique("Old")))
    new_root = api.create_group(tenant.id, New(name=unique("New")))
    branch = api.create_group(tenant.id, New(name="Branch", parent=old_root.id))
    leaf = api.create_group(tenant.id, New(name="Leaf", parent=branch.id))

    # espercli's form: PATCH ?action=move with the group's own name and the new parent.
    moved = api.partial_update_group(branch.id, tenant.id, Patch(name="Branch", parent=new_root.id), action="move")
    assert moved.id == branch.id and moved.name == "Branch"
    assert moved.parent == group_url(server, tenant.id, new_root.id)
    assert moved.path == f"{new_root.name}/Branch"
    assert api.get_group_by_id(leaf.id, tenant.id).path == f"{new_root.name}/Branch/Leaf"
    assert api.get_group_by_id(old_root.id, tenant.id).children_count == 0
    assert api.get_group_by_id(new_root.id, tenant.id).children_count == 1

    # The SDK's PUT form moves it back.
    back = api.update_group(branch.id, tenant.id, New(name="Branch", parent=old_root.id), action="move")
    assert id_from_url(back.parent) == old_root.id
    assert api.get_group_by_id(leaf.id, tenant.id).path == f"{old_root.name}/Branch/Leaf"
    assert api.get_group_by_id(new_root.id, tenant.id).children_count == 0


def test_rename(tenant, api):
    root = api.create_group(tenant.id, New(name=unique("Shops")))
    child = api.create_group(tenant.id, New(name="North", parent=root.id))
    grandchild = api.create_group(tenant.id, New(name="Tills", parent=child.id))

    # PUT ?action=rename (the SDK's update_group).
    renamed = api.update_group(child.id, tenant.id, New(name="North-East"), action="rename")
    assert (renamed.id, renamed.name, renamed.path) == (child.id, "North-East", f"{root.name}/North-East")
    assert id_from_url(renamed.parent) == root.id  # a rename does not move
    # PATCH without an action (espercli's `group update`).
    patched = api.partial_update_group(child.id, tenant.id, Patch(name="East"))
    assert patched.name == "East"
    # Renaming an ancestor changes the descendants' paths.
    new_root_name = root.name + "-2"
    api.partial_update_group(root.id, tenant.id, Patch(name=new_root_name), action="rename")
    again = api.get_group_by_id(grandchild.id, tenant.id)
    assert again.path == f"{new_root_name}/East/Tills"
    assert api.get_group_by_id(child.id, tenant.id).name == "East"
    assert api.get_all_groups(tenant.id, name=new_root_name).results[0].id == root.id


def test_invalid_bodies_are_refused_with_400(tenant, other_tenant, api):
    root = api.create_group(tenant.id, New(name=unique("Valid")))
    theirs = esperclient.DeviceGroupApi(other_tenant.sdk()).create_group(other_tenant.id, New(name=unique("Theirs")))
    # Bodies the SDK models would refuse to build are sent as plain dicts.
    for body, field in [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"parent": root.id}, "name"),
        ({"name": "Orphan", "parent": str(uuid.uuid4())}, "parent"),
        ({"name": "Orphan", "parent": "not-a-uuid"}, "parent"),
        ({"name": "Sneaky", "parent": theirs.id}, "parent"),  # a group of another enterprise
        ({"name": "Ghosts", "device_ids": [str(uuid.uuid4())]}, "device_ids"),
        ({"name": "Ghosts", "device_ids": ["not-a-uuid"]}, "device_ids"),
    ]:
        envelope = fails(400, api.create_group, tenant.id, body)
        assert field in error_text(envelope), (body, envelope)
    fails(400, api.create_group, tenant.id, "just a string")
    # A sibling of the same name.
    fails(400, api.create_group, tenant.id, New(name=root.name))

    # PUT needs a name; PATCH and PUT check parents and device ids like create does.
    fails(400, api.update_group, root.id, tenant.id, {"parent": None}, action="rename")
    fails(400, api.update_group, root.id, tenant.id, {"name": ""}, action="rename")
    fails(400, api.partial_update_group, root.id, tenant.id, Patch(name=root.name, parent=str(uuid.uuid4())), action="move")
    fails(400, api.partial_update_group, root.id, tenant.id, Patch(name=root.name, parent=theirs.id), action="move")
    fails(400, api.partial_update_group, root.id, tenant.id, Patch(name="x"), action="explode")

    # Nothing of the above was stored.
    page = api.get_all_groups(tenant.id, limit=50)
    assert [g.id for g in page.results] == [root.id]
    assert api.get_group_by_id(root.id, tenant.id).to_dict() == root.to_dict()
    assert esperclient.DeviceGroupApi(other_tenant.sdk()).get_group_by_id(theirs.id, other_tenant.id).children_count == 0


def test_add_and_remove_devices(tenant, api):
    group = api.create_group(tenant.id, New(name=unique("Tills")))
    # Devices come later; empty lists are valid and change nothing.
    for action in ("add", "remove"):
        same = api.partial_update_group(group.id, tenant.id, Patch(device_ids=[]), action=action)
        assert same.device_count == 0 and same.name == group.name
        same = api.update_group(group.id, tenant.id, New(name=group.name, device_ids=[]), action=action)
        assert same.device_count == 0
    # Unknown device ids are refused, and so is add/remove without device_ids.
    for action in ("add", "remove"):
        envelope = fails(400, api.partial_update_group, group.id, tenant.id, Patch(device_ids=[str(uuid.uuid4())]), action=action)
        assert "device_ids" in error_text(envelope)
        fails(400, api.partial_update_group, group.id, tenant.id, Patch(name=group.name), action=action)
    assert api.get_group_by_id(group.id, tenant.id).device_count == 0


def test_parallel_creates_of_one_name_make_one_group(tenant, api):
    parent = api.create_group(tenant.id, New(name=unique("Pair")))
    for parent_id in (None, parent.id):
        for trial in range(3):
            name = f"Twin{trial}"
            outcomes = at_once(*[lambda: api.create_group(tenant.id, New(name=name, parent=parent_id))] * 6)
            assert sorted(outcomes, key=str) == [400] * 5 + ["ok"], (parent_id, outcomes)
    assert api.get_group_by_id(parent.id, tenant.id).children_count == 3
    assert api.get_all_groups(tenant.id, name="Twin").count == 6


def test_crossing_moves_never_make_a_cycle(tenant, api):
    for trial in range(5):
        a = api.create_group(tenant.id, New(name=unique("A")))
        b = api.create_group(tenant.id, New(name=unique("B")))
        outcomes = at_once(
            lambda: api.partial_update_group(a.id, tenant.id, Patch(name=a.name, parent=b.id), action="move"),
            lambda: api.partial_update_group(b.id, tenant.id, Patch(name=b.name, parent=a.id), action="move"),
        )
        assert sorted(outcomes, key=str) == [400, "ok"], outcomes
        paths = sorted(api.get_group_by_id(g.id, tenant.id).path for g in (a, b))
        assert paths in ([a.name, f"{a.name}/{b.name}"], [b.name, f"{b.name}/{a.name}"]), paths


def test_list_pages(server, tenant, api):
    prefix = unique("Page")
    created = [api.create_group(tenant.id, New(name=f"{prefix}-{i}")).id for i in range(5)]
    api.create_group(tenant.id, New(name=unique("Unrelated")))
    endpoint = f"{server.base}/api/enterprise/{tenant.id}/devicegroup/"

    first = api.get_all_groups(tenant.id, name=prefix, limit=2, offset=0)
    assert isinstance(first, esperclient.InlineResponse2007)
    assert first.count == 5 and len(first.results) == 2
    assert first.previous is None
    assert first.next.startswith(endpoint)
    assert query(first.next) == {"name": [prefix], "limit": ["2"], "offset": ["2"]}

    second = api.get_all_groups(tenant.id, name=prefix, limit=2, offset=2)
    assert second.count == 5 and len(second.results) == 2
    assert second.previous.startswith(endpoint)
    assert query(second.previous).get("offset", ["0"]) == ["0"] and query(second.previous)["limit"] == ["2"]
    assert query(second.next)["offset"] == ["4"]

    last = api.get_all_groups(tenant.id, name=prefix, limit=2, offset=4)
    assert len(last.results) == 1 and last.next is None
    assert query(last.previous)["offset"] == ["2"]

    seen = [g.id for page in (first, second, last) for g in page.results]
    assert sorted(seen) == sorted(created)  # every group once, none twice

    # The next link is usable as it is.
    status, body = raw(server, "GET", path_of_link(first.next), tenant.key)
    assert status == 200 and [g["id"] for g in body["results"]] == [g.id for g in second.results]

    # Past the end: 200 with no results (espercli pages until it gets an empty page).
    beyond = api.get_all_groups(tenant.id, name=prefix, limit=2, offset=50)
    assert beyond.count == 5 and beyond.results == [] and beyond.next is None

    # Without a filter every group of the enterprise is counted.
    assert api.get_all_groups(tenant.id, limit=1).count == 6
    fails(400, api.get_all_groups, tenant.id, limit=-1)


def test_list_default_page_size_is_20(tenant, api):
    for i in range(21):
        api.create_group(tenant.id, New(name=f"G{i:02d}"))
    page = api.get_all_groups(tenant.id)
    assert page.count == 21 and len(page.results) == 20
    assert query(page.next)["offset"] == ["20"]


def test_name_filter_puts_the_exact_match_first(tenant, api):
    exact = unique("Kiosk")
    # Made first and sorting first by name, so only an exact-first rule puts `exact` first.
    decoys = [f"Alpha {exact}", f"{exact[:-1]}", f"{exact} Annex", f"{exact}2"]
    for name in decoys:
        api.create_group(tenant.id, New(name=name))
    wanted = api.create_group(tenant.id, New(name=exact))

    first = api.get_all_groups(tenant.id, name=exact, limit=1, offset=0)
    assert names(first) == [exact] and first.results[0].id == wanted.id
    everything = api.get_all_groups(tenant.id, name=exact, limit=20)
    assert everything.results[0].name == exact
    # Substring matches follow; a group whose name is shorter than the filter is not one.
    assert sorted(names(everything)) == sorted([exact, f"Alpha {exact}", f"{exact} Annex", f"{exact}2"])
    assert api.get_all_groups(tenant.id, name=unique("Nothing")).to_dict() == {
        "count": 0, "next": None, "previous": None, "results": []}


def test_names_with_special_characters(server, tenant, api):
    u = uuid.uuid4().hex[:6]
    for name in (f"Tills_1 {u}", f"TillsX1 {u}", f"100% Sale {u}", f"100 Sale {u}", f"Café Zürich {u}"):
        created = api.create_group(tenant.id, New(name=name))
        assert created.name == name and created.path == name
    # "_" and "%" are plain characters in the filter, not wildcards.
    assert names(api.get_all_groups(tenant.id, name=f"Tills_1 {u}")) == [f"Tills_1 {u}"]
    assert names(api.get_all_groups(tenant.id, name=f"% Sale {u}")) == [f"100% Sale {u}"]
    assert names(api.get_all_groups(tenant.id, name=f"Café Zürich {u}")) == [f"Café Zürich {u}"]

    # Page links keep a filter with "&", "+" and spaces intact.
    tricky = f"A&B+C {u}"
    for i in range(3):
        api.create_group(tenant.id, New(name=f"{tricky} {i}"))
    first = api.get_all_groups(tenant.id, name=tricky, limit=1)
    assert first.count == 3
    assert query(first.next)["name"] == [tricky]
    status, second = raw(server, "GET", path_of_link(first.next), tenant.key)
    assert status == 200 and second["count"] == 3 and len(second["results"]) == 1
    assert second["results"][0]["id"] != first.results[0].id


def test_delete(server, tenant, api):
    parent = api.create_group(tenant.id, New(name=unique("Parent")))
    child = api.create_group(tenant.id, New(name="Child", parent=parent.id))
    grandchild = api.create_group(tenant.id, New(name="Grandchild", parent=child.id))

    # A group with children is refused, and nothing is lost.
    fails(400, api.delete_group, child.id, tenant.id)
    assert api.get_group_by_id(grandchild.id, tenant.id).path == f"{parent.name}/Child/Grandchild"

    result, status, _ = api.delete_group_with_http_info(grandchild.id, tenant.id)
    assert status == 204 and result is None
    fails(404, api.get_group_by_id, grandchild.id, tenant.id)
    fails(404, api.delete_group, grandchild.id, tenant.id)
    assert api.get_group_by_id(child.id, tenant.id).children_count == 0
    api.delete_group(child.id, tenant.id)
    api.delete_group(parent.id, tenant.id)
    assert api.get_all_groups(tenant.id).count == 0


def test_unknown_groups_are_404(tenant, api):
    missing = str(uuid.uuid4())
    fails(404, api.get_group_by_id, missing, tenant.id)
    fails(404, api.update_group, missing, tenant.id, New(name="x"), action="rename")
    fails(404, api.partial_update_group, missing, tenant.id, Patch(name="x"))
    fails(404, api.delete_group, missing, tenant.id)
    fails((400, 404), api.get_group_by_id, "not-a-uuid", tenant.id)


def test_groups_of_another_enterprise_are_out_of_reach(tenant, other_tenant, api):
    theirs_api = esperclient.DeviceGroupApi(other_tenant.sdk())
    theirs = theirs_api.create_group(other_tenant.id, New(name=unique("Theirs")))
    mine = api.create_group(tenant.id, New(name=unique("Mine")))

    # Their enterprise in the path: forbidden.
    fails((403, 404), api.get_all_groups, other_tenant.id)
    fails((403, 404), api.create_group, other_tenant.id, New(name="Intruder"))
    fails((403, 404), api.get_group_by_id, theirs.id, other_tenant.id)
    fails((403, 404), api.update_group, theirs.id, other_tenant.id, New(name="Hijacked"), action="rename")
    fails((403, 404), api.partial_update_group, theirs.id, other_tenant.id, Patch(name="Hijacked"))
    fails((403, 404), api.delete_group, theirs.id, other_tenant.id)
    # Their group under my enterprise: no such group.
    fails(404, api.get_group_by_id, theirs.id, tenant.id)
    fails(404, api.partial_update_group, theirs.id, tenant.id, Patch(name="Hijacked"))
    fails(404, api.update_group, theirs.id, tenant.id, New(name="Hijacked"), action="rename")
    fails(404, api.delete_group, theirs.id, tenant.id)

    still = theirs_api.get_group_by_id(theirs.id, other_tenant.id)
    assert still.to_dict() == theirs.to_dict()
    assert theirs_api.get_all_groups(other_tenant.id).count == 1
    assert [g.id for g in api.get_all_groups(tenant.id).results] == [mine.id]


def test_missing_or_wrong_key_is_401(server, tenant, api):
    group = api.create_group(tenant.id, New(name=unique("Locked")))
    for client in (anonymous_sdk(server), tenant.sdk("stw_wrong")):
        stranger = esperclient.DeviceGroupApi(client)
        fails(401, stranger.get_all_groups, tenant.id)
        fails(401, stranger.create_group, tenant.id, New(name="Intruder"))
        fails(401, stranger.get_group_by_id, group.id, tenant.id)
        fails(401, stranger.update_group, group.id, tenant.id, New(name="Hijacked"), action="rename")
        fails(401, stranger.partial_update_group, group.id, tenant.id, Patch(name="Hijacked"))
        fails(401, stranger.delete_group, group.id, tenant.id)
    assert api.get_group_by_id(group.id, tenant.id).to_dict() == group.to_dict()
    assert api.get_all_groups(tenant.id).count == 1


def test_both_trailing_slash_forms(server, tenant):
    base = f"/api/enterprise/{tenant.id}/devicegroup"
    status, created = raw(server, "POST", base, tenant.key, {"name": "NoSlash"})
    assert status == 201 and created["name"] == "NoSlash"
    status, listed = raw(server, "GET", base, tenant.key)
    assert status == 200 and listed["count"] == 1
    status, one = raw(server, "GET", f"{base}/{created['id']}", tenant.key)
    assert status == 200 and one == created
    status, renamed = raw(server, "PATCH", f"{base}/{created['id']}", tenant.key, {"name": "Still"})
    assert status == 200 and renamed["name"] == "Still"
    status, _ = raw(server, "DELETE", f"{base}/{created['id']}", tenant.key)
    assert status == 204
    status, gone = raw(server, "GET", f"{base}/{created['id']}/", tenant.key)
    assert status == 404 and gone["status"] == 404
