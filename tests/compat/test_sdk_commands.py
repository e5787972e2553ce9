"""esperclient 0.1.3 commands, in full (catalog §2.3, §2.8, §3, §4):
CommandsApi (run_command, get_command), GroupCommandsApi (run_group_command,
get_group_command) and CommandsV2Api (create_command, list_command_request,
get_command_request_status, get_device_command_history), against the simulated fleet, whose
devices really carry the commands out (each succeeds after a few milliseconds).

The fleet is shared by the session: immediate commands here are ones that end at once, and every
scheduled command is cancelled before its test ends."""

import ast
import time
import uuid
from datetime import datetime, timedelta, timezone

import esperclient
import pytest

from helpers import error_text, fails, id_from_url, is_aware, is_uuid, raw, unique, wait_for

V2Request = esperclient.V0CommandRequest
ScheduleArgs = esperclient.V0CommandScheduleArgs

STATES = {
    "Command Queued", "Command Initiated", "Command Acknowledged", "Command In Progress",
    "Command TimeOut", "Command Success", "Command Failure", "Command Scheduled", "Command Cancelled",
}
LEGACY_STATES = {
    "Command Initiated", "Command Acknowledged", "Command In Progress", "Command TimeOut",
    "Command Success", "Command Failure", "Command Scheduled",
}
GROUP_STATES = {"Command Initiated", "Command Success", "Command Failure", "Command Scheduled"}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def v2(server):
    return esperclient.CommandsV2Api(server.sdk())


@pytest.fixture
def legacy(server):
    return esperclient.CommandsApi(server.sdk())


@pytest.fixture
def group_commands(server):
    return esperclient.GroupCommandsApi(server.sdk())


@pytest.fixture
def fleet_group(server, fleet):
    """Makes groups of fleet devices with unique names; deletes them afterwards (a device is in
    one group at a time, so the devices go back to no group)."""
    api = esperclient.DeviceGroupApi(server.sdk())
    made = []

    def make(*names):
        ids = [fleet.devices[n].id for n in names]
        group = api.create_group(server.enterprise, esperclient.DeviceGroupUpdate(name=unique("cmd-group"), device_ids=ids))
        made.append(group.id)
        return group

    yield make
    for gid in made:
        api.delete_group(gid, server.enterprise)


def rows_of(v2, eid, request_id, **filters):
    return v2.get_command_request_status(eid, request_id, **filters).results


def wait_all(v2, eid, request_id, count, state="Command Success"):
    """Waits until the request has `count` status rows, all in `state`."""
    return wait_for(
        lambda: rows_of(v2, eid, request_id),
        lambda rows: len(rows) == count and all(r.state == state for r in rows),
        f"{count} row(s) of {request_id} in {state}",
    )


def totals(request):
    return {s.state: s.total for s in request.status}


def device_ids(fleet, *names):
    return [fleet.devices[n].id for n in names]


def device_url(server, eid, did):
    return f"{server.base}/api/enterprise/{eid}/device/{did}/"


def sdk_get(api, link, response_type):
    """GET of an absolute link (a page's `next`/`previous`) or of a path with its query, read
    into an SDK model by the SDK itself (list_command_request and the status calls take no
    limit/offset)."""
    client = api.api_client
    host = client.configuration.host
    path = link[len(host):] if link.startswith(host) else link
    return client.call_api(
        path, "GET", {}, [], {"Accept": "application/json"},
        response_type=response_type, auth_settings=["apiKey"], _return_http_data_only=True,
    )


def walk(api, first_path, response_type):
    """Every page from `first_path` on, following `next`; returns the pages."""
    pages = [sdk_get(api, first_path, response_type)]
    while pages[-1].next:
        assert len(pages) < 100, "next links do not end"
        pages.append(sdk_get(api, pages[-1].next, response_type))
    return pages


def future(days):
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


def cancel_request(server, eid, request_id, key=None):
    return raw(server, "POST", f"/api/v0/enterprise/{eid}/command/{request_id}/cancel/", key or server.key)


def scheduled(server, v2, fleet, names, schedule="WINDOW", **args):
    """Creates a command scheduled a month ahead (so it never runs during the session)."""
    schedule_args = ScheduleArgs(
        name=unique("later"), start_datetime=future(30), end_datetime=future(60), time_type="console", **args
    )
    request = v2.create_command(
        server.enterprise,
        V2Request(
            command_type="DEVICE", devices=device_ids(fleet, *names), device_type="active",
            command="UPDATE_HEARTBEAT", schedule=schedule, schedule_args=schedule_args,
        ),
    )
    return request


# ---------------------------------------------------------------------------------------------
# CommandsApi: the legacy device commands
# ---------------------------------------------------------------------------------------------

