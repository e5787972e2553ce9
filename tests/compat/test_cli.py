"""espercli 0.0.17, unchanged, against a Steward server: configure, enterprise, token and the group
commands (catalog §6). The CLI runs as a subprocess; it reaches the server through
sitecustomize's *.esper.cloud mapping. Results are read back through the SDK.

Each test configures the CLI for an enterprise of its own (fixture tenant_cli)."""

import json

import esperclient
from esperclient.rest import ApiException

from conftest import Cli
from helpers import is_uuid, unique


def stored_config(runner):
    """The `config` document that `espercli configure` keeps in its TinyDB file."""
    try:
        with open(runner.env["ESPER_CREDS_FILE"]) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    docs = json.loads(text).get("_default", {}) if text.strip() else {}
    configs = [d["config"] for d in docs.values() if "config" in d]
    assert len(configs) <= 1, docs
    return configs[0] if configs else None


def groups(tenant):
    return esperclient.DeviceGroupApi(tenant.sdk())


def group_named(tenant, name):
    page = groups(tenant).get_all_groups(tenant.id, name=name, limit=50)
    matches = [g for g in page.results if g.name == name]
    assert len(matches) == 1, names_of(page)
    return matches[0]


def names_of(page):
    return [g.name for g in page.results]


def fails(runner, *args):
    """Runs a command that must fail with exit code 1; returns stdout + stderr."""
    result = runner.run(*args, check=False)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    return result.stdout + result.stderr


def test_configure_stores_the_enterprise_of_the_key(server, tenant, tmp_path):
    runner = Cli(server, tmp_path)
    out = runner.run("configure", "--set", stdin=f"compat\n{tenant.key}\n").stdout
    assert "compat" in out
    assert stored_config(runner) == {"environment": "compat", "api_key": tenant.key, "enterprise_id": tenant.id}
    assert runner.json("configure", "--list") == {"environment": "compat", "api_key": tenant.key}


def test_configure_refuses_an_invalid_key(server, tmp_path):
    runner = Cli(server, tmp_path)
    result = runner.run("configure", "--set", stdin="compat\nstw_not-a-key\n", check=False)
    assert result.returncode == 1
    assert "invalid API Key" in result.stdout + result.stderr
    assert stored_config(runner) is None


def test_enterprise_show(tenant_cli, tenant):
    shown = tenant_cli.json("enterprise", "show")
    assert shown == {
        "Enterprise Id": tenant.id, "Name": tenant.name, "Registered Name": None, "Address": None,
        "Location": None, "Zip Code": None, "Email": None, "Contact Person": None, "Contact Number": None,
    }
    table = tenant_cli.run("enterprise", "show").stdout
    assert tenant.id in table and tenant.name in table


def test_enterprise_update(tenant_cli, tenant):
    name = tenant.name + " GmbH"
    shown = tenant_cli.json(
        "enterprise", "update", "--name", name, "--regname", "Compat Retail GmbH", "--address", "Alexanderplatz 1",
        "--location", "Berlin", "--zipcode", "10178", "--email", "ops@compat.test", "--person", "Ada",
        "--number", "+49301234567",
    )
    expected = {
        "name": name, "registered_name": "Compat Retail GmbH", "registered_address": "Alexanderplatz 1",
        "location": "Berlin", "zipcode": "10178", "contact_email": "ops@compat.test", "contact_person": "Ada",
        "contact_number": "+49301234567",
    }
    assert shown["Name"] == name and shown["Zip Code"] == "10178" and shown["Address"] == "Alexanderplatz 1"
    e = esperclient.EnterpriseApi(tenant.sdk()).get_enterprise(tenant.id)
    assert {k: getattr(e, k) for k in expected} == expected

    # Only the given fields change.
    tenant_cli.run("enterprise", "update", "--location", "Potsdam")
    e = esperclient.EnterpriseApi(tenant.sdk()).get_enterprise(tenant.id)
    assert (e.location, e.zipcode, e.name) == ("Potsdam", "10178", name)

    # A value the server refuses: exit 1 with the server's message, nothing changed.
    out = fails(tenant_cli, "enterprise", "update", "--zipcode", "123456789", "--location", "Nowhere")
    assert "ERROR" in out and "zipcode" in out
    e = esperclient.EnterpriseApi(tenant.sdk()).get_enterprise(tenant.id)
    assert (e.location, e.zipcode) == ("Potsdam", "10178")


def test_token_show_and_renew(tenant_cli, tenant):
    info = esperclient.TokenApi(tenant.sdk()).get_token_info()
    shown = tenant_cli.json("token", "show")
    assert shown["Enterprise"] == tenant.id and shown["Developer App"] == info.developer_app
    assert tenant.key not in json.dumps(shown)

    renewed = tenant_cli.json("token", "renew", "--developerappid", info.developer_app, "--token", tenant.key)
    assert renewed["Enterprise Id"] == tenant.id
    assert is_uuid(renewed["Developer App"])
    new_key = renewed["Token"]
    assert new_key and new_key != tenant.key
    new_info = esperclient.TokenApi(tenant.sdk(new_key)).get_token_info()
    assert new_info.enterprise == tenant.id and new_info.developer_app == renewed["Developer App"]

    out = fails(tenant_cli, "token", "renew", "--developerappid", info.developer_app, "--token", "stw_not-a-key")
    assert "ERROR" in out and "access_token" in out


