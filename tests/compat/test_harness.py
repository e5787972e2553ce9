"""The harness's own pieces: the sitecustomize that maps *.esper.cloud to the test server, and the
test CA. No Steward server is needed here."""

import json
import os
import subprocess
import sys

from conftest import HERE, VENV

PROBE = """
import json, socket, certifi
def resolve(host, port):
    try:
        return [list(a[4][:2]) for a in socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)]
    except OSError as e:
        return repr(e)
seen = {"patched": socket.getaddrinfo.__module__ != "socket", "certifi": certifi.where()}
if seen["patched"]:  # never ask a real resolver for esper.cloud
    seen.update(
        cloud=resolve("demo-api.esper.cloud", 443),
        upper=resolve("DEMO-API.ESPER.CLOUD.", "443"),
        other_port=resolve("demo-api.esper.cloud", 8443),
        local=resolve("localhost", 443),
    )
print(json.dumps(seen))
"""


def probe(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_COMPAT_") or k == "STEWARD_COMPAT_VENV"}
    env.update(PYTHONPATH=str(HERE / "sitecustomize"), **extra)
    python = VENV / "bin" / "python"
    out = subprocess.run([str(python if python.exists() else sys.executable), "-c", PROBE], env=env,
                         capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL, timeout=60)
    return json.loads(out.stdout)


def test_sitecustomize_maps_esper_cloud_to_the_test_server(tls):
    seen = probe(STEWARD_COMPAT_PORT="4433", STEWARD_COMPAT_CA=tls["ca"])
    assert seen["patched"]
    assert seen["cloud"] == [["127.0.0.1", 4433]]
    assert seen["upper"] == [["127.0.0.1", 4433]]
    assert seen["other_port"] == [["127.0.0.1", 8443]]
    assert ["127.0.0.1", 443] in seen["local"]  # other names resolve as usual
    assert seen["certifi"] == tls["ca"]


def test_sitecustomize_does_nothing_without_its_variables():
    seen = probe()
    assert not seen["patched"]
    assert seen["certifi"].endswith("cacert.pem") and os.path.exists(seen["certifi"])