def test_run_command_reaches_success_and_get_command_follows(server, fleet, legacy, v2):
    eid, device = server.enterprise, fleet.devices["sim-0"]
    command, status, _ = legacy.run_command_with_http_info(eid, device.id, esperclient.CommandRequest(command="UPDATE_HEARTBEAT"))
    assert status in (200, 201)
    assert isinstance(command, esperclient.DeviceCommand)
    assert is_uuid(command.id)
    assert command.command == "UPDATE_HEARTBEAT"
    assert command.state in LEGACY_STATES
    # Related objects are absolute URLs ending in "/" (espercli splits them).
    assert command.device == device_url(server, eid, device.id)
    assert id_from_url(command.device) == device.id
    assert command.enterprise == f"{server.base}/api/enterprise/{eid}/"
    assert command.group_command is None
    assert is_aware(command.created_on) and is_aware(command.updated_on)

    done = wait_for(
        lambda: legacy.get_command(command.id, device.id, eid),
        lambda c: c.state == "Command Success",
        "legacy command success",
    )
    assert (done.id, done.command, done.device) == (command.id, "UPDATE_HEARTBEAT", command.device)
    assert done.updated_on >= command.created_on
    if done.details is not None:
        assert isinstance(ast.literal_eval(done.details), dict)

    # The same command through Commands V2: one row for the device, and in its history.
    rows = rows_of(v2, eid, command.id)
    assert [(r.state, id_from_url(r.device)) for r in rows] == [("Command Success", device.id)]
    assert rows[0].request == command.id
    history = v2.get_device_command_history(eid, device.id).results
    assert rows[0].id in [h.id for h in history]


def test_run_command_with_arguments(server, fleet, legacy):
    eid, device = server.enterprise, fleet.devices["sim-1"]
    cases = [
        ("SET_BRIGHTNESS_SCALE", esperclient.CommandArgs(brightness_value=40), {"brightness_value": 40}),
        ("SET_STREAM_VOLUME", esperclient.CommandArgs(stream=3, volume_level=70), {"stream": 3, "volume_level": 70}),
        ("SET_WIFI_STATE", esperclient.CommandArgs(wifi_state=False), {"wifi_state": False}),
        ("SET_SCREEN_OFF_TIMEOUT", esperclient.CommandArgs(screen_off_timeout=60000), {"screen_off_timeout": 60000}),
        ("CLEAR_APP_DATA", esperclient.CommandArgs(package_name="com.example.pos"), {"package_name": "com.example.pos"}),
        # WIPE's argument is wipe_FRP on the wire (attribute wipe_frp in the SDK).
        ("WIPE", esperclient.CommandArgs(wipe_external_storage=True, wipe_frp=False), {"wipe_external_storage": True, "wipe_frp": False}),
        ("LOCK", None, {}),
        ("REBOOT", None, {}),
    ]
    sent = []
    for name, args, expected in cases:
        command = legacy.run_command(eid, device.id, esperclient.CommandRequest(command=name, command_args=args))
        assert command.command == name
        # The SDK fills wipe_external_storage/wipe_FRP in with its defaults on both sides.
        got = command.command_args.to_dict()
        assert {k: got[k] for k in expected} == expected, (name, got)
        sent.append(command)
    for command in sent:
        wait_for(lambda: legacy.get_command(command.id, device.id, eid), lambda c: c.state == "Command Success", command.command)


def test_legacy_commands_refuse_bad_input(server, fleet, legacy, v2):
    eid, device = server.enterprise, fleet.devices["sim-2"]
    before = v2.get_device_command_history(eid, device.id).count
    # Bodies the SDK models would refuse to build are sent as plain dicts.
    for body, field in [
        ({}, "command"),
        ({"command": ""}, "command"),
        ({"command": "SELF_DESTRUCT"}, "command"),
        ({"command": "SET_BRIGHTNESS_SCALE", "command_args": {"brightness_value": 500}}, "command_args.brightness_value"),
        ({"command": "SET_BRIGHTNESS_SCALE"}, "command_args.brightness_value"),
        ({"command": "SET_WIFI_STATE", "command_args": {"wifi_state": "false"}}, "command_args.wifi_state"),
        ({"command": "CLEAR_APP_DATA", "command_args": {}}, "command_args.package_name"),
        ({"command": "INSTALL", "command_args": {"app_version": "not-a-uuid"}}, "command_args.app_version"),
        ({"command": "LOCK", "command_args": "now"}, "command_args"),
    ]:
        envelope = fails(400, legacy.run_command, eid, device.id, body)
        assert field.lower() in error_text(envelope), (body, envelope)
    # Unknown devices and commands.
    fails(404, legacy.run_command, eid, str(uuid.uuid4()), esperclient.CommandRequest(command="LOCK"))
    fails(404, legacy.get_command, str(uuid.uuid4()), device.id, eid)
    fails((400, 404), legacy.get_command, "not-a-uuid", device.id, eid)
    # A command of another device is not this device's.
    other = legacy.run_command(eid, fleet.devices["sim-3"].id, esperclient.CommandRequest(command="UPDATE_HEARTBEAT"))
    fails(404, legacy.get_command, other.id, device.id, eid)
    # Nothing reached the device.
    assert v2.get_device_command_history(eid, device.id).count == before


# ---------------------------------------------------------------------------------------------
# GroupCommandsApi
# ---------------------------------------------------------------------------------------------

