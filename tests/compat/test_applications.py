"""Applications and content with the official clients: esperclient ApplicationApi and
ContentApi, espercli `app`, `version` and `content`, with the APK fixtures the project ships."""

import hashlib
from pathlib import Path

import esperclient

from helpers import fails

PACKAGES = Path(__file__).resolve().parents[1] / "fixtures" / "packages"


def test_sdk_applications_and_versions(server, tenant):
    api = esperclient.ApplicationApi(tenant.sdk())
    first = api.upload(tenant.id, str(PACKAGES / "kiosk-1.0.apk")).application
    assert first.package_name == "com.example.kiosk" and first.application_name == "Kiosk"
    second = api.upload(tenant.id, str(PACKAGES / "kiosk-1.1.apk")).application
    assert second.id == first.id and len(second.versions) == 2
    envelope = fails(400, api.upload, tenant.id, str(PACKAGES / "kiosk-1.1.apk"))
    assert "already uploaded" in envelope["message"]
    api.upload(tenant.id, str(PACKAGES / "pos-3.2.1.apk"))

    listed = api.get_all_applications(tenant.id, is_hidden=False)
    assert listed.count == 2
    assert [a.package_name for a in api.get_all_applications(tenant.id, package_name="pos").results] == ["com.example.pos"]
    assert api.get_application(first.id, tenant.id).versions[0].version_code in ("1", "2")

    versions = api.get_app_versions(first.id, tenant.id, legacy_format=True)
    assert versions.count == 2
    newest = versions.results[0]
    assert newest.version_code == "2" and newest.build_number == "1.1"
    assert {p.permission for p in newest.permissions} >= {"android.permission.CAMERA"}
    one = api.get_app_version(newest.id, first.id, tenant.id, legacy_format=False)
    assert one.version_name == "1.1" and one.build_number is None
    assert api.get_app_versions(first.id, tenant.id, version_code="1").count == 1
    assert api.get_install_devices(newest.id, first.id, tenant.id).count == 0

    import urllib.request, ssl
    context = ssl.create_default_context(cafile=server.tls["ca"])
    with urllib.request.urlopen(one.app_file, context=context) as r:
        body = r.read()
    assert hashlib.sha256(body).hexdigest() == one.hash_string

    api.delete_app_version(newest.id, first.id, tenant.id)
    assert api.get_app_versions(first.id, tenant.id).count == 1
    api.delete_application(first.id, tenant.id)
    fails(404, api.get_application, first.id, tenant.id)


def test_sdk_content(server, tenant, tmp_path):
    api = esperclient.ContentApi(tenant.sdk())
    file = tmp_path / "welcome.txt"
    file.write_text("Welcome to the store")
    created = api.post_content(tenant.id, str(file))
    assert created.name == "welcome.txt" and created.size == "20"
    assert created.owner.username == tenant.key_name
    patched = api.patch_content(created.id, tenant.id, data=esperclient.Data(tags=["lobby"], description="Greeting"))
    assert patched.tags == ["lobby"] and patched.description == "Greeting"
    assert api.get_all_content(tenant.id, search="lobby").count == 1
    assert api.get_content(created.id, tenant.id).description == "Greeting"
    api.delete_content(created.id, tenant.id)
    fails(404, api.get_content, created.id, tenant.id)


def test_cli_app_version_content(server, tenant, tenant_cli, tmp_path):
    out = tenant_cli.run("app", "upload", str(PACKAGES / "pos-3.2.1.apk")).stdout
    assert "com.example.pos" in out, out
    api = esperclient.ApplicationApi(tenant.sdk())
    app = api.get_all_applications(tenant.id).results[0]
    version = app.versions[0]
    listed = tenant_cli.run("app", "list").stdout
    assert "com.example.pos" in listed, listed
    assert "Point of Sale" in tenant_cli.run("app", "show", app.id).stdout
    versions = tenant_cli.run("version", "list", "--app", app.id).stdout
    assert "321" in versions, versions
    assert "3.2.1" in tenant_cli.run("version", "show", version.id, "--app", app.id).stdout
    tenant_cli.run("version", "devices", version.id, "--app", app.id)
    dest = tmp_path / "pos.apk"
    tenant_cli.run("app", "download", version.id, "--app", app.id, "--dest", str(dest))
    assert dest.read_bytes() == (PACKAGES / "pos-3.2.1.apk").read_bytes()
    tenant_cli.run("version", "delete", version.id, "--app", app.id, "--yes")
    assert api.get_app_versions(app.id, tenant.id).count == 0
    tenant_cli.run("app", "delete", app.id, "--yes")
    assert api.get_all_applications(tenant.id).count == 0

    file = tmp_path / "menu.txt"
    file.write_text("Soup of the day")
    tenant_cli.run("content", "upload", str(file))
    content = esperclient.ContentApi(tenant.sdk()).get_all_content(tenant.id).results[0]
    tenant_cli.run("content", "modify", str(content.id), "--tags", "lobby screens", "--description", "Menu")
    shown = tenant_cli.run("content", "show", str(content.id)).stdout
    assert "menu.txt" in shown, shown
    assert "menu.txt" in tenant_cli.run("content", "list", "--search", "screens").stdout
    tenant_cli.run("content", "delete", str(content.id), "--yes")
    assert esperclient.ContentApi(tenant.sdk()).get_all_content(tenant.id).count == 0
