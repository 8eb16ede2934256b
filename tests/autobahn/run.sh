#!/usr/bin/env bash
# Runs the Autobahn|Testsuite against hookbox's echo endpoint and compares the verdicts with
# tests/autobahn/expected.json. Not part of CI (it needs Python 2 unpacked from Debian
# bullseye, about a minute to set up); run it after touching src/ws or src/server:
#
#   tests/autobahn/run.sh            # all 517 cases, about 30 s once set up
#   tests/autobahn/run.sh '1.*,7.*'  # some of them (compares those only)
set -euo pipefail
cd "$(dirname "$0")/../.."
cases=${1:-*}
shared=${AUTOBAHN_SCRIPT:-../shared/tools/autobahn.sh}
home=${AUTOBAHN_HOME:-/tmp/autobahn-py2}
out=$(mktemp -d)

# The shared script's pip step builds some packages from source, which needs setuptools and
# the Python headers on the include path; install them first so its setup succeeds.
if [[ ! -d $home/site/autobahntestsuite ]]; then
  rm -f "$home/ready"
  AUTOBAHN_HOME=$home bash "$shared" ws://127.0.0.1:1/none 1.1.1 "$out" >/dev/null 2>&1 || true
  root=$home/root site=$home/site
  export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu PYTHONHOME=$root/usr PYTHONPATH=$site
  export C_INCLUDE_PATH=$root/usr/include:$root/usr/include/python2.7:$root/usr/include/x86_64-linux-gnu/python2.7
  py="$root/usr/bin/python2.7"
  "$py" "$home"/wheels/pip-*.whl/pip install -q --no-warn-script-location --target "$site" \
    --no-index --find-links "$home/wheels" pip setuptools wheel 2>&1 | grep -v DEPRECATION || true
  "$py" -m pip install -q --no-warn-script-location --no-build-isolation --target "$site" \
    --find-links "$home/wheels" autobahntestsuite==25.10.1 2>&1 | grep -v -e DEPRECATION -e 'already exists' || true
  unset LD_LIBRARY_PATH PYTHONHOME PYTHONPATH C_INCLUDE_PATH
  touch "$home/ready"
fi

cargo build --release -q
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/hookbox -p "$port" --echo-path /echo --max-ws-message 16777216 \
  --max-outbound 67108864 -L warn 2>"$out/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
AUTOBAHN_HOME=$home bash "$shared" "ws://127.0.0.1:$port/echo" "$cases" "$out"
python3 - "$out/index.json" tests/autobahn/expected.json <<'PY'
import json, sys
got = next(iter(json.load(open(sys.argv[1])).values()))
want = json.load(open(sys.argv[2]))["cases (behavior, behaviorClose)"]
diff = [(k, want.get(k), [v["behavior"], v["behaviorClose"]]) for k, v in got.items()
        if want.get(k) != [v["behavior"], v["behaviorClose"]]]
for k, w, g in diff:
    print("case %s: expected %s, got %s" % (k, w, g))
print("autobahn: %d cases compared, %d differ from tests/autobahn/expected.json" % (len(got), len(diff)))
sys.exit(1 if diff else 0)
PY