def test_group_command_reaches_every_member(server, fleet, fleet_group, group_commands, v2):
    eid = server.enterprise
    group = fleet_group("sim-1", "sim-2")
    command, status, _ = group_commands.run_group_command_with_http_info(
        eid, group.id, esperclient.GroupCommandRequest(command="UPDATE_HEARTBEAT")
    )
    assert status == 201
    assert isinstance(command, esperclient.GroupCommand)
    assert is_uuid(command.id) and command.command == "UPDATE_HEARTBEAT"
    assert command.state in GROUP_STATES
    assert command.group == f"{server.base}/api/enterprise/{eid}/devicegroup/{group.id}/"
    assert id_from_url(command.group) == group.id
    assert command.enterprise == f"{server.base}/api/enterprise/{eid}/"
    assert is_aware(command.created_on)
    # espercli literal_evals details: a dict of outcome → devices with names.
    details = ast.literal_eval(command.details)
    assert isinstance(details, dict)
    assert {"success", "failed", "inactive"} <= set(details)

    done = wait_for(
        lambda: group_commands.get_group_command(command.id, group.id, eid),
        lambda c: c.state == "Command Success",
        "group command success",
    )
    details = ast.literal_eval(done.details)
    assert sorted(d["name"] for d in details["success"]) == ["sim-1", "sim-2"]
    assert details["failed"] == [] and details["inactive"] == []
    # Underneath it is a request with one row per member.
    rows = rows_of(v2, eid, command.id)
    assert sorted(id_from_url(r.device) for r in rows) == sorted(device_ids(fleet, "sim-1", "sim-2"))
    # The member devices' legacy view of it points back at the group command.
    legacy = esperclient.CommandsApi(server.sdk()).get_command(command.id, fleet.devices["sim-1"].id, eid)
    assert legacy.state == "Command Success"
    assert legacy.group_command and legacy.group_command.startswith(command.group)


def test_group_commands_refuse_bad_input(server, fleet, fleet_group, group_commands):
    eid = server.enterprise
    group = fleet_group("sim-4")
    for body, field in [
        ({}, "command"),
        ({"command": "WARP"}, "command"),
        ({"command": "INSTALL", "command_args": {}}, "command_args.app_version"),
        ({"command": "INSTALL", "command_args": {"app_version": "v1"}}, "command_args.app_version"),
    ]:
        envelope = fails(400, group_commands.run_group_command, eid, group.id, body)
        assert field.lower() in error_text(envelope), (body, envelope)
    fails(404, group_commands.run_group_command, eid, str(uuid.uuid4()), esperclient.GroupCommandRequest(command="LOCK"))
    fails(404, group_commands.get_group_command, str(uuid.uuid4()), group.id, eid)
    # A command is found under its own group only.
    command = group_commands.run_group_command(eid, group.id, esperclient.GroupCommandRequest(command="UPDATE_HEARTBEAT"))
    other = fleet_group()
    fails(404, group_commands.get_group_command, command.id, other.id, eid)
    wait_for(lambda: group_commands.get_group_command(command.id, group.id, eid), lambda c: c.state == "Command Success", "group command")


# ---------------------------------------------------------------------------------------------
# CommandsV2Api
# ---------------------------------------------------------------------------------------------

def test_create_device_command_and_follow_it(server, fleet, v2):
    eid = server.enterprise
    targets = device_ids(fleet, "sim-0", "sim-1")
    request, status, _ = v2.create_command_with_http_info(
        eid, V2Request(command_type="DEVICE", devices=targets, device_type="active", command="UPDATE_HEARTBEAT")
    )
    assert status == 201
    assert isinstance(request, esperclient.V0CommandRequest)
    assert is_uuid(request.id)
    assert request.enterprise == eid
    assert (request.command_type, request.command, request.device_type) == ("DEVICE", "UPDATE_HEARTBEAT", "active")
    assert sorted(request.devices) == sorted(targets)
    assert not request.groups
    assert request.schedule == "IMMEDIATE"
    # espercli needs a non-null command_args and issued_by "{'id': …, 'username': …}".
    assert isinstance(request.command_args, esperclient.V0CommandArgs)
    assert request.issued_by.split("'")[-2] == "compat"
    issuer = ast.literal_eval(request.issued_by)
    assert issuer["username"] == "compat" and isinstance(issuer["id"], int)
    assert is_aware(request.created_on)
    assert sum(totals(request).values()) == 2
    assert set(totals(request)) <= STATES

    rows = wait_all(v2, eid, request.id, 2)
    for row in rows:
        assert isinstance(row, esperclient.V0CommandStatus)
        assert is_uuid(row.id) and row.request == request.id
        assert row.device == device_url(server, eid, id_from_url(row.device))
        assert is_aware(row.created_on) and row.updated_on >= row.created_on
    assert sorted(id_from_url(r.device) for r in rows) == sorted(targets)
    # The totals follow the rows.
    again = [r for r in v2.list_command_request(eid, devices=targets[0]).results if r.id == request.id]
    assert len(again) == 1 and totals(again[0]) == {"Command Success": 2}


def test_status_filters(server, fleet, v2):
    eid = server.enterprise
    targets = device_ids(fleet, "sim-0", "sim-1", "sim-2")
    request = v2.create_command(eid, V2Request(command_type="DEVICE", devices=targets, device_type="all", command="UPDATE_HEARTBEAT"))
    wait_all(v2, eid, request.id, 3)

    mine = v2.get_command_request_status(eid, request.id, device=targets[1])
    assert mine.count == 1 and id_from_url(mine.results[0].device) == targets[1]
    assert v2.get_command_request_status(eid, request.id, state="Command Success").count == 3
    both = v2.get_command_request_status(eid, request.id, device=targets[2], state="Command Success")
    assert both.count == 1
    assert v2.get_command_request_status(eid, request.id, state="Command Failure").count == 0
    assert v2.get_command_request_status(eid, request.id, device=fleet.devices["sim-4"].id).count == 0
    envelope = fails(400, v2.get_command_request_status, eid, request.id, state="Done")
    assert "state" in error_text(envelope)
    fails(400, v2.get_command_request_status, eid, request.id, device="not-a-uuid")
    fails(404, v2.get_command_request_status, eid, str(uuid.uuid4()))


