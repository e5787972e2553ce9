"""Makes espercli reach a local test server without changing its code.

espercli always calls https://<environment>-api.esper.cloud/api. When STEWARD_COMPAT_PORT is
set, every *.esper.cloud name resolves to 127.0.0.1 and port 443 becomes the test server's
port; when STEWARD_COMPAT_CA is set, certifi (used by esperclient) answers with the test CA.
Without those variables this module does nothing.
"""

import os
import socket

_port = os.environ.get("STEWARD_COMPAT_PORT")
_ca = os.environ.get("STEWARD_COMPAT_CA")

if _port:
    _real_getaddrinfo = socket.getaddrinfo

    def _getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".").endswith(".esper.cloud"):
            if port in (443, "443", b"443", "https", b"https", None):
                port = int(_port)
            return _real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return _real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _getaddrinfo

if _ca:
    try:
        import certifi

        certifi.where = lambda: _ca
    except ImportError:  # pragma: no cover - certifi ships with requests
        pass
