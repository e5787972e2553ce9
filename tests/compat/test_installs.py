"""Installs that happen, through the official clients: INSTALL and UNINSTALL sent with
esperclient's CommandsV2Api and CommandsApi to simulated devices, which fetch the package from
the server with their own credential, check its size and SHA-256 and change their app list;
DeviceApi.get_app_installs and get_device_apps, and espercli `installs list`, show the result
(catalog §2.2, §3 install states, §4, §6.4). The devices are an enterprise's own
(`own_fleet`), so the shared fleet's app lists stay as the other tests expect them."""

from pathlib import Path

import esperclient

from conftest import Cli
from helpers import wait_for

PACKAGES = Path(__file__).resolve().parents[1] / "fixtures" / "packages"
INSTALL_STATES = {
    "NOT_INSTALLED", "INSTALL_IN_PROGRESS", "UNINSTALL_IN_PROGRESS", "INSTALL_SUCCESS",
    "INSTALL_FAILED", "UNINSTALL_SUCCESS", "UNINSTALL_FAILED",
}


def upload(fleet, name):
    """Uploads a fixture package; returns its newest version's id."""
    api = esperclient.ApplicationApi(fleet.sdk)
    application = api.upload(fleet.enterprise, str(PACKAGES / name)).application
    versions = api.get_app_versions(application.id, fleet.enterprise, legacy_format=False)
    return versions.results[0].id


def installs(fleet, device, **filters):
    return esperclient.DeviceApi(fleet.sdk).get_app_installs(fleet.enterprise, device.id, **filters)


def app(fleet, device, package):
    """The device's app-list entry of `package`, or None."""
    page = esperclient.DeviceApi(fleet.sdk).get_device_apps(fleet.enterprise, device.id, package_name=package)
    return page.results[0] if page.results else None


def v2_command(fleet, device, command, **args):
    """Sends a command with CommandsV2Api; waits for its success; returns the request id."""
    api = esperclient.CommandsV2Api(fleet.sdk)
    request = api.create_command(
        fleet.enterprise,
        esperclient.V0CommandRequest(
            command_type="DEVICE", devices=[device.id], device_type="all", command=command,
            command_args=esperclient.V0CommandArgs(**args),
        ),
    )
    wait_for(
        lambda: api.get_command_request_status(fleet.enterprise, request.id).results,
        lambda rows: len(rows) == 1 and rows[0].state == "Command Success",
        f"{command} succeeds",
    )
    return request.id


def test_sdk_install_upgrade_and_removal_show_in_installs_and_apps(own_fleet):
    fleet = own_fleet
    device = fleet.devices["sim-0"]
    first = upload(fleet, "kiosk-1.0.apk")
    second = upload(fleet, "kiosk-1.1.apk")
    assert app(fleet, device, "com.example.kiosk") is None
    assert installs(fleet, device).count == 0

    # Commands V2: the device fetches and checks the APK, then lists it.
    v2_command(fleet, device, "INSTALL", app_version=first)
    listed = wait_for(lambda: app(fleet, device, "com.example.kiosk"), bool, "the app list shows the install")
    assert listed.version_name == "1.0" and listed.version_code == "1" and listed.app_name == "Kiosk"
    page = installs(fleet, device)
    assert page.count == 1, page
    done = page.results[0]
    assert done.install_state == "INSTALL_SUCCESS"
    assert done.application.package_name == "com.example.kiosk"
    assert done.application.application_name == "Kiosk"
    assert done.application.version.app_version_id == first
    assert done.application.version.version_code == "1"
    assert done.device.endswith(f"/device/{device.id}/") and done.enterprise

    # The legacy CommandsApi: an upgrade.
    legacy = esperclient.CommandsApi(fleet.sdk)
    command = legacy.run_command(
        fleet.enterprise, device.id,
        esperclient.CommandRequest(command="INSTALL", command_args=esperclient.CommandArgs(app_version=second)),
    )
    wait_for(
        lambda: legacy.get_command(command.id, device.id, fleet.enterprise),
        lambda c: c.state == "Command Success", "the legacy INSTALL succeeds",
    )
    wait_for(lambda: app(fleet, device, "com.example.kiosk"), lambda a: a and a.version_name == "1.1", "the upgrade")
    page = installs(fleet, device, install_state="INSTALL_SUCCESS")
    assert [i.application.version.version_code for i in page.results] == ["2", "1"]
    assert installs(fleet, device, package_name="com.example.kiosk", application_name="kio").count == 2

    # UNINSTALL by package name.
    v2_command(fleet, device, "UNINSTALL", package_name="com.example.kiosk")
    wait_for(lambda: app(fleet, device, "com.example.kiosk"), lambda a: a is None, "the removal")
    page = installs(fleet, device)
    assert [i.install_state for i in page.results] == ["UNINSTALL_SUCCESS", "INSTALL_SUCCESS", "INSTALL_SUCCESS"]
    assert all(i.install_state in INSTALL_STATES for i in page.results)
    # The other device changed nothing.
    assert installs(fleet, fleet.devices["sim-1"]).count == 0