def test_command_args_come_back(server, fleet, v2):
    eid = server.enterprise
    # V0CommandArgs knows only nine arguments, so NOTIFY_DEVICE's title goes as a plain dict.
    body = {
        "command_type": "DEVICE", "devices": device_ids(fleet, "sim-3"), "device_type": "active",
        "command": "NOTIFY_DEVICE", "command_args": {"title": "Closing", "message": "Store closes at 8"},
    }
    request = v2.create_command(eid, body)
    assert request.command == "NOTIFY_DEVICE"
    assert request.command_args.message == "Store closes at 8"
    lockdown = v2.create_command(
        eid,
        V2Request(
            command_type="DEVICE", devices=device_ids(fleet, "sim-3"), device_type="active",
            command="SET_DEVICE_LOCKDOWN_STATE",
            command_args=esperclient.V0CommandArgs(state="UNLOCKED", message="back to work"),
        ),
    )
    assert (lockdown.command_args.state, lockdown.command_args.message) == ("UNLOCKED", "back to work")
    config = v2.create_command(
        eid,
        V2Request(
            command_type="DEVICE", devices=device_ids(fleet, "sim-3"), device_type="active",
            command="UPDATE_DEVICE_CONFIG",
            command_args=esperclient.V0CommandArgs(custom_settings_config={"dpcParams": [{"key": "powerOff", "value": "true"}]}),
        ),
    )
    assert config.command_args.custom_settings_config == {"dpcParams": [{"key": "powerOff", "value": "true"}]}
    for r in (request, lockdown, config):
        wait_all(v2, eid, r.id, 1)


def test_group_and_dynamic_requests(server, fleet, fleet_group, v2):
    eid = server.enterprise
    group = fleet_group("sim-3", "sim-4")
    by_group = v2.create_command(eid, V2Request(command_type="GROUP", groups=[group.id], device_type="active", command="UPDATE_HEARTBEAT"))
    assert by_group.command_type == "GROUP" and by_group.groups == [group.id]
    rows = wait_all(v2, eid, by_group.id, 2)
    assert sorted(id_from_url(r.device) for r in rows) == sorted(device_ids(fleet, "sim-3", "sim-4"))

    # DYNAMIC: devices and groups together, each device once.
    dynamic = v2.create_command(
        eid,
        V2Request(
            command_type="DYNAMIC", devices=device_ids(fleet, "sim-0", "sim-3"), groups=[group.id],
            device_type="all", command="UPDATE_HEARTBEAT",
        ),
    )
    assert sum(totals(dynamic).values()) == 3
    rows = wait_all(v2, eid, dynamic.id, 3)
    assert sorted(id_from_url(r.device) for r in rows) == sorted(device_ids(fleet, "sim-0", "sim-3", "sim-4"))

    # The list finds group requests by a member device, though they name no devices.
    found = v2.list_command_request(eid, devices=fleet.devices["sim-4"].id, command_type="GROUP")
    assert by_group.id in [r.id for r in found.results]


def test_list_filters(server, fleet, fleet_group, v2):
    eid = server.enterprise
    group = fleet_group("sim-2")
    device = v2.create_command(
        eid, V2Request(command_type="DEVICE", devices=device_ids(fleet, "sim-1"), device_type="all", command="SET_WIFI_STATE", command_args={"wifi_state": True})
    )
    grouped = v2.create_command(eid, V2Request(command_type="GROUP", groups=[group.id], device_type="active", command="UPDATE_HEARTBEAT"))
    wait_all(v2, eid, device.id, 1)
    wait_all(v2, eid, grouped.id, 1)

    everything = v2.list_command_request(eid)
    assert isinstance(everything, esperclient.InlineResponse2009)
    assert everything.count >= 2
    newest = [r.id for r in everything.results[:2]]
    assert newest == [grouped.id, device.id]  # newest first
    created = [r.created_on for r in everything.results]
    assert created == sorted(created, reverse=True)

    by_type = v2.list_command_request(eid, command_type="GROUP")
    assert by_type.results and all(r.command_type == "GROUP" for r in by_type.results)
    assert grouped.id in [r.id for r in by_type.results] and device.id not in [r.id for r in by_type.results]

    by_command = v2.list_command_request(eid, command="SET_WIFI_STATE")
    assert device.id in [r.id for r in by_command.results]
    assert all(r.command == "SET_WIFI_STATE" for r in by_command.results)

    by_device_type = v2.list_command_request(eid, device_type="all")
    assert all(r.device_type == "all" for r in by_device_type.results)
    assert device.id in [r.id for r in by_device_type.results]

    by_device = v2.list_command_request(eid, devices=fleet.devices["sim-1"].id)
    assert device.id in [r.id for r in by_device.results] and grouped.id not in [r.id for r in by_device.results]
    two = v2.list_command_request(eid, devices=",".join(device_ids(fleet, "sim-1", "sim-2")))
    assert {device.id, grouped.id} <= {r.id for r in two.results}

    combined = v2.list_command_request(eid, command_type="DEVICE", command="SET_WIFI_STATE", devices=fleet.devices["sim-1"].id, device_type="all")
    assert device.id in [r.id for r in combined.results]
    assert v2.list_command_request(eid, command_type="GROUP", command="SET_WIFI_STATE").count == 0

    issuer = ast.literal_eval(device.issued_by)["id"]
    mine = v2.list_command_request(eid, issued_by=issuer)
    assert {device.id, grouped.id} <= {r.id for r in mine.results}
    assert all(ast.literal_eval(r.issued_by)["id"] == issuer for r in mine.results)
    assert v2.list_command_request(eid, issued_by=issuer + 100000).count == 0

    fails(400, v2.list_command_request, eid, devices="not-a-uuid")


