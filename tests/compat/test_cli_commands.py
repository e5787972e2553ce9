"""espercli 0.0.17, unchanged: `device-command`, `group-command` and `commandsV2` against the
simulated fleet (catalog §2.3, §2.8, §6.3, §6.4). The CLI prints what it parsed from our
answers (legacy states, a group command's `details`, `issued_by`, `status[0].state`); the tests
read that output, and wait for the devices through the SDK.

Scheduled commands are cancelled before their test ends, so the shared fleet stays idle."""

import ast
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import esperclient

from helpers import is_uuid, raw, unique, wait_for

PACKAGES = Path(__file__).resolve().parents[1] / "fixtures" / "packages"

LEGACY_STATES = {
    "Command Initiated", "Command Acknowledged", "Command In Progress", "Command TimeOut",
    "Command Success", "Command Failure", "Command Scheduled",
}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def v2(server):
    return esperclient.CommandsV2Api(server.sdk())


def wait_all(server, request_id, count, state="Command Success"):
    """Waits (through the SDK) until the request has `count` rows, all in `state`."""
    api = v2(server)
    return wait_for(
        lambda: api.get_command_request_status(server.enterprise, request_id).results,
        lambda rows: len(rows) == count and all(r.state == state for r in rows),
        f"{count} row(s) of {request_id} in {state}",
    )


def table(out):
    """espercli's TITLE/DETAILS table as a dict; a cell spread over several lines is joined
    with newlines."""
    rows = {}
    last = None
    for line in out.splitlines():
        if not line.strip() or set(line.strip()) <= {"─", " "} or line.split()[0] == "TITLE":
            continue
        if line[0] != " ":
            title, _, rest = line.partition(" ")
            rows[title] = rest.strip()
            last = title
        elif last is not None:
            rows[last] = (rows[last] + "\n" + line.strip()).strip()
    return rows


def v2_table(out):
    """commandsV2's create table: titles may hold one space ("Issued by", "Command Type")."""
    rows = {}
    for line in out.splitlines():
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(parts) == 2:
            rows[parts[0]] = parts[1]
    return rows


def fails(runner, *args, stdin=""):
    """Runs a command that must fail (exit code != 0); returns stdout + stderr."""
    result = runner.run(*args, check=False, stdin=stdin)
    assert result.returncode != 0, (result.stdout, result.stderr)
    return result.stdout + result.stderr


def total(out, what):
    match = re.search(rf"Total Number of {what}: (\d+)", out)
    assert match, out
    return int(match.group(1))


def make_group(server, fleet, *names):
    api = esperclient.DeviceGroupApi(server.sdk())
    ids = [fleet.devices[n].id for n in names]
    return api.create_group(server.enterprise, esperclient.DeviceGroupUpdate(name=unique("cli-cmd"), device_ids=ids))


def drop_group(server, group):
    esperclient.DeviceGroupApi(server.sdk()).delete_group(group.id, server.enterprise)


def later(days):
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cancel(server, request_id, key=None):
    return raw(server, "POST", f"/api/v0/enterprise/{server.enterprise}/command/{request_id}/cancel/", key or server.key)


# ---------------------------------------------------------------------------------------------
# device-command
# ---------------------------------------------------------------------------------------------

def test_device_command_ping_and_show(cli, server, fleet):
    device = fleet.devices["sim-0"]
    fired = cli.json("device-command", "ping", "--device", "sim-0")
    assert set(fired) == {"id", "command", "state"}
    assert is_uuid(fired["id"]) and fired["command"] == "UPDATE_HEARTBEAT"
    assert fired["state"] in LEGACY_STATES
    wait_all(server, fired["id"], 1)

    shown = cli.json("device-command", "show", fired["id"], "--device", "sim-0")
    assert shown == {"id": fired["id"], "command": "UPDATE_HEARTBEAT", "state": "Command Success"}
    rows = table(cli.run("device-command", "show", fired["id"], "--device", "sim-0").stdout)
    assert rows == {"id": fired["id"], "command": "UPDATE_HEARTBEAT", "state": "Command Success"}
    # It is the device's command, seen the same way by the SDK.
    legacy = esperclient.CommandsApi(server.sdk()).get_command(fired["id"], device.id, server.enterprise)
    assert legacy.state == "Command Success"


