# Sourced by scripts/test, or by hand in the checkout (`source tests/s3/start.sh`): installs
# moto_server (pinned in tests/s3/requirements.txt) into .venv-s3, starts it on a free loopback
# port, makes the bucket `steward-test`, and exports STEWARD_TEST_S3_URL for the S3 blob storage
# tests. `stop_s3_server` stops it; so does the end of the shell that sourced this.
s3_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
s3_venv="$s3_root/.venv-s3"
bash "$s3_root/scripts/python-venv" "$s3_venv" "$s3_root/tests/s3/requirements.txt"
s3_port="$("$s3_venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
s3_log="$s3_venv/moto_server.log"
"$s3_venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$s3_log" 2>&1 </dev/null &
s3_pid=$!

stop_s3_server() {
  if [ -n "${s3_pid:-}" ]; then
    kill "$s3_pid" 2>/dev/null || true
    wait "$s3_pid" 2>/dev/null || true
    s3_pid=
  fi
  unset STEWARD_TEST_S3_URL
}
trap stop_s3_server EXIT

# Wait until it answers (and is still ours), then make the bucket.
if ! "$s3_venv/bin/python" - "$s3_port" "$s3_pid" <<'PY'
import os, sys, time, urllib.request
base, pid = f"http://127.0.0.1:{sys.argv[1]}", int(sys.argv[2])
for _ in range(300):
    os.kill(pid, 0)  # raises once moto_server has exited
    try:
        urllib.request.urlopen(base + "/", timeout=2)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(f"moto_server did not answer at {base}")
urllib.request.urlopen(urllib.request.Request(base + "/steward-test", method="PUT"), timeout=10)
PY
then
  echo "moto_server did not start; its log ($s3_log):" >&2
  cat "$s3_log" >&2
  stop_s3_server
  return 1 2>/dev/null || exit 1
fi
export STEWARD_TEST_S3_URL="http://127.0.0.1:$s3_port/steward-test"
echo "S3-compatible server (moto_server) at $STEWARD_TEST_S3_URL"