def test_pagination(server, fleet, v2):
    eid = server.enterprise
    targets = device_ids(fleet, *sorted(fleet.devices))
    for _ in range(3):
        v2.create_command(eid, V2Request(command_type="DEVICE", devices=targets[:1], device_type="active", command="UPDATE_HEARTBEAT"))
    spread = v2.create_command(eid, V2Request(command_type="DEVICE", devices=targets, device_type="active", command="UPDATE_HEARTBEAT"))
    wait_all(v2, eid, spread.id, len(targets))

    # Requests: pages of 2, following next, give the whole list once, newest first.
    base = f"/v0/enterprise/{eid}/command/"
    total = v2.list_command_request(eid).count
    pages = walk(v2, f"{base}?limit=2", "InlineResponse2009")
    assert len(pages) == (total + 1) // 2
    ids = [r.id for p in pages for r in p.results]
    assert len(ids) == total == len(set(ids))
    assert all(p.count == total for p in pages)
    assert pages[0].previous is None and "limit=2" in pages[0].next and "offset=2" in pages[0].next
    assert pages[1].previous and "offset" not in pages[1].previous.split("?", 1)[1].replace("limit", "")
    assert ids[0] == spread.id
    whole = sdk_get(v2, f"{base}?limit={total}&offset=0", "InlineResponse2009")
    assert [r.id for r in whole.results] == ids and whole.next is None
    # Filters stay in the links.
    filtered = sdk_get(v2, f"{base}?command=UPDATE_HEARTBEAT&limit=1", "InlineResponse2009")
    assert "command=UPDATE_HEARTBEAT" in filtered.next
    # Past the end: an empty page, not an error.
    beyond = sdk_get(v2, f"{base}?limit=5&offset={total + 10}", "InlineResponse2009")
    assert beyond.results == [] and beyond.count == total and beyond.next is None

    # Statuses of one request.
    status_pages = walk(v2, f"{base}{spread.id}/status/?limit=2", "InlineResponse20010")
    assert [len(p.results) for p in status_pages] == [2, 2, 1]
    assert sorted(id_from_url(r.device) for p in status_pages for r in p.results) == sorted(targets)
    filtered = walk(v2, f"{base}{spread.id}/status/?state=Command%20Success&limit=4", "InlineResponse20010")
    assert [len(p.results) for p in filtered] == [4, 1]

    # A device's history: newest first, paged the same way.
    history_path = f"/v0/enterprise/{eid}/device/{targets[0]}/command-history/"
    count = v2.get_device_command_history(eid, targets[0]).count
    assert count >= 4
    history = [r for p in walk(v2, f"{history_path}?limit=3", "InlineResponse20010") for r in p.results]
    assert len(history) == count == len({r.id for r in history})
    assert history[0].request == spread.id
    stamps = [r.created_on for r in history]
    assert stamps == sorted(stamps, reverse=True)


def test_device_command_history(server, fleet, v2, legacy):
    eid, device = server.enterprise, fleet.devices["sim-4"]
    first = legacy.run_command(eid, device.id, esperclient.CommandRequest(command="UPDATE_HEARTBEAT"))
    second = v2.create_command(eid, V2Request(command_type="DEVICE", devices=[device.id], device_type="active", command="LOCK"))
    wait_all(v2, eid, second.id, 1)
    wait_all(v2, eid, first.id, 1)

    history = v2.get_device_command_history(eid, device.id)
    assert isinstance(history, esperclient.InlineResponse20010)
    requests = [r.request for r in history.results]
    assert requests.index(second.id) < requests.index(first.id)  # newest first
    assert all(id_from_url(r.device) == device.id for r in history.results)
    assert all(r.state in STATES for r in history.results)

    succeeded = v2.get_device_command_history(eid, device.id, state="Command Success")
    assert {first.id, second.id} <= {r.request for r in succeeded.results}
    assert all(r.state == "Command Success" for r in succeeded.results)
    assert v2.get_device_command_history(eid, device.id, state="Command TimeOut").count == 0
    envelope = fails(400, v2.get_device_command_history, eid, device.id, state="finished")
    assert "state" in error_text(envelope)
    unknown = raw(server, "GET", f"/api/v0/enterprise/{eid}/device/{uuid.uuid4()}/command-history/", server.key)
    assert unknown[0] == 404 or (unknown[0] == 200 and unknown[1]["count"] == 0), unknown


