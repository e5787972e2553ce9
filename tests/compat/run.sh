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
bash "$root/scripts/python-venv" "$venv" "$here/requirements.txt"

(cd "$root" && cargo build --locked -p steward -p steward-agent </dev/null)
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export STEWARD_BIN="$target/debug/steward"
export STEWARD_AGENT_BIN="$target/debug/steward-agent"
export STEWARD_COMPAT_VENV="$venv"

cd "$here"
exec "$venv/bin/python" -m pytest -q -rfEsxX -p no:cacheprovider "$@" </dev/null
