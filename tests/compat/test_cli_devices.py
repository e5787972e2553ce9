"""espercli 0.0.17, unchanged: device, status, heartbeat and the group device commands."""

import esperclient


def test_device_list_show_set_active(cli, fleet):
    listed = str(cli.json("device", "list"))
    for name in fleet.devices:
        assert name in listed
    shown = str(cli.json("device", "show", "sim-0"))
    assert fleet.devices["sim-0"].id in shown and "ACTIVE" in shown
    out = cli.run("device", "set-active", "--name", "sim-0").stdout
    assert "sim-0" in out
    state = cli.run("device", "list", "--state", "active").stdout
    assert "sim-0" in state


def test_status_latest(cli, fleet):
    out = str(cli.json("status", "latest", "--device", "sim-2"))
    assert "memory_ram" in out or "battery_level" in out, out


def test_heartbeat(cli, fleet):
    out = cli.run("heartbeat", "show", "--device", "sim-0").stdout
    assert "ONLINE" in out, out
    listing = cli.run("heartbeat", "list").stdout
    assert "sim-0" in listing and "ONLINE" in listing


def test_group_add_devices_remove(cli, server, fleet):
    cli.run("group", "create", "--name", "cli-fleet-group")
    cli.run("group", "add", "--group", "cli-fleet-group", "--devices", "sim-3 sim-4")
    api = esperclient.DeviceGroupApi(server.sdk())
    group = api.get_all_groups(server.enterprise, name="cli-fleet-group", limit=1).results[0]
    assert group.device_count == 2
    members = str(cli.json("group", "devices", "--group", "cli-fleet-group"))
    assert "sim-3" in members and "sim-4" in members
    cli.run("group", "remove", "--group", "cli-fleet-group", "--devices", "sim-4")
    assert api.get_group_by_id(group.id, server.enterprise).device_count == 1