def test_create_command_refuses_bad_input(server, fleet, fleet_group, v2):
    eid = server.enterprise
    one = device_ids(fleet, "sim-0")
    group = fleet_group()
    before = v2.list_command_request(eid).count

    def body(**fields):
        base = {"command_type": "DEVICE", "devices": one, "device_type": "active", "command": "UPDATE_HEARTBEAT"}
        base.update(fields)
        return {k: v for k, v in base.items() if v is not None}

    later = {"start_datetime": future(30).isoformat(), "end_datetime": future(60).isoformat()}
    for request, field in [
        (body(command=None), "command"),
        (body(command=""), "command"),
        (body(command="FLY_TO_THE_MOON"), "command"),
        (body(command_type=None), "command_type"),
        (body(command_type="PLANET"), "command_type"),
        (body(device_type="sometimes"), "device_type"),
        (body(devices=[]), "devices"),
        (body(devices=["not-a-uuid"]), "devices"),
        (body(devices=[str(uuid.uuid4())]), "devices"),
        (body(devices=one, groups=[group.id]), "groups"),
        (body(command_type="GROUP", devices=None), "groups"),
        (body(command_type="GROUP", devices=None, groups=[str(uuid.uuid4())]), "groups"),
        (body(command_type="DYNAMIC", devices=None), "devices"),
        (body(command="INSTALL"), "command_args.app_version"),
        (body(command="SET_GPS_STATE", command_args={"gps_state": 9}), "command_args.gps_state"),
        (body(command="SET_APP_STATE", command_args={"package_name": "com.x", "app_state": "SPIN"}), "command_args.app_state"),
        (body(command="SET_TIMEZONE", command_args={"timezone_string": 5}), "command_args.timezone_string"),
        (body(command_args=["not", "an", "object"]), "command_args"),
        (body(schedule="SOMETIMES"), "schedule"),
        (body(schedule="WINDOW"), "schedule_args"),
        (body(schedule="RECURRING", schedule_args="tomorrow"), "schedule_args"),
        (body(schedule="WINDOW", schedule_args={"end_datetime": later["end_datetime"]}), "schedule_args.start_datetime"),
        (body(schedule="WINDOW", schedule_args={**later, "start_datetime": "next week"}), "schedule_args.start_datetime"),
        (body(schedule="WINDOW", schedule_args={"start_datetime": later["end_datetime"], "end_datetime": later["start_datetime"]}), "schedule_args.end_datetime"),
        (body(schedule="WINDOW", schedule_args={"start_datetime": "2020-01-01T00:00:00Z", "end_datetime": "2020-02-01T00:00:00Z"}), "schedule_args.end_datetime"),
        (body(schedule="WINDOW", schedule_args={**later, "time_type": "mars"}), "schedule_args.time_type"),
        (body(schedule="RECURRING", schedule_args={**later, "window_start_time": "25:00", "window_end_time": "26:00"}), "schedule_args.window_start_time"),
        (body(schedule="RECURRING", schedule_args={**later, "window_start_time": "09:00"}), "schedule_args.window_start_time"),
        (body(schedule="RECURRING", schedule_args={**later, "days": ["Someday"]}), "schedule_args.days"),
    ]:
        envelope = fails(400, v2.create_command, eid, request)
        assert field.lower() in error_text(envelope), (request, envelope)
    fails(400, v2.create_command, eid, "not an object")
    # The SDK model itself refuses what its enums forbid, before anything is sent.
    with pytest.raises(ValueError):
        V2Request(command_type="PLANET", device_type="active", command="LOCK")
    # Nothing was stored.
    assert v2.list_command_request(eid).count == before


def test_schedules_are_accepted_and_wait(server, fleet, v2, legacy):
    eid = server.enterprise
    window = scheduled(server, v2, fleet, ["sim-0", "sim-1"], "WINDOW")
    recurring = scheduled(
        server, v2, fleet, ["sim-2"], "RECURRING",
        window_start_time="09:00", window_end_time="17:30", days=["Monday", "Friday"],
    )
    device_time = v2.create_command(
        eid,
        V2Request(
            command_type="DEVICE", devices=device_ids(fleet, "sim-3"), device_type="active", command="REBOOT",
            schedule="RECURRING",
            schedule_args=ScheduleArgs(
                name="nightly", start_datetime=future(40), end_datetime=future(50), time_type="device",
                window_start_time="22:00", window_end_time="02:00", days=["All days"],
            ),
        ),
    )
    try:
        assert window.schedule == "WINDOW" and recurring.schedule == "RECURRING"
        assert totals(window) == {"Command Scheduled": 2}
        assert totals(recurring) == {"Command Scheduled": 1}
        assert totals(device_time) == {"Command Scheduled": 1}
        args = recurring.schedule_args
        assert isinstance(args, esperclient.V0CommandScheduleArgs)
        assert args.start_datetime == future(30) or abs((args.start_datetime - future(30)).total_seconds()) < 60
        assert is_aware(args.start_datetime) and is_aware(args.end_datetime)
        assert (args.window_start_time, args.window_end_time) == ("09:00", "17:30")
        assert args.days == ["Monday", "Friday"] and args.time_type == "console"
        assert device_time.schedule_args.time_type == "device" and device_time.schedule_args.name == "nightly"

        # The rows wait: still scheduled after the devices had every chance to run them.
        time.sleep(1.5)
        for request, count in ((window, 2), (recurring, 1), (device_time, 1)):
            rows = rows_of(v2, eid, request.id)
            assert len(rows) == count and all(r.state == "Command Scheduled" for r in rows), rows
        assert v2.get_command_request_status(eid, window.id, state="Command Scheduled").count == 2
        listed = [r for r in v2.list_command_request(eid, command_type="DEVICE").results if r.id == recurring.id]
        assert listed and listed[0].schedule_args.days == ["Monday", "Friday"]
        # The legacy view of a scheduled command.
        assert legacy.get_command(window.id, fleet.devices["sim-0"].id, eid).state == "Command Scheduled"
    finally:
        for request in (window, recurring, device_time):
            cancel_request(server, eid, request.id)