def test_cli_installs_list(own_fleet, server, tmp_path):
    fleet = own_fleet
    device = fleet.devices["sim-1"]
    version = upload(fleet, "pos-3.2.1.apk")
    v2_command(fleet, device, "INSTALL", app_version=version)
    wait_for(lambda: app(fleet, device, "com.example.pos"), bool, "the app list shows the install")

    cli = Cli(server, tmp_path)
    cli.preconfigure(fleet.tenant.key, fleet.tenant.id)
    rows = cli.json("installs", "list", "--device", "sim-1")
    assert rows == [{
        "id": rows[0]["id"], "application_name": "Point of Sale", "package_name": "com.example.pos",
        "version_code": "321", "install_state": "INSTALL_SUCCESS",
    }], rows
    table = cli.run("installs", "list", "--device", "sim-1", "--state", "INSTALL_SUCCESS").stdout
    assert "Total Number of Installs: 1" in table and "com.example.pos" in table, table
    none = cli.run("installs", "list", "--device", "sim-1", "--package", "com.example.kiosk").stdout
    assert "Total Number of Installs: 0" in none, none


def test_version_devices_show_the_device_that_has_it(own_fleet, server, tmp_path):
    """A version installed on a simulated device: esperclient ApplicationApi.get_install_devices
    lists it with its group (search covers the group's name), installed_count counts it, and
    espercli `version devices` shows it (catalog §2.5, §4 InstallDevices, §6.3)."""
    fleet = own_fleet
    device = fleet.devices["sim-0"]
    api = esperclient.ApplicationApi(fleet.sdk)
    application = api.upload(fleet.enterprise, str(PACKAGES / "scanner-5.0.apk")).application
    version = application.versions[0].id
    assert api.get_install_devices(version, application.id, fleet.enterprise).count == 0
    esperclient.DeviceGroupApi(fleet.sdk).create_group(
        fleet.enterprise, esperclient.DeviceGroupUpdate(name="Checkout", device_ids=[device.id]),
    )
    v2_command(fleet, device, "INSTALL", app_version=version)

    found = wait_for(
        lambda: api.get_install_devices(version, application.id, fleet.enterprise),
        lambda page: page.count == 1, "the version's devices list the device",
    )
    row = found.results[0]
    assert (row.id, row.device_name, row.alias_name, row.group_name) == (device.id, "sim-0", None, "Checkout")
    assert api.get_install_devices(version, application.id, fleet.enterprise, search="checkout").count == 1
    assert api.get_install_devices(version, application.id, fleet.enterprise, search="sim-1").count == 0
    assert api.get_app_version(version, application.id, fleet.enterprise).installed_count == 1
    assert api.get_app_versions(application.id, fleet.enterprise).results[0].installed_count == 1

    cli = Cli(server, tmp_path)
    cli.preconfigure(fleet.tenant.key, fleet.tenant.id)
    table = cli.run("version", "devices", version, "--app", application.id).stdout
    assert "Total Number of Devices: 1" in table, table
    assert "sim-0" in table and "Checkout" in table and device.id in table, table
    rows = cli.json("version", "devices", version, "--app", application.id)
    assert rows == [{"id": device.id, "device_name": "sim-0", "alias_name": None, "group_name": "Checkout"}], rows
    none = cli.run("version", "devices", version, "--app", application.id, "--search", "nowhere").stdout
    assert "Total Number of Devices: 0" in none, none
