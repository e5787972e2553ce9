"""Fixtures: a real Steward server per backend (SQLite, PostgreSQL) serving HTTPS with a test
CA, an enterprise with an API key, the esperclient SDK configured for it, and a runner for the
unchanged espercli."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import esperclient
import pytest
import trustme

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STEWARD = os.environ.get("STEWARD_BIN", str(ROOT / "target" / "debug" / "steward"))
AGENT = os.environ.get("STEWARD_AGENT_BIN", str(ROOT / "target" / "debug" / "steward-agent"))
VENV = Path(os.environ.get("STEWARD_COMPAT_VENV", str(ROOT / ".venv-compat")))
PG_ADMIN = os.environ.get("STEWARD_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_line(args, **kwargs):
    out = subprocess.run(args, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("*.esper.cloud", "localhost", "127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain = folder / "cert.pem"
    with open(chain, "wb") as f:
        for blob in cert.cert_chain_pems:
            f.write(blob.bytes())
    key = folder / "key.pem"
    cert.private_key_pem.write_to_path(str(key))
    return {"ca": str(ca_file), "cert": str(chain), "key": str(key)}


class PgDatabase:
    """A fresh PostgreSQL database for one server, dropped afterwards."""

    def __init__(self):
        import psycopg

        self.name = "steward_compat_" + uuid.uuid4().hex[:12]
        try:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        except psycopg.OperationalError as e:
            message = f"PostgreSQL at {PG_ADMIN} does not answer: {e}"
            if os.environ.get("CI"):
                pytest.fail(message + " (CI must run the PostgreSQL half)")
            print("\n!!!!!!!! SKIPPING PostgreSQL compatibility tests: " + message, file=sys.stderr)
            pytest.skip(message)
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def drop(self):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    """`steward serve` over HTTPS on a free port, with two enterprises and a key for each."""

    def __init__(self, backend, tls, folder):
        self.backend = backend
        self.folder = folder
        self.tls = tls
        self.pg = PgDatabase() if backend == "postgres" else None
        self.database_url = self.pg.url if self.pg else f"sqlite://{folder}/steward.db"
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.enterprise = self.admin("enterprise", "create", "--name", "Compat Retail")
        self.key = self.admin("apikey", "create", "--enterprise", self.enterprise, "--name", "compat")
        self.other_enterprise = self.admin("enterprise", "create", "--name", "Someone Else")
        self.other_key = self.admin("apikey", "create", "--enterprise", self.other_enterprise)
        self.log = open(folder / "server.log", "w")
        self.process = subprocess.Popen(
            [
                STEWARD, "--database-url", self.database_url, "--data-dir", str(folder),
                "serve", "--listen", f"127.0.0.1:{self.port}", "--public-url", self.base,
                "--tls-cert", tls["cert"], "--tls-key", tls["key"],
                "--heartbeat-interval", "2", "--telemetry-interval", "2", "--device-inactive-after", "6",
            ],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            self.wait_healthy()
        except Exception:
            self.stop()
            raise

    def admin(self, *args):
        return last_line([STEWARD, "--database-url", self.database_url, *args])

    def wait_healthy(self):
        import urllib.request
        import ssl

        context = ssl.create_default_context(cafile=self.tls["ca"])
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("steward serve exited:\n" + (self.folder / "server.log").read_text())
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", context=context, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("steward serve did not become healthy")

    def sdk(self, key=None):
        cfg = esperclient.Configuration()
        cfg.host = f"{self.base}/api"
        cfg.ssl_ca_cert = self.tls["ca"]
        cfg.api_key["Authorization"] = key or self.key
        cfg.api_key_prefix["Authorization"] = "Bearer"
        return esperclient.ApiClient(cfg)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        if self.pg:
            self.pg.drop()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request, tls, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"steward-{request.param}")
    srv = Server(request.param, tls, folder)
    yield srv
    srv.stop()
    if request.session.testsfailed:
        print(f"\n--- server log ({request.param}) ---\n" + (folder / "server.log").read_text()[-5000:])


class Cli:
    """Runs the unchanged espercli against a server, through sitecustomize's name mapping."""

    def __init__(self, server, folder):
        self.server = server
        self.env = dict(os.environ)
        self.env.update(
            {
                "PYTHONPATH": str(HERE / "sitecustomize"),
                "ESPER_CREDS_FILE": str(folder / "creds.json"),
                "REQUESTS_CA_BUNDLE": server.tls["ca"],
                "STEWARD_COMPAT_PORT": str(server.port),
                "STEWARD_COMPAT_CA": server.tls["ca"],
                "COLUMNS": "250",
                "NO_COLOR": "1",
            }
        )
        self.exe = str(VENV / "bin" / "espercli")

    def run(self, *args, stdin="", check=True):
        result = subprocess.run(
            [self.exe, "--no-color", *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"espercli {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def json(self, *args):
        out = self.run(*args, "--json").stdout
        start = min(i for i in (out.find("{"), out.find("[")) if i >= 0)
        return json.loads(out[start:])


@pytest.fixture(scope="session")
def cli(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"cli-{server.backend}")
    runner = Cli(server, folder)
    out = runner.run("configure", "--set", stdin=f"compat\n{server.key}\n")
    assert server.enterprise in (folder / "creds.json").read_text(), out.stdout
    return runner


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Fleet:
    """Simulated devices (`steward-agent simulate`) enrolled in the server's enterprise and
    connected over the real agent protocol."""

    SIZE = 5

    def __init__(self, server, folder):
        token = server.admin("enroll-token", "create", "--enterprise", server.enterprise, "--name", "compat-fleet")
        self.log = open(folder / "agents.log", "w")
        self.process = subprocess.Popen(
            [
                AGENT, "simulate", "--server", server.base, "--token", token,
                "--devices", str(self.SIZE), "--state-file", str(folder / "simulated.json"),
                "--ca-cert", server.tls["ca"], "--reconnect-spread", "1",
            ],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            self._wait_connected(server, folder)
        except Exception:
            self.stop()
            raise

    def _wait_connected(self, server, folder):
        api = esperclient.DeviceApi(server.sdk())
        deadline = time.time() + 60
        while time.time() < deadline:
            page = api.get_all_devices(server.enterprise, state=1, limit=50)
            ready = [d for d in page.results if d.hardware_info.get("manufacturer")]
            if len(ready) >= self.SIZE and all(self._has_status(api, server, d.id) for d in ready):
                self.devices = {d.device_name: d for d in ready}
                return
            time.sleep(0.5)
        raise RuntimeError("simulated devices did not come up:\n" + (folder / "agents.log").read_text())

    @staticmethod
    def _has_status(api, server, device_id):
        return api.get_device_event(server.enterprise, device_id, 1).count == 1

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="session")
def fleet(server, tmp_path_factory):
    f = Fleet(server, tmp_path_factory.mktemp(f"fleet-{server.backend}"))
    yield f
    f.stop()
