"""Commands with the official clients against simulated devices that really run them:
esperclient CommandsApi, GroupCommandsApi and CommandsV2Api, and espercli `device-command`,
`group-command` and `commandsV2 command/list/status/history`."""

import time
from datetime import datetime, timedelta, timezone

import esperclient

from helpers import fails, unique

FINAL = {"Command Success", "Command Failure", "Command TimeOut", "Command Cancelled"}


def until(check, what, seconds=20):
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {seconds} s (last: {last!r})")


def test_legacy_device_commands(server, fleet):
    api = esperclient.CommandsApi(server.sdk())
    device = fleet.devices["sim-0"].id
    command = api.run_command(server.enterprise, device, esperclient.CommandRequest(command="UPDATE_HEARTBEAT"))
    assert command.command == "UPDATE_HEARTBEAT"
    assert command.device.endswith(f"/device/{device}/")
    done = until(
        lambda: (c := api.get_command(command.id, device, server.enterprise)).state == "Command Success" and c,
        "the legacy command's success",
    )
    assert done.id == command.id
    envelope = fails(400, api.run_command, server.enterprise, device, esperclient.CommandRequest(command="INSTALL"))
    assert "app_version" in envelope["message"]
    fails((400, 404), api.get_command, "00000000-0000-0000-0000-000000000000", device, server.enterprise)


def test_group_commands(server, fleet):
    groups = esperclient.DeviceGroupApi(server.sdk())
    members = [fleet.devices["sim-1"].id, fleet.devices["sim-2"].id]
    group = groups.create_group(server.enterprise, esperclient.DeviceGroupUpdate(name=unique("cmd-group"), device_ids=members))
    api = esperclient.GroupCommandsApi(server.sdk())
    command = api.run_group_command(server.enterprise, group.id, esperclient.GroupCommandRequest(command="UPDATE_HEARTBEAT"))
    assert command.group.endswith(f"/devicegroup/{group.id}/")

    def finished():
        c = api.get_group_command(command.id, group.id, server.enterprise)
        return c if c.state == "Command Success" else None

    done = until(finished, "the group command's success")
    assert "sim-1" in done.details and "sim-2" in done.details
    fails(400, api.run_group_command, server.enterprise, group.id, esperclient.GroupCommandRequest(command="MAKE_COFFEE"))


def test_commands_v2_request_status_history(server, fleet):
    api = esperclient.CommandsV2Api(server.sdk())
    devices = [fleet.devices["sim-3"].id, fleet.devices["sim-4"].id]
    request = api.create_command(
        server.enterprise,
        esperclient.V0CommandRequest(command_type="DEVICE", devices=devices, device_type="all", command="UPDATE_HEARTBEAT"),
    )
    assert request.command == "UPDATE_HEARTBEAT" and sorted(request.devices) == sorted(devices)

    def all_done():
        page = api.get_command_request_status(server.enterprise, request.id)
        return page if page.count == 2 and all(s.state == "Command Success" for s in page.results) else None

    until(all_done, "both devices' success")
    one = api.get_command_request_status(server.enterprise, request.id, device=devices[0])
    assert one.count == 1 and one.results[0].device.endswith(f"/device/{devices[0]}/")
    assert api.get_command_request_status(server.enterprise, request.id, state="Command Failure").count == 0
    listed = api.list_command_request(server.enterprise, command="UPDATE_HEARTBEAT", command_type="DEVICE")
    assert request.id in [r.id for r in listed.results]
    history = api.get_device_command_history(server.enterprise, devices[0])
    assert request.id in [h.request for h in history.results] or request.id in str(history.results)
    assert api.get_device_command_history(server.enterprise, devices[0], state="Command Success").count >= 1

    # A window in the future: scheduled, then cancelled through Steward's cancel endpoint.
    start = datetime.now(timezone.utc) + timedelta(days=1)
    scheduled = api.create_command(
        server.enterprise,
        esperclient.V0CommandRequest(
            command_type="DEVICE", devices=devices[:1], device_type="all", command="REBOOT", schedule="WINDOW",
            schedule_args=esperclient.V0CommandScheduleArgs(
                name="night", start_datetime=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                end_datetime=(start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"), time_type="console",
                window_start_time="01:00", window_end_time="03:00", days=["All days"]),
        ),
    )
    status = api.get_command_request_status(server.enterprise, scheduled.id)
    assert status.results[0].state == "Command Scheduled"
    client = server.sdk()
    client.call_api(
        f"/v0/enterprise/{server.enterprise}/command/{scheduled.id}/cancel/", "POST",
        header_params={"Accept": "application/json", "Content-Type": "application/json"},
        auth_settings=["apiKey"], response_type="object",
    )
    assert api.get_command_request_status(server.enterprise, scheduled.id).results[0].state == "Command Cancelled"

    # Bad input names the field; another enterprise sees nothing.
    envelope = fails(400, api.create_command, server.enterprise,
                     esperclient.V0CommandRequest(command_type="DEVICE", devices=devices, command="SET_TIMEZONE"))
    assert "timezone_string" in envelope["message"]
    other = server.new_tenant()
    fails((403, 404), esperclient.CommandsV2Api(other.sdk()).get_command_request_status, server.enterprise, request.id)


def test_cli_device_and_group_commands(cli, server, fleet):
    out = cli.json("device-command", "ping", "--device", "sim-0")
    command_id = out["id"]
    assert out["command"] == "UPDATE_HEARTBEAT"
    until(
        lambda: cli.json("device-command", "show", command_id, "--device", "sim-0")["state"] == "Command Success",
        "espercli's ping to succeed",
    )
    name = unique("cli-cmd-group")
    cli.run("group", "create", "--name", name)
    cli.run("group", "add", "--group", name, "--devices", "sim-1")
    out = cli.json("group-command", "ping", "--group", name)
    group_command = out["id"]
    until(
        lambda: cli.json("group-command", "show", group_command, "--group", name)["state"] == "Command Success",
        "espercli's group ping to succeed",
    )


def test_cli_commands_v2(cli, server, fleet):
    out = cli.run("commandsV2", "command", "--command-type", "device", "--devices", "sim-2 sim-3",
                  "--command", "update_heartbeat", "--device-type", "all", "--json").stdout
    assert "UPDATE_HEARTBEAT" in out, out
    api = esperclient.CommandsV2Api(server.sdk())
    request = api.list_command_request(server.enterprise, command="UPDATE_HEARTBEAT").results[0]
    until(
        lambda: "Command Success" in cli.run("commandsV2", "status", "--request", request.id).stdout,
        "espercli to show success",
    )
    listing = cli.run("commandsV2", "list", "--command", "update_heartbeat", "--limit", "5").stdout
    assert request.id[:8] in listing or "UPDATE_HEARTBEAT" in listing, listing
    history = cli.run("commandsV2", "history", "--device", "sim-2").stdout
    assert "UPDATE_HEARTBEAT" in history or "Command Success" in history, history
