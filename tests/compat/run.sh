#!/usr/bin/env bash
# Runs the compatibility suite: the official esperclient SDK and espercli CLI against real
# Steward servers (SQLite and PostgreSQL). Installs the pinned clients into .venv-compat in the
# checkout, builds the binaries, and passes its arguments to pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-compat"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi

(cd "$root" && cargo build --locked -p steward -p steward-agent)
export STEWARD_BIN="$root/target/debug/steward"
export STEWARD_AGENT_BIN="$root/target/debug/steward-agent"
export STEWARD_COMPAT_VENV="$venv"

cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