def test_group_create_show_list(tenant_cli, tenant):
    parent_name = unique("CliParent")
    parent = tenant_cli.json("group", "create", "--name", parent_name)
    assert is_uuid(parent["id"])
    assert parent == {"id": parent["id"], "name": parent_name, "parent": None, "device_count": 0,
                      "path": parent_name, "children_count": 0}
    child_name = parent_name + "-child"
    child = tenant_cli.json("group", "create", "--name", child_name, "--parentid", parent["id"])
    assert child["parent"] == parent["id"] and child["path"] == f"{parent_name}/{child_name}"

    sdk_child = groups(tenant).get_group_by_id(child["id"], tenant.id)
    assert sdk_child.name == child_name and sdk_child.parent.split("/")[-2] == parent["id"]

    shown = tenant_cli.json("group", "show", parent_name)
    assert shown["id"] == parent["id"] and shown["children_count"] == 1
    by_id = tenant_cli.json("group", "show", child_name, "--groupid", child["id"])
    assert by_id["path"] == child["path"]
    assert "Group does not exist" in fails(tenant_cli, "group", "show", unique("Missing"))

    out = tenant_cli.run("group", "list", "--name", parent_name, "--json").stdout
    assert "Number of Groups: 2" in out
    listed = tenant_cli.json("group", "list", "--name", parent_name)
    assert [g["ID"] for g in listed] == [parent["id"], child["id"]]  # the exact match first
    assert listed[1]["PARENT ID"] == parent["id"] and listed[0]["PARENT ID"] is None
    paged = tenant_cli.json("group", "list", "--name", parent_name, "--limit", "1", "--offset", "1")
    assert [g["ID"] for g in paged] == [child["id"]]
    everything = tenant_cli.json("group", "list", "--all")
    assert sorted(g["ID"] for g in everything) == sorted([parent["id"], child["id"]])
    table = tenant_cli.run("group", "list").stdout
    assert parent_name in table and child_name in table


def test_group_lookup_by_name_needs_the_exact_match_first(tenant_cli, tenant):
    exact = unique("Lobby")
    for decoy in (f"Alpha {exact}", f"{exact} Annex"):
        tenant_cli.run("group", "create", "--name", decoy)
    wanted = tenant_cli.json("group", "create", "--name", exact)
    # `group show NAME` asks for ?name=NAME&limit=1 and accepts only an exact first result.
    assert tenant_cli.json("group", "show", exact)["id"] == wanted["id"]


def test_group_update_renames(tenant_cli, tenant):
    old = unique("CliOld")
    created = tenant_cli.json("group", "create", "--name", old)
    new = old + "-renamed"
    updated = tenant_cli.json("group", "update", old, "--name", new)
    assert updated["id"] == created["id"] and updated["name"] == new and updated["path"] == new
    assert groups(tenant).get_group_by_id(created["id"], tenant.id).name == new
    assert "Group does not exist" in fails(tenant_cli, "group", "update", old, "--name", "whatever")


def test_group_move(tenant_cli, tenant):
    home = tenant_cli.json("group", "create", "--name", unique("Home"))
    target_name = unique("Target")
    tenant_cli.run("group", "create", "--name", f"Alpha {target_name}")  # a decoy for the name lookup
    target = tenant_cli.json("group", "create", "--name", target_name)
    mover_name = unique("Mover")
    mover = tenant_cli.json("group", "create", "--name", mover_name, "--parentid", home["id"])

    moved = tenant_cli.json("group", "move", "--group", mover_name, "--parentid", target["id"])
    assert moved["parent"] == target["id"] and moved["path"] == f"{target_name}/{mover_name}"
    g = groups(tenant).get_group_by_id(mover["id"], tenant.id)
    assert g.parent.split("/")[-2] == target["id"] and g.path == f"{target_name}/{mover_name}"
    assert groups(tenant).get_group_by_id(home["id"], tenant.id).children_count == 0

    # By parent name (the CLI takes the first result of ?name=...&limit=1).
    back = tenant_cli.json("group", "move", "--group", mover_name, "--parent", home["name"])
    assert back["parent"] == home["id"]
    assert groups(tenant).get_group_by_id(mover["id"], tenant.id).path == f"{home['name']}/{mover_name}"

    # Below its own child: the server's 400 becomes "ERROR: <message>" and exit 1.
    out = fails(tenant_cli, "group", "move", "--group", home["name"], "--parentid", mover["id"])
    assert "ERROR" in out
    assert groups(tenant).get_group_by_id(home["id"], tenant.id).parent is None


def test_group_add_and_remove_unknown_devices(tenant_cli, tenant):
    name = unique("CliTills")
    tenant_cli.run("group", "create", "--name", name)
    ghost = unique("ghost")
    for command in ("add", "remove"):
        out = fails(tenant_cli, "group", command, "--group", name, "--devices", ghost)
        assert f"Device does not exist with name {ghost}" in out
    assert group_named(tenant, name).device_count == 0
    devices = tenant_cli.json("group", "devices", "--group", name)
    assert devices == []


def test_group_delete(tenant_cli, tenant):
    parent_name = unique("CliDoomed")
    parent = tenant_cli.json("group", "create", "--name", parent_name)
    child_name = unique("CliChild")
    child = tenant_cli.json("group", "create", "--name", child_name, "--parentid", parent["id"])

    out = fails(tenant_cli, "group", "delete", parent_name, "--yes")
    assert "ERROR" in out
    assert groups(tenant).get_group_by_id(parent["id"], tenant.id).children_count == 1

    out = tenant_cli.run("group", "delete", child_name, "--yes").stdout
    assert f"Group with name {child_name} deleted successfully" in out
    try:
        groups(tenant).get_group_by_id(child["id"], tenant.id)
        raise AssertionError("the deleted group is still there")
    except ApiException as e:
        assert e.status == 404
    tenant_cli.run("group", "delete", parent_name, "--yes")
    assert groups(tenant).get_all_groups(tenant.id).count == 0
    assert "Group does not exist" in fails(tenant_cli, "group", "delete", parent_name, "--yes")