def test_device_commands_with_and_without_arguments(cli, server, fleet):
    device = fleet.devices["sim-1"]
    # UNINSTALL by version needs a version the enterprise has: it names the package.
    signage = esperclient.ApplicationApi(server.sdk()).upload(server.enterprise, str(PACKAGES / "signage-2.0.apk"))
    app_version = signage.application.versions[0].id
    cases = [
        (["lock"], "LOCK", {}),
        (["reboot"], "REBOOT", {}),
        (["wipe", "--yes", "--exstorage"], "WIPE", {"wipe_external_storage": True, "wipe_frp": False}),
        (["wipe", "--yes", "--frp"], "WIPE", {"wipe_external_storage": False, "wipe_frp": True}),
        (["clear-app-data", "--package-name", "com.example.pos"], "CLEAR_APP_DATA", {"package_name": "com.example.pos"}),
        (["uninstall", "--version", app_version], "UNINSTALL", {"app_version": app_version}),
    ]
    api = esperclient.CommandsApi(server.sdk())
    for args, command, expected in cases:
        rows = table(cli.run("device-command", *args, "--device", "sim-1").stdout)
        assert set(rows) == {"id", "command", "state"}, rows
        assert rows["command"] == command and rows["state"] in LEGACY_STATES, rows
        wait_all(server, rows["id"], 1)
        stored = api.get_command(rows["id"], device.id, server.enterprise)
        assert stored.state == "Command Success"
        got = stored.command_args.to_dict()
        assert {k: got[k] for k in expected} == expected, (args, got)


def test_device_command_errors(cli, server, fleet):
    device = fleet.devices["sim-2"]
    api = v2(server)
    before = api.get_device_command_history(server.enterprise, device.id).count

    assert "Device does not exist with name no-such-device" in fails(cli, "device-command", "ping", "--device", "no-such-device")
    assert "Package name is empty" in fails(cli, "device-command", "clear-app-data", "--device", "sim-2")
    # Refused by the server, which names the argument.
    out = fails(cli, "device-command", "install", "--device", "sim-2")
    assert "ERROR" in out and "app_version" in out, out
    out = fails(cli, "device-command", "uninstall", "--version", str(uuid.uuid4()), "--device", "sim-2")
    assert "ERROR" in out and "no app version" in out, out
    out = fails(cli, "device-command", "show", str(uuid.uuid4()), "--device", "sim-2")
    assert "ERROR" in out, out
    # Wipe asks first; no answer, no wipe.
    out = fails(cli, "device-command", "wipe", "--device", "sim-2")
    assert "WIPE" in out

    assert api.get_device_command_history(server.enterprise, device.id).count == before


# ---------------------------------------------------------------------------------------------
# group-command
# ---------------------------------------------------------------------------------------------

def test_group_command_ping_and_show(cli, server, fleet):
    group = make_group(server, fleet, "sim-2", "sim-3")
    try:
        fired = cli.json("group-command", "ping", "--group", group.name)
        assert set(fired) == {"id", "command", "state", "success", "failed", "in_progress", "inactive"}
        assert is_uuid(fired["id"]) and fired["command"] == "UPDATE_HEARTBEAT"
        assert fired["state"] in {"Command Initiated", "Command Success"}
        groups = esperclient.GroupCommandsApi(server.sdk())
        wait_for(
            lambda: groups.get_group_command(fired["id"], group.id, server.enterprise),
            lambda c: c.state == "Command Success",
            "group command success",
        )

        shown = cli.json("group-command", "show", fired["id"], "--group", group.name)
        assert shown["state"] == "Command Success" and shown["id"] == fired["id"]
        assert sorted(shown["success"]) == ["sim-2", "sim-3"]
        assert shown["failed"] == [] and shown["in_progress"] == [] and shown["inactive"] == []

        rows = table(cli.run("group-command", "show", fired["id"], "--group", group.name).stdout)
        assert rows["state"] == "Command Success" and rows["command"] == "UPDATE_HEARTBEAT"
        assert sorted(rows["success"].split("\n")) == ["sim-2", "sim-3"]
        assert rows.get("failed", "") == ""
    finally:
        drop_group(server, group)