def test_cancel(server, fleet, v2, legacy):
    eid = server.enterprise
    request = scheduled(server, v2, fleet, ["sim-0", "sim-1", "sim-2"], "WINDOW")
    try:
        rows = rows_of(v2, eid, request.id)
        first, *rest = rows
        base = f"/api/v0/enterprise/{eid}/command/{request.id}"

        # One row (Esper's PATCH …/status/{id}/?action=cancel).
        status, body = raw(server, "PATCH", f"{base}/status/{first.id}/?action=cancel", server.key, {})
        assert status == 200, body
        assert body["id"] == first.id and body["state"] == "Command Cancelled"
        assert v2.get_command_request_status(eid, request.id, device=id_from_url(first.device)).results[0].state == "Command Cancelled"
        # An ended row cannot be cancelled again; devices report their own progress.
        status, body = raw(server, "PATCH", f"{base}/status/{first.id}/?action=cancel", server.key, {})
        assert status == 400, body
        status, body = raw(server, "PATCH", f"{base}/status/{rest[0].id}/?action=success", server.key, {})
        assert status == 400 and "action" in str(body).lower(), body
        status, body = raw(server, "PATCH", f"{base}/status/{rest[0].id}/", server.key, {})
        assert status == 400 and "action" in str(body).lower(), body
        status, body = raw(server, "PATCH", f"{base}/status/{uuid.uuid4()}/?action=cancel", server.key, {})
        assert status == 404, body

        # The whole request (Steward's POST …/cancel/): every waiting row.
        status, body = cancel_request(server, eid, request.id)
        assert status == 200, body
        assert body["id"] == request.id
        assert {s["state"]: s["total"] for s in body["status"]} == {"Command Cancelled": 3}
        rows = rows_of(v2, eid, request.id, state="Command Cancelled")
        assert len(rows) == 3
        # Cancelled is final: the devices never run it.
        time.sleep(1)
        assert v2.get_command_request_status(eid, request.id, state="Command Cancelled").count == 3
        # The legacy device view reads a cancelled command as a failure.
        assert legacy.get_command(request.id, fleet.devices["sim-1"].id, eid).state == "Command Failure"
        history = v2.get_device_command_history(eid, fleet.devices["sim-2"].id, state="Command Cancelled")
        assert request.id in [r.request for r in history.results]
    finally:
        cancel_request(server, eid, request.id)

    # A command already run to its end stays as it ended.
    done = v2.create_command(eid, V2Request(command_type="DEVICE", devices=device_ids(fleet, "sim-4"), device_type="active", command="UPDATE_HEARTBEAT"))
    row = wait_all(v2, eid, done.id, 1)[0]
    status, body = raw(server, "PATCH", f"/api/v0/enterprise/{eid}/command/{done.id}/status/{row.id}/?action=cancel", server.key, {})
    assert status == 400, body
    status, body = cancel_request(server, eid, done.id)
    assert status == 200 and {s["state"]: s["total"] for s in body["status"]} == {"Command Success": 1}, body
    assert cancel_request(server, eid, uuid.uuid4())[0] == 404


# ---------------------------------------------------------------------------------------------
# Enterprises are apart
# ---------------------------------------------------------------------------------------------

