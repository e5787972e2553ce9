"""esperclient 0.1.3: every method of DeviceApi, against devices enrolled by real agents."""

import ast

import esperclient
import pytest
from esperclient.rest import ApiException


def test_device_list_filters_and_get(server, fleet):
    api = esperclient.DeviceApi(server.sdk())
    eid = server.enterprise
    page = api.get_all_devices(eid, limit=50)
    assert page.count >= fleet.SIZE
    device = fleet.devices["sim-0"]
    assert device.status == 1 and device.state == 1
    assert device.enterprise.endswith(f"/enterprise/{eid}/")
    hardware = device.hardware_info
    assert hardware["manufacturer"] and hardware["serialNumber"]

    exact = api.get_all_devices(eid, name="sim-0", limit=1, offset=0)
    assert exact.results[0].device_name == "sim-0"
    assert api.get_all_devices(eid, serial=hardware["serialNumber"]).count == 1
    assert api.get_all_devices(eid, brand=hardware["manufacturer"]).count >= 1
    assert api.get_all_devices(eid, state=1).count >= fleet.SIZE
    assert api.get_all_devices(eid, state=60).count == 0
    assert api.get_all_devices(eid, is_gms=False).count >= fleet.SIZE
    assert api.get_all_devices(eid, search="sim-").count >= fleet.SIZE
    mac = device.network_info["interfaces"][0]["macAddress"]
    assert api.get_all_devices(eid, search=mac).count == 1
    with_imei = [d for d in fleet.devices.values() if d.hardware_info.get("imei")]
    for d in with_imei[:1]:
        assert api.get_all_devices(eid, imei=d.hardware_info["imei"]).count == 1

    one = api.get_device_by_id(eid, device.id)
    assert one.id == device.id and one.device_name == "sim-0"
    with pytest.raises(ApiException) as other:
        api.get_all_devices(server.other_enterprise)
    assert other.value.status == 403


def test_group_filter(server, fleet):
    groups = esperclient.DeviceGroupApi(server.sdk())
    devices = esperclient.DeviceApi(server.sdk())
    group = groups.create_group(server.enterprise, esperclient.DeviceGroupUpdate(name="sdk-fleet-group", device_ids=[fleet.devices["sim-1"].id]))
    assert group.device_count == 1
    page = devices.get_all_devices(server.enterprise, group=group.id)
    assert [d.device_name for d in page.results] == ["sim-1"]
    assert page.results[0].groups[0].split("/")[-2] == group.id


def test_device_status_events(server, fleet):
    api = esperclient.DeviceApi(server.sdk())
    device = fleet.devices["sim-2"]
    latest = api.get_device_event(server.enterprise, device.id, 1)
    assert latest.count == 1
    data = ast.literal_eval(latest.results[0].data)
    memory = data["memoryEvents"]
    assert memory[0]["countInMb"] > 0 and memory[1]["countInMb"] > 0
    assert "batteryStatus" in data["powerManagementEvent"]
    assert data["dataUsageStats"]["totalDataDownload"] > 0
    assert latest.results[0].device.split("/")[-2] == device.id
    everything = api.get_device_event(server.enterprise, device.id, 0)
    assert everything.count >= 1


def test_device_apps_and_installs(server, fleet):
    api = esperclient.DeviceApi(server.sdk())
    device = fleet.devices["sim-3"]
    apps = api.get_device_apps(server.enterprise, device.id, limit=100)
    assert 5 <= apps.count <= 40
    first = apps.results[0]
    assert first.device == device.id and first.package_name
    one = api.get_device_app_by_id(first.id, server.enterprise, device.id)
    assert one.package_name == first.package_name
    by_package = api.get_device_apps(server.enterprise, device.id, package_name=first.package_name)
    assert by_package.count == 1
    # Simulated devices do not change their packages, so no installs are observed yet.
    installs = api.get_app_installs(server.enterprise, device.id)
    assert installs.count == 0 and installs.results == []
    with pytest.raises(ApiException) as missing:
        api.get_device_app_by_id("00000000-0000-0000-0000-000000000000", server.enterprise, device.id)
    assert missing.value.status == 404