def test_group_commands_lock_reboot_and_errors(cli, server, fleet):
    group = make_group(server, fleet, "sim-4")
    try:
        fired = []
        for verb, command in (("lock", "LOCK"), ("reboot", "REBOOT")):
            rows = table(cli.run("group-command", verb, "--group", group.name).stdout)
            assert rows["command"] == command and is_uuid(rows["id"]), rows
            fired.append(rows["id"])
        for command_id in fired:
            wait_all(server, command_id, 1)
            shown = cli.json("group-command", "show", command_id, "--group", group.name)
            assert shown["state"] == "Command Success" and shown["success"] == ["sim-4"]

        out = fails(cli, "group-command", "install", "--group", group.name)
        assert "ERROR" in out and "app_version" in out, out
        assert "Group does not exist with name" in fails(cli, "group-command", "ping", "--group", unique("nowhere"))
        out = fails(cli, "group-command", "show", str(uuid.uuid4()), "--group", group.name)
        assert "ERROR" in out
    finally:
        drop_group(server, group)


# ---------------------------------------------------------------------------------------------
# commandsV2
# ---------------------------------------------------------------------------------------------

def test_commandsv2_command_and_status(cli, server, fleet):
    targets = sorted([fleet.devices["sim-0"].id, fleet.devices["sim-1"].id])
    made = cli.json("commandsV2", "command", "--command-type", "device", "--devices", "sim-0 sim-1", "--command", "update_heartbeat")
    assert is_uuid(made["id"])
    assert (made["command"], made["command_type"], made["device_type"]) == ("UPDATE_HEARTBEAT", "DEVICE", "active")
    assert sorted(made["devices"]) == targets
    assert made["command_args"] == {}
    assert made["schedule"] == "IMMEDIATE" and made["schedule_args"] is None
    assert ast.literal_eval(made["issued_by"])["username"] == "compat"
    assert "state" in made["status"]
    rows = wait_all(server, made["id"], 2)

    # The table form: espercli takes the issuer's name with split("'")[-2] and status[0].state.
    out = cli.run("commandsV2", "command", "--command-type", "device", "--devices", "sim-1", "--command", "update_heartbeat").stdout
    shown = v2_table(out)
    assert shown["Issued by"] == "compat", out
    assert shown["Command"] == "UPDATE_HEARTBEAT" and shown["Command Type"] == "DEVICE"
    assert shown["Status"] in {"Command Queued", "Command Initiated", "Command Acknowledged", "Command In Progress", "Command Success"}
    wait_all(server, shown["Id"], 1)

    out = cli.run("commandsV2", "status", "--request", made["id"], "--json").stdout
    assert total(out, "Statuses") == 2
    statuses = cli.json("commandsV2", "status", "--request", made["id"])
    assert sorted(s["device_id"] for s in statuses) == targets
    assert {s["id"] for s in statuses} == {r.id for r in rows}
    assert all(s["request_id"] == made["id"] and s["state"] == "Command Success" for s in statuses)

    one = cli.json("commandsV2", "status", "--request", made["id"], "--device", "sim-1")
    assert [s["device_id"] for s in one] == [fleet.devices["sim-1"].id]
    assert len(cli.json("commandsV2", "status", "--request", made["id"], "--state", "success")) == 2
    out = cli.run("commandsV2", "status", "--request", made["id"], "--state", "failure", "--json").stdout
    assert total(out, "Statuses") == 0
    assert len(cli.json("commandsV2", "status", "--request", made["id"], "--limit", "1")) == 1
    out = cli.run("commandsV2", "status", "--request", made["id"]).stdout
    assert "STATUS ID" in out and "DEVICE ID" in out and out.count("Command Success") == 2
    for device_id in targets:
        assert device_id in out


