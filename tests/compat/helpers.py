"""Small helpers shared by the compatibility tests (no fixtures here: those live in conftest.py)."""

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime

import esperclient
import pytest
from esperclient.rest import ApiException


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def is_aware(value):
    return isinstance(value, datetime) and value.tzinfo is not None


def fails(status, call, *args, **kwargs):
    """Runs an SDK call that must raise ApiException with one of the given statuses (an int or a
    tuple) and an Esper error envelope whose `status` matches; returns the envelope."""
    statuses = status if isinstance(status, tuple) else (status,)
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert error.status in statuses, f"expected HTTP {statuses}, got {error.status}: {error.body}"
    try:
        body = json.loads(error.body)
    except (TypeError, ValueError):
        raise AssertionError(f"error body is not JSON: {error.body!r}")
    assert isinstance(body, dict) and {"errors", "message", "status"} <= set(body), body
    assert isinstance(body["errors"], list), body
    assert isinstance(body["message"], str) and body["message"], body
    assert body["status"] == error.status, body
    return body


def error_text(envelope):
    """The envelope's message and errors as one lower-case string, for "names the field" checks."""
    return (envelope["message"] + " " + " ".join(map(str, envelope["errors"]))).lower()


def anonymous_sdk(server):
    """An SDK client that sends no Authorization header at all."""
    cfg = esperclient.Configuration()
    cfg.host = f"{server.base}/api"
    cfg.ssl_ca_cert = server.tls["ca"]
    return esperclient.ApiClient(cfg)


def id_from_url(url):
    """espercli's own way to read an id from a related-object URL."""
    return url.split("/")[-2]


def raw(server, method, path, key, body=None):
    """A plain HTTPS request to the server (for URL forms the SDK never sends); returns
    (status, the parsed JSON body, or None when empty, or the text when not JSON)."""
    context = ssl.create_default_context(cafile=server.tls["ca"])
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.base}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    try:
        return status, (json.loads(text) if text else None)
    except ValueError:
        return status, text.decode(errors="replace")


def wait_for(fetch, done, what, timeout=15.0):
    """Calls fetch() until done(value) holds (at most `timeout` seconds); returns the value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s; last seen: {value}")
        time.sleep(0.1)