def test_another_enterprise_sees_no_commands(server, fleet, fleet_group, other_tenant, v2, legacy, group_commands):
    eid = server.enterprise
    device = fleet.devices["sim-0"]
    group = fleet_group("sim-1")
    request = v2.create_command(eid, V2Request(command_type="DEVICE", devices=[device.id], device_type="active", command="UPDATE_HEARTBEAT"))
    by_group = group_commands.run_group_command(eid, group.id, esperclient.GroupCommandRequest(command="UPDATE_HEARTBEAT"))
    wait_all(v2, eid, request.id, 1)
    history_before = v2.get_device_command_history(eid, device.id).count

    client = other_tenant.sdk()
    their_v2 = esperclient.CommandsV2Api(client)
    their_legacy = esperclient.CommandsApi(client)
    their_groups = esperclient.GroupCommandsApi(client)
    other = other_tenant.id

    # In our enterprise's paths: refused.
    for call, args in [
        (their_v2.list_command_request, (eid,)),
        (their_v2.get_command_request_status, (eid, request.id)),
        (their_v2.get_device_command_history, (eid, device.id)),
        (their_v2.create_command, (eid, V2Request(command_type="DEVICE", devices=[device.id], device_type="active", command="LOCK"))),
        (their_legacy.get_command, (request.id, device.id, eid)),
        (their_legacy.run_command, (eid, device.id, esperclient.CommandRequest(command="LOCK"))),
        (their_groups.get_group_command, (by_group.id, group.id, eid)),
        (their_groups.run_group_command, (eid, group.id, esperclient.GroupCommandRequest(command="LOCK"))),
    ]:
        fails((403, 404), call, *args)
    # In their own: nothing of ours.
    assert their_v2.list_command_request(other).count == 0
    assert their_v2.list_command_request(other, devices=device.id).count == 0
    fails(404, their_v2.get_command_request_status, other, request.id)
    status, body = raw(server, "GET", f"/api/v0/enterprise/{other}/device/{device.id}/command-history/", other_tenant.key)
    assert status == 404 or (status == 200 and body["count"] == 0), body
    fails(404, their_legacy.get_command, request.id, device.id, other)
    fails(404, their_legacy.run_command, other, device.id, esperclient.CommandRequest(command="LOCK"))
    fails(404, their_groups.get_group_command, by_group.id, group.id, other)
    fails(404, their_groups.run_group_command, other, group.id, esperclient.GroupCommandRequest(command="LOCK"))
    envelope = fails((400, 404), their_v2.create_command, other, V2Request(command_type="DEVICE", devices=[device.id], device_type="active", command="LOCK"))
    assert "devices" in error_text(envelope) or envelope["status"] == 404
    fails((400, 404), their_v2.create_command, other, V2Request(command_type="GROUP", groups=[group.id], device_type="active", command="LOCK"))
    # Nor can they cancel ours.
    assert cancel_request(server, eid, request.id, other_tenant.key)[0] in (403, 404)
    assert cancel_request(server, other, request.id, other_tenant.key)[0] == 404
    # Nothing they tried reached our device.
    assert v2.get_device_command_history(eid, device.id).count == history_before


def test_legacy_view_holds_arguments_the_sdk_model_cannot(server, fleet, v2, legacy):
    """CommandArgs checks ranges and types when it reads a DeviceCommand; arguments that are
    valid for Commands V2 (screen_off_timeout -1 = never) or that a command ignores must not
    make the legacy answer unreadable."""
    eid, device = server.enterprise, fleet.devices["sim-4"]
    never = v2.create_command(
        eid, {"command_type": "DEVICE", "devices": [device.id], "device_type": "active", "command": "SET_SCREEN_OFF_TIMEOUT", "command_args": {"screen_off_timeout": -1}}
    )
    wait_all(v2, eid, never.id, 1)
    shown = legacy.get_command(never.id, device.id, eid)
    assert shown.command == "SET_SCREEN_OFF_TIMEOUT" and shown.state == "Command Success"
    assert shown.command_args.screen_off_timeout is None  # "never" has no legacy form
    # Commands V2 keeps the argument as given (the SDK's V0CommandArgs has no field for it).
    status, body = raw(server, "GET", f"/api/v0/enterprise/{eid}/command/{never.id}/", server.key)
    assert status == 200 and body["command_args"] == {"screen_off_timeout": -1}, body

    stray = legacy.run_command(
        eid, device.id,
        {"command": "LOCK", "command_args": {"brightness_value": 500, "volume_level": "loud", "screen_off_timeout": 10, "wifi_state": "false"}},
    )
    assert stray.command == "LOCK"
    args = stray.command_args
    assert (args.brightness_value, args.volume_level, args.screen_off_timeout, args.wifi_state) == (None, None, None, None)
    wait_all(v2, eid, stray.id, 1)
    assert legacy.get_command(stray.id, device.id, eid).state == "Command Success"


def test_immediate_commands_keep_no_schedule_args(server, fleet, v2):
    """An IMMEDIATE request has no schedule: schedule_args sent with it (espercli sends them
    whenever --schedule-name is given) are not kept, so nothing unchecked comes back in every
    list for the SDK to trip over."""
    eid, device = server.enterprise, fleet.devices["sim-4"]
    body = {
        "command_type": "DEVICE", "devices": [device.id], "device_type": "active", "command": "UPDATE_HEARTBEAT",
        "schedule": "IMMEDIATE", "schedule_args": {"name": "now", "start_datetime": "tomorrow", "end_datetime": None},
    }
    request = v2.create_command(eid, body)
    assert request.schedule == "IMMEDIATE" and request.schedule_args is None
    wait_all(v2, eid, request.id, 1)
    listed = [r for r in v2.list_command_request(eid, devices=device.id).results if r.id == request.id]
    assert listed and listed[0].schedule_args is None


def test_schedule_date_times_stay_readable(server, fleet, v2):
    """A schedule's date-times come back in every list, where the SDK parses them with
    dateutil: a form it cannot read is refused when the command is made."""
    eid = server.enterprise
    start, end = future(30), future(60)
    for given in (f"{start.isoformat()}[UTC]", start.strftime("%Y-%m-%dT%H:%M:%S+00:00[Europe/London]")):
        body = {
            "command_type": "DEVICE", "devices": device_ids(fleet, "sim-4"), "device_type": "active",
            "command": "UPDATE_HEARTBEAT", "schedule": "WINDOW",
            "schedule_args": {"start_datetime": given, "end_datetime": end.isoformat()},
        }
        envelope = fails(400, v2.create_command, eid, body)
        assert "schedule_args.start_datetime" in error_text(envelope)
    v2.list_command_request(eid)