def test_commandsv2_command_arguments(cli, server, fleet):
    made = cli.json(
        "commandsV2", "command", "--command-type", "device", "--devices", "sim-2",
        "--command", "set_app_state", "--package-name", "com.example.pos", "--app-state", "HIDE",
    )
    assert made["command"] == "SET_APP_STATE"
    assert made["command_args"] == {"package_name": "com.example.pos", "app_state": "HIDE"}
    lockdown = cli.json(
        "commandsV2", "command", "--command-type", "device", "--devices", "sim-2",
        "--command", "set_device_lockdown_state", "--state", "UNLOCKED", "--message", "back to work",
    )
    assert lockdown["command_args"] == {"state": "UNLOCKED", "message": "back to work"}
    config = cli.json(
        "commandsV2", "command", "--command-type", "device", "--devices", "sim-2",
        "--command", "update_device_config", "--custom-config", '{"dpcParams": [{"key": "powerOff", "value": "true"}]}',
    )
    assert config["command_args"] == {"custom_settings_config": {"dpcParams": [{"key": "powerOff", "value": "true"}]}}
    for request in (made, lockdown, config):
        wait_all(server, request["id"], 1)


def test_commandsv2_group_and_dynamic(cli, server, fleet):
    group = make_group(server, fleet, "sim-3", "sim-4")
    try:
        made = cli.json("commandsV2", "command", "--command-type", "group", "--groups", group.id, "--command", "reboot")
        assert made["command_type"] == "GROUP" and made["groups"] == [group.id] and made["command"] == "REBOOT"
        wait_all(server, made["id"], 2)
        members = {s["device_id"] for s in cli.json("commandsV2", "status", "--request", made["id"])}
        assert members == {fleet.devices["sim-3"].id, fleet.devices["sim-4"].id}

        dynamic = cli.json(
            "commandsV2", "command", "--command-type", "dynamic", "--devices", "sim-0 sim-3", "--groups", group.id,
            "--device-type", "all", "--command", "update_heartbeat",
        )
        assert dynamic["command_type"] == "DYNAMIC" and dynamic["device_type"] == "all"
        wait_all(server, dynamic["id"], 3)
        out = cli.run("commandsV2", "status", "--request", dynamic["id"], "--json").stdout
        assert total(out, "Statuses") == 3
    finally:
        drop_group(server, group)


def test_commandsv2_list(cli, server, fleet):
    made = cli.json("commandsV2", "command", "--command-type", "device", "--devices", "sim-0", "--command", "update_heartbeat")
    wait_all(server, made["id"], 1)
    api = v2(server)

    out = cli.run("commandsV2", "list", "--json").stdout
    assert total(out, "Command Requests") == api.list_command_request(server.enterprise).count
    listed = cli.json("commandsV2", "list")
    assert listed[0]["id"] == made["id"]  # newest first
    assert len(listed) == min(10, api.list_command_request(server.enterprise).count)
    first = listed[0]
    assert first["command"] == "UPDATE_HEARTBEAT" and first["command_type"] == "DEVICE"
    assert first["devices"] == [fleet.devices["sim-0"].id]
    assert set(first["command_args"]) >= {"package_name", "app_version", "state", "message"}
    assert "Command Success" in first["status"]

    filtered = cli.json(
        "commandsV2", "list", "--command-type", "device", "--device", "sim-0",
        "--device-type", "active", "--command", "update_heartbeat", "--limit", "50",
    )
    assert made["id"] in [r["id"] for r in filtered]
    assert all(r["command"] == "UPDATE_HEARTBEAT" and r["command_type"] == "DEVICE" and r["device_type"] == "active" for r in filtered)
    out = cli.run("commandsV2", "list", "--command-type", "group", "--command", "update_heartbeat", "--json").stdout
    assert made["id"] not in out
    assert len(cli.json("commandsV2", "list", "--limit", "1")) == 1

    table_out = cli.run("commandsV2", "list", "--limit", "3").stdout
    assert "REQUEST ID" in table_out and "ISSUED BY" in table_out
    assert made["id"] in table_out
    # The table shows the issuer's name, read from issued_by as JSON.
    line = next(l for l in table_out.splitlines() if made["id"] in l)
    assert "compat" in line and "{" not in line, line


