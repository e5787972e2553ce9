"""Every endpoint of the public spec answers as `steward compat-table` says: the ones marked 501
answer 501 Not Implemented in Esper's error envelope (after authentication), the implemented
ones answer something else. Checked over HTTPS on each backend."""

import re
import uuid

from helpers import raw

ROW = re.compile(r"^\| [^|]+ \| (?P<method>[A-Z]+) \| `(?P<path>[^`]+)` \| [^|]+ \| (?P<status>[^|]+?) \|$")


def endpoints(server):
    rows = [ROW.match(line) for line in server.admin_output("compat-table").splitlines()]
    found = [(m["method"], m["path"], m["status"]) for m in rows if m]
    assert len(found) >= 60, "compat-table lists fewer endpoints than the public spec has"
    return found


def concrete(path, enterprise):
    path = path.replace("{enterprise_id}", enterprise)
    return "/api" + re.sub(r"\{[a-z_]+\}", lambda _: str(uuid.uuid4()), path)


def test_endpoints_answer_as_the_compatibility_table_says(server, tenant):
    table = endpoints(server)
    wrong = []
    for method, path, status in table:
        url = concrete(path, tenant.id)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        got, envelope = raw(server, method, url, tenant.key, body)
        if status == "501":
            ok = got == 501 and isinstance(envelope, dict) and envelope.get("status") == 501 and "message" in envelope
            unauthenticated, _ = raw(server, method, url, "stw_wrong", body)
            ok = ok and unauthenticated == 401
        else:
            ok = got != 501
        if not ok:
            wrong.append(f"{method} {path} (table: {status}): HTTP {got} {envelope}")
    assert not wrong, "\n".join(wrong)
    assert any(status == "501" for _, _, status in table)
