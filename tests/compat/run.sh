#!/usr/bin/env bash
# Runs the compatibility suite: the official esperclient SDK and espercli CLI against real
# Steward servers (SQLite and PostgreSQL). Installs the pinned clients into .venv-compat in the
# checkout, builds the binaries, and passes its arguments to pytest; exits with pytest's code.
#
#   bash tests/compat/run.sh [pytest args]      e.g. -k groups, -x, -k 'sqlite and cli'
#
# PostgreSQL: STEWARD_TEST_PG_URL names an admin connection (default postgres@127.0.0.1:5432).
# Without a server the PostgreSQL half is skipped with a loud message, except when CI is set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-compat"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"

# A venv left half-made, or made by a Python that is gone, is made again.
if [ -e "$venv" ] && ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt" </dev/null
  echo "$want" > "$stamp"
fi

(cd "$root" && cargo build --locked -p steward -p steward-agent </dev/null)
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export STEWARD_BIN="$target/debug/steward"
export STEWARD_AGENT_BIN="$target/debug/steward-agent"
export STEWARD_COMPAT_VENV="$venv"

cd "$here"
exec "$venv/bin/python" -m pytest -q -rfEsxX -p no:cacheprovider "$@" </dev/null