def test_commandsv2_history(cli, server, fleet):
    first = cli.json("device-command", "ping", "--device", "sim-3")
    second = cli.json("commandsV2", "command", "--command-type", "device", "--devices", "sim-3", "--command", "lock")
    wait_all(server, first["id"], 1)
    wait_all(server, second["id"], 1)
    device_id = fleet.devices["sim-3"].id

    out = cli.run("commandsV2", "history", "--device", "sim-3", "--json").stdout
    count = total(out, "Statuses")
    assert count == v2(server).get_device_command_history(server.enterprise, device_id).count >= 2
    history = cli.json("commandsV2", "history", "--device", "sim-3")
    requests = [h["request_id"] for h in history]
    assert requests[:2] == [second["id"], first["id"]]  # newest first
    assert all(h["device_id"] == device_id for h in history)
    succeeded = cli.json("commandsV2", "history", "--device", "sim-3", "--state", "success", "--limit", "50")
    assert {first["id"], second["id"]} <= {h["request_id"] for h in succeeded}
    assert all(h["state"] == "Command Success" for h in succeeded)
    assert len(cli.json("commandsV2", "history", "--device", "sim-3", "--limit", "1")) == 1
    table_out = cli.run("commandsV2", "history", "--device", "sim-3").stdout
    assert "STATUS ID" in table_out and device_id in table_out and "Command Success" in table_out


