"""Fixtures: a real Steward server per backend (SQLite, PostgreSQL) serving HTTPS with a test
CA, an enterprise with an API key, the esperclient SDK configured for it, and a runner for the
unchanged espercli."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import esperclient
import pytest
import trustme

from helpers import unique

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


def output(args, allow_empty=False):
    out = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    if out.returncode != 0 or not (allow_empty or out.stdout.strip()):
        raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


# For the closing summary (see pytest_terminal_summary): why the PostgreSQL half did not run,
# and where the session servers' logs are.
PG_SKIPPED = []
SERVER_LOGS = []


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
            PG_SKIPPED.append(message)
            pytest.skip(message)
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def drop(self):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    """`steward serve` over HTTPS on a free port, with two enterprises and a key for each (made
    with the admin commands before the server starts). Its output goes to server.log in its
    folder; a failed test's report shows what it logged meanwhile."""

    def __init__(self, backend, tls, folder, https=True, public_url=None):
        self.backend = backend
        self.folder = folder
        self.tls = tls
        self.https = https
        self.public_url = public_url
        self.pg = PgDatabase() if backend == "postgres" else None
        self.process = None
        self.log = None
        try:
            self._start(folder, tls)
        except BaseException:
            # Nothing is left behind when the server cannot start: no process, no database.
            self.stop()
            raise

    def _start(self, folder, tls):
        self.database_url = self.pg.url if self.pg else f"sqlite://{folder}/steward.db?mode=rwc"
        self.port = free_port()
        self.base = f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"
        self.public_url = self.public_url or self.base
        self.enterprise = self.admin("enterprise", "create", "--name", "Compat Retail")
        self.key = self.admin("apikey", "create", "--enterprise", self.enterprise, "--name", "compat")
        self.other_enterprise = self.admin("enterprise", "create", "--name", "Someone Else")
        self.other_key = self.admin("apikey", "create", "--enterprise", self.other_enterprise)
        self.log = open(folder / "server.log", "a")
        self.serve()

    def serve(self):
        """Starts `steward serve` (again) on the server's database and port; waits until healthy."""
        tls = ["--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]] if self.https else []
        self.process = subprocess.Popen(
            [
                STEWARD, "--database-url", self.database_url, "--data-dir", str(self.folder),
                "serve", "--listen", f"127.0.0.1:{self.port}", "--public-url", self.public_url, *tls,
                "--heartbeat-interval", "2", "--telemetry-interval", "2", "--device-inactive-after", "6",
            ],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self.wait_healthy()

    def halt(self, sig=signal.SIGTERM, timeout=30):
        """Stops the serve process with `sig`; returns its exit code, or None when it had to be
        killed after `timeout` seconds."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return None

    def admin(self, *args):
        """Runs `steward ARGS` on the server's database; returns the last line it printed."""
        return self.admin_output(*args).strip().splitlines()[-1]

    def admin_output(self, *args, allow_empty=False):
        return output([STEWARD, "--database-url", self.database_url, "--data-dir", str(self.folder), *args], allow_empty)

    def new_tenant(self, name=None):
        """A new enterprise with one API key, made by the admin commands on the running server's
        database, so that a test owns everything it counts and changes."""
        return Tenant(self, name or unique("Tenant"))

    def log_text(self):
        return (self.folder / "server.log").read_text(errors="replace")

    def wait_healthy(self):
        import urllib.request
        import ssl

        context = ssl.create_default_context(cafile=self.tls["ca"])
        deadline = time.time() + 30
        last_error = None
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("steward serve exited:\n" + self.log_text())
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", context=context, timeout=2) as r:
                    if r.status == 200:
                        return
                    last_error = f"HTTP {r.status}"
            except OSError as e:
                last_error = e
            time.sleep(0.1)
        raise RuntimeError(f"steward serve did not become healthy in 30 s ({last_error}):\n" + self.log_text())

    def sdk(self, key=None):
        cfg = esperclient.Configuration()
        cfg.host = f"{self.base}/api"
        cfg.ssl_ca_cert = self.tls["ca"]
        cfg.api_key["Authorization"] = key or self.key
        cfg.api_key_prefix["Authorization"] = "Bearer"
        return esperclient.ApiClient(cfg)

    def stop(self):
        self.halt()
        if self.log is not None:
            self.log.close()
        if self.pg:
            self.pg.drop()


class Tenant:
    """An enterprise of its own with one API key (see Server.new_tenant)."""

    def __init__(self, server, name):
        self.server = server
        self.name = name
        self.key_name = f"{name} key"
        self.id = server.admin("enterprise", "create", "--name", name)
        self.key = server.admin("apikey", "create", "--enterprise", self.id, "--name", self.key_name)

    def sdk(self, key=None):
        return self.server.sdk(key or self.key)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request, tls, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"steward-{request.param}")
    srv = Server(request.param, tls, folder)
    SERVER_LOGS.append(folder / "server.log")
    yield srv
    srv.stop()


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

    def preconfigure(self, key, enterprise, environment="compat"):
        config = {"environment": environment, "api_key": key, "enterprise_id": enterprise}
        with open(self.env["ESPER_CREDS_FILE"], "w") as f:
            json.dump({"_default": {"1": {"config": config}}}, f)

    def json(self, *args):
        out = self.run(*args, "--json").stdout
        start = min(i for i in (out.find("{"), out.find("[")) if i >= 0)
        return json.loads(out[start:])


@pytest.fixture
def tenant(server):
    """A fresh enterprise and key for one test."""
    return server.new_tenant()


@pytest.fixture
def other_tenant(server):
    """A second fresh enterprise, for checks across enterprises."""
    return server.new_tenant(unique("Elsewhere"))


@pytest.fixture
def tenant_cli(server, tenant, tmp_path):
    """espercli configured for the test's own enterprise (its credentials file written as
    `espercli configure` writes it; test_cli.py runs `configure` itself)."""
    runner = Cli(server, tmp_path)
    runner.preconfigure(tenant.key, tenant.id)
    return runner


@pytest.fixture(scope="session")
def cli(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"cli-{server.backend}")
    runner = Cli(server, folder)
    out = runner.run("configure", "--set", stdin=f"compat\n{server.key}\n")
    assert server.enterprise in (folder / "creds.json").read_text(), out.stdout
    return runner


class Fleet:
    """Simulated devices (`steward-agent simulate`) enrolled in the server's enterprise (or a
    tenant's) and connected over the real agent protocol."""

    SIZE = 5

    def __init__(self, server, folder, tenant=None, size=SIZE):
        self.size = size
        self.enterprise = tenant.id if tenant else server.enterprise
        self.sdk = tenant.sdk() if tenant else server.sdk()
        token = server.admin("enroll-token", "create", "--enterprise", self.enterprise, "--name", "compat-fleet")
        self.log = open(folder / "agents.log", "w")
        self.process = subprocess.Popen(
            [
                AGENT, "simulate", "--server", server.base, "--token", token,
                "--devices", str(size), "--state-file", str(folder / "simulated.json"),
                "--ca-cert", server.tls["ca"], "--reconnect-spread", "1",
            ],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            self._wait_connected(folder)
        except Exception:
            self.stop()
            raise

    def _wait_connected(self, folder):
        api = esperclient.DeviceApi(self.sdk)
        deadline = time.time() + 60
        while time.time() < deadline:
            page = api.get_all_devices(self.enterprise, state=1, limit=50)
            ready = [d for d in page.results if d.hardware_info.get("manufacturer")]
            if len(ready) >= self.size and all(self._has_status(api, d.id) for d in ready):
                self.devices = {d.device_name: d for d in ready}
                return
            time.sleep(0.5)
        raise RuntimeError("simulated devices did not come up:\n" + (folder / "agents.log").read_text())

    def _has_status(self, api, device_id):
        return api.get_device_event(self.enterprise, device_id, 1).count == 1

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


@pytest.fixture(scope="module")
def own_fleet(server, tmp_path_factory):
    """Two simulated devices in an enterprise of their own, for a module whose commands change
    devices (installs): the shared fleet stays as the other tests expect it."""
    tenant = server.new_tenant(unique("Own fleet"))
    f = Fleet(server, tmp_path_factory.mktemp(f"own-fleet-{server.backend}"), tenant=tenant, size=2)
    f.tenant = tenant
    yield f
    f.stop()


def pytest_configure(config):
    # esperclient 0.1.3 calls an urllib3 method that urllib3 1.26 marks as deprecated.
    config.addinivalue_line("filterwarnings", "ignore:HTTPResponse.getheaders:DeprecationWarning")


_LOG_OFFSET = pytest.StashKey[int]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach what the test's server logged while the test ran to the report of a failed test."""
    outcome = yield
    report = outcome.get_result()
    server = item.funcargs.get("server") if hasattr(item, "funcargs") else None
    if not isinstance(server, Server):
        return
    log = server.folder / "server.log"
    if report.when == "setup":
        item.stash[_LOG_OFFSET] = log.stat().st_size if log.exists() else 0
    elif report.failed and log.exists():
        with open(log, "rb") as f:
            f.seek(item.stash.get(_LOG_OFFSET, 0))
            text = f.read().decode(errors="replace")
        lines = text.splitlines()[-200:]
        report.sections.append((f"steward serve log ({server.backend}) during the test", "\n".join(lines) or "(nothing)"))


def pytest_terminal_summary(terminalreporter):
    if terminalreporter.stats.get("failed") or terminalreporter.stats.get("error"):
        for log in SERVER_LOGS:
            terminalreporter.write_line(f"steward serve log: {log}")
    for message in PG_SKIPPED:
        terminalreporter.write_sep("!", "PostgreSQL half of the compatibility suite SKIPPED", red=True, bold=True)
        terminalreporter.write_line(message)
        terminalreporter.write_line("Start PostgreSQL on 127.0.0.1:5432 (user postgres, trust) or set STEWARD_TEST_PG_URL.")
