"""espercli 0.0.17, unchanged: configure, enterprise show/update, and the group commands."""

import esperclient

from conftest import unique


def test_configure_stored_the_enterprise(cli, server):
    stored = open(cli.env["ESPER_CREDS_FILE"]).read()
    assert server.enterprise in stored and '"compat"' in stored
    listing = cli.run("configure", "--list").stdout
    assert "compat" in listing and server.key in listing


def test_enterprise_show_and_update(cli, server):
    shown = cli.json("enterprise", "show")
    text = str(shown)
    assert server.enterprise in text and "Compat Retail" in text
    cli.run("enterprise", "update", "--location", "Berlin", "--zipcode", "10117")
    e = esperclient.EnterpriseApi(server.sdk()).get_enterprise(server.enterprise)
    assert (e.location, e.zipcode) == ("Berlin", "10117")


def test_group_lifecycle(cli, server):
    api = esperclient.DeviceGroupApi(server.sdk())
    parent_name = unique("CliParent")
    name = unique("CliGroup")
    cli.run("group", "create", "--name", parent_name)
    parent = api.get_all_groups(server.enterprise, name=parent_name, limit=1).results[0]
    cli.run("group", "create", "--name", name)
    listed = str(cli.json("group", "list", "--name", name))
    assert name in listed
    shown = str(cli.json("group", "show", name))
    assert name in shown

    new_name = name + "-renamed"
    cli.run("group", "update", name, "--name", new_name)
    group = api.get_all_groups(server.enterprise, name=new_name, limit=1).results[0]
    assert group.name == new_name

    cli.run("group", "move", "--group", new_name, "--parentid", parent.id)
    moved = api.get_group_by_id(group.id, server.enterprise)
    assert moved.parent.split("/")[-2] == parent.id
    assert moved.path == f"{parent_name}/{new_name}"

    cli.run("group", "delete", new_name, "--yes")
    assert api.get_all_groups(server.enterprise, name=new_name).count == 0