def test_commandsv2_schedules_and_cancel(cli, server, fleet):
    start, end = later(30), later(60)
    window = cli.json(
        "commandsV2", "command", "--command-type", "device", "--devices", "sim-0 sim-1", "--command", "update_heartbeat",
        "--schedule", "window", "--schedule-name", "night shift", "--start", start, "--end", end,
        "--window-start", "09:00", "--window-end", "17:00", "--days", "monday,friday",
    )
    recurring_out = cli.run(
        "commandsV2", "command", "--command-type", "device", "--devices", "sim-2", "--command", "reboot",
        "--schedule", "recurring", "--schedule-name", "weekly", "--start", start, "--end", end,
        "--time-type", "device", "--window-start", "22:00", "--window-end", "02:00",
    ).stdout
    recurring = v2_table(recurring_out)
    try:
        assert window["schedule"] == "WINDOW"
        args = window["schedule_args"]
        assert args["name"] == "night shift" and args["days"] == ["Monday", "Friday"]
        assert (args["window_start_time"], args["window_end_time"], args["time_type"]) == ("09:00", "17:00", "console")
        assert args["start_datetime"].startswith(start[:10]) and args["end_datetime"].startswith(end[:10])
        assert "Command Scheduled" in window["status"]
        assert recurring["Status"] == "Command Scheduled", recurring_out
        assert recurring["Schedule"] == "RECURRING"
        assert "'All days'" in recurring["Schedule Args"] and "'device'" in recurring["Schedule Args"]

        # They wait for their windows.
        time.sleep(1)
        waiting = cli.json("commandsV2", "status", "--request", window["id"], "--state", "scheduled")
        assert len(waiting) == 2 and all(s["state"] == "Command Scheduled" for s in waiting)

        status, body = cancel(server, window["id"])
        assert status == 200, body
        cancelled = cli.json("commandsV2", "status", "--request", window["id"], "--state", "cancelled")
        assert len(cancelled) == 2 and all(s["state"] == "Command Cancelled" for s in cancelled)
        listed = [r for r in cli.json("commandsV2", "list", "--command-type", "device", "--limit", "50") if r["id"] == window["id"]]
        assert listed and "Command Cancelled" in listed[0]["status"]
        # The legacy device command view reads a cancelled command as failed.
        shown = cli.json("device-command", "show", window["id"], "--device", "sim-0")
        assert shown["state"] == "Command Failure"
        history = cli.json("commandsV2", "history", "--device", "sim-1", "--state", "cancelled", "--limit", "50")
        assert window["id"] in [h["request_id"] for h in history]
    finally:
        cancel(server, window["id"])
        cancel(server, recurring["Id"])

    # A schedule needs its arguments (espercli sends none without --schedule-name).
    out = fails(cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-0", "--command", "reboot", "--schedule", "window")
    assert "ERROR" in out and "schedule_args" in out, out
    out = fails(
        cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-0", "--command", "reboot",
        "--schedule", "window", "--schedule-name", "x", "--start", end, "--end", start,
    )
    assert "ERROR" in out and "end_datetime" in out, out


def test_commandsv2_errors(cli, server, fleet):
    api = v2(server)
    before = api.list_command_request(server.enterprise).count
    assert "command cannot be empty." in fails(cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-0")
    assert "command type cannot be empty." in fails(cli, "commandsV2", "command", "--command", "reboot", "--devices", "sim-0")
    assert "devices cannot be empty." in fails(cli, "commandsV2", "command", "--command-type", "device", "--command", "reboot")
    assert "groups cannot be empty." in fails(cli, "commandsV2", "command", "--command-type", "group", "--command", "reboot")
    assert "Device does not exist with name ghost" in fails(
        cli, "commandsV2", "command", "--command-type", "device", "--devices", "ghost", "--command", "reboot"
    )
    out = fails(cli, "commandsV2", "command", "--command-type", "group", "--groups", str(uuid.uuid4()), "--command", "reboot")
    assert "ERROR" in out
    out = fails(cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-0", "--command", "fly_to_the_moon")
    assert "ERROR" in out and "command" in out.lower(), out
    out = fails(cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-0", "--command", "set_kiosk_app")
    assert "ERROR" in out and "package_name" in out, out
    out = fails(cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-0", "--device-type", "sometimes", "--command", "reboot")
    assert "ERROR" in out or "device_type" in out, out
    assert "request id is not given" in fails(cli, "commandsV2", "status")
    assert "ERROR" in fails(cli, "commandsV2", "status", "--request", str(uuid.uuid4()))
    assert "Device name is not given" in fails(cli, "commandsV2", "history")
    assert "Device does not exist with name ghost" in fails(cli, "commandsV2", "history", "--device", "ghost")
    assert api.list_command_request(server.enterprise).count == before


def test_another_enterprise_sees_no_commands(cli, tenant_cli, server, fleet):
    made = cli.json("commandsV2", "command", "--command-type", "device", "--devices", "sim-4", "--command", "update_heartbeat")
    fired = cli.json("device-command", "ping", "--device", "sim-4")
    wait_all(server, made["id"], 1)
    wait_all(server, fired["id"], 1)

    out = tenant_cli.run("commandsV2", "list", "--json").stdout
    assert total(out, "Command Requests") == 0 and made["id"] not in out
    assert "ERROR" in fails(tenant_cli, "commandsV2", "status", "--request", made["id"])
    # Our devices' names mean nothing there.
    assert "Device does not exist with name sim-4" in fails(tenant_cli, "commandsV2", "history", "--device", "sim-4")
    assert "Device does not exist with name sim-4" in fails(tenant_cli, "device-command", "show", fired["id"], "--device", "sim-4")
    assert "Device does not exist with name sim-4" in fails(tenant_cli, "device-command", "ping", "--device", "sim-4")
    assert "Device does not exist with name sim-4" in fails(
        tenant_cli, "commandsV2", "command", "--command-type", "device", "--devices", "sim-4", "--command", "reboot"
    )
