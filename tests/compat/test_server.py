"""The `steward` binary's contract as the suite relies on it: graceful shutdown on SIGTERM and
SIGINT, data kept across a restart, `migrate` on an up-to-date database, plain HTTP without TLS
flags, absolute URLs from --public-url."""

import signal
import socket

import esperclient

from conftest import Server
from helpers import fails, unique


def refused(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_shutdown_and_restart_keep_everything(server, tmp_path):
    own = Server(server.backend, server.tls, tmp_path)
    try:
        tenant = own.new_tenant()
        groups = esperclient.DeviceGroupApi(tenant.sdk())
        root = groups.create_group(tenant.id, esperclient.DeviceGroupUpdate(name=unique("Survivor")))
        child = groups.create_group(tenant.id, esperclient.DeviceGroupUpdate(name="Child", parent=root.id))
        esperclient.EnterpriseApi(tenant.sdk()).partial_update_enterprise(
            tenant.id, esperclient.EnterpriseUpdateV1(location="Kept"))
        revoked = own.admin("apikey", "create", "--enterprise", tenant.id, "--name", "revoked")
        own.admin("apikey", "revoke", esperclient.TokenApi(tenant.sdk(revoked)).get_token_info().developer_app)

        assert own.halt(signal.SIGTERM, timeout=20) == 0, own.log_text()
        assert refused(own.port)
        own.admin_output("migrate", allow_empty=True)  # exits 0 on an up-to-date database

        own.serve()
        groups = esperclient.DeviceGroupApi(tenant.sdk())
        assert groups.get_group_by_id(child.id, tenant.id).to_dict() == child.to_dict()
        assert groups.get_group_by_id(root.id, tenant.id).children_count == 1
        assert esperclient.EnterpriseApi(tenant.sdk()).get_enterprise(tenant.id).location == "Kept"
        fails(401, esperclient.TokenApi(tenant.sdk(revoked)).get_token_info)

        assert own.halt(signal.SIGINT, timeout=20) == 0, own.log_text()
        assert refused(own.port)
    finally:
        own.stop()


def test_plain_http_and_links_from_the_public_url(server, tmp_path):
    public = "https://fleet.compat.test"
    own = Server(server.backend, server.tls, tmp_path, https=False, public_url=public)
    try:
        assert own.base.startswith("http://")
        tenant = own.new_tenant()
        assert esperclient.TokenApi(tenant.sdk()).get_token_info().enterprise == tenant.id
        api = esperclient.DeviceGroupApi(tenant.sdk())
        root = api.create_group(tenant.id, esperclient.DeviceGroupUpdate(name="Root"))
        child = api.create_group(tenant.id, esperclient.DeviceGroupUpdate(name="Child", parent=root.id))
        api.create_group(tenant.id, esperclient.DeviceGroupUpdate(name="Root 2"))
        # Links name the public URL, not the address the request came to.
        assert root.enterprise == f"{public}/api/enterprise/{tenant.id}/"
        assert child.parent == f"{public}/api/enterprise/{tenant.id}/devicegroup/{root.id}/"
        page = api.get_all_groups(tenant.id, name="Root", limit=1)
        assert page.next.startswith(f"{public}/api/enterprise/{tenant.id}/devicegroup/?")
    finally:
        own.stop()
