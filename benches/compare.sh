#!/usr/bin/env bash
# Side by side on loopback: hookbox and Nchan (nginx + libnginx-mod-nchan from Debian), the
# same load tool (hookbox-bench), the same scenarios, in one run. Prints one table of
# medians over ROUNDS rounds and the hookbox/Nchan ratio of each figure.
#
#   benches/compare.sh                 # the full run (about 15 minutes on 2 cores)
#   ROUNDS=1 SUBS=2000 benches/compare.sh   # a quick look
#
# With two or more cores the servers run on core 0 and the tool on core 1 (taskset).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SUBS=${SUBS:-10000}          # idle and fan-out subscribers; spread channels
FANOUT_MESSAGES=${FANOUT_MESSAGES:-1000}
SPREAD_MESSAGES=${SPREAD_MESSAGES:-50000}
PUBLISH_MESSAGES=${PUBLISH_MESSAGES:-50000}
SIZE=${SIZE:-100}
TIMEOUT=${TIMEOUT:-300}

if ! command -v nginx >/dev/null || [[ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx libnginx-mod-nchan
fi
command -v python3 >/dev/null || { echo "compare.sh needs python3 for the table" >&2; exit 1; }
cargo build --release -q --bin hookbox --bin hookbox-bench
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)

if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  on_server=(taskset -c 0) on_tool=(taskset -c 1)
else
  on_server=() on_tool=()
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
results=$work/results.jsonl
server_pid=""
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2
  return 1
}

# Starts a fresh server; sets port, server_pid (to stop it) and rss_pid (to measure).
start_hookbox() {
  port=$(free_port)
  "${on_server[@]}" ./target/release/hookbox -p "$port" -r S -L warn 2>>"$work/hookbox.log" &
  server_pid=$! rss_pid=$!
  wait_port "$port"
}

start_nchan() {
  port=$(free_port)
  mkdir -p "$work/nginx"
  # One worker, as hookbox has one thread; nothing stored, as hookbox keeps no history by
  # default; keep-alive for the publishers, as hookbox gives them.
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $nofile;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
events { worker_connections $((nofile - 100)); multi_accept on; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  nchan_max_reserved_memory 512M;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location = /pub { nchan_publisher; nchan_channel_id \$arg_id; nchan_message_buffer_length 0; }
    location ~ ^/sub/(\w+)\$ { nchan_subscriber websocket; nchan_channel_id \$1; nchan_message_buffer_length 0; }
  }
}
CONF
  "${on_server[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>>"$work/nginx.log" &
  server_pid=$!
  wait_port "$port"
  rss_pid=$(pgrep -P "$server_pid" | head -n 1)
}

# bench TARGET SCENARIO LABEL ARGS...: one fresh server, one run, one JSON line.
bench() {
  local target=$1 scenario=$2 label=$3
  shift 3
  "start_$target"
  local out
  if out=$("${on_tool[@]}" ./target/release/hookbox-bench "$scenario" --target "$target" \
      --url "http://127.0.0.1:$port" --server-pid "$rss_pid" --timeout "$TIMEOUT" --json "$@" 2>>"$work/bench.log"); then
    echo "$out" | tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["label"]=sys.argv[1]; print(json.dumps(d))' "$label" >>"$results"
  else
    echo "  $target $label failed: $(tail -n 2 "$work/bench.log" | tr '\n' ' ')" >&2
  fi
  cleanup
  server_pid=""
  printf '  %-8s %-22s done\n' "$target" "$label" >&2
}

echo "hookbox vs Nchan: $ROUNDS rounds, $SUBS subscribers, $(nproc) cores, open files $nofile" >&2
for round in $(seq "$ROUNDS"); do
  echo "round $round" >&2
  for target in hookbox nchan; do
    bench "$target" idle idle --subscribers "$SUBS"
    bench "$target" fanout "fanout, 1 publisher" --subscribers "$SUBS" --messages "$FANOUT_MESSAGES" --size "$SIZE" --publishers 1
    bench "$target" fanout "fanout, 4 publishers" --subscribers "$SUBS" --messages "$FANOUT_MESSAGES" --size "$SIZE" --publishers 4
    bench "$target" spread spread --subscribers "$SUBS" --messages "$SPREAD_MESSAGES" --size "$SIZE" --publishers 4
    bench "$target" publish "publish, 1 connection" --messages "$PUBLISH_MESSAGES" --size "$SIZE" --publishers 1
    bench "$target" publish "publish, 4 connections" --messages "$PUBLISH_MESSAGES" --size "$SIZE" --publishers 4
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def med(label, target, key):
    v = [r[key] for r in runs if r["label"] == label and r["target"] == target and r.get(key) is not None]
    return statistics.median(v) if v else None
rows = [
    ("idle", "rss_bytes_per_conn", "RSS bytes per idle WebSocket", "<= 0.5x, <= 4096 B", lambda h, n: h <= 0.5 * n and h <= 4096),
    ("idle", "connects_per_sec", "connects/s", "", None),
    ("fanout, 1 publisher", "deliveries_per_sec", "fan-out deliveries/s, 1 publisher", ">= 1.5x", lambda h, n: h >= 1.5 * n),
    ("fanout, 1 publisher", "latency_p99_ms", "fan-out p99 ms, 1 publisher", "<= 1x", lambda h, n: h <= n),
    ("fanout, 4 publishers", "deliveries_per_sec", "fan-out deliveries/s, 4 publishers", ">= 1.5x", lambda h, n: h >= 1.5 * n),
    ("fanout, 4 publishers", "latency_p99_ms", "fan-out p99 ms, 4 publishers", "<= 1x", lambda h, n: h <= n),
    ("spread", "deliveries_per_sec", "spread deliveries/s", "", None),
    ("publish, 1 connection", "publishes_per_sec", "REST publishes/s, 1 connection", ">= 1x", lambda h, n: h >= n),
    ("publish, 4 connections", "publishes_per_sec", "REST publishes/s, 4 connections", ">= 1x", lambda h, n: h >= n),
]
rounds = max((sum(1 for r in runs if r["label"] == l and r["target"] == "hookbox") for l in {r["label"] for r in runs}), default=0)
print("| figure (median of %d rounds) | hookbox | Nchan | hookbox/Nchan | target | met |" % rounds)
print("|---|---:|---:|---:|---|---|")
for label, key, name, target, ok in rows:
    h, n = med(label, "hookbox", key), med(label, "nchan", key)
    if h is None or n is None:
        print("| %s | %s | %s | - | %s | - |" % (name, h, n, target))
        continue
    ratio = h / n if n else float("inf")
    met = "" if ok is None else ("yes" if ok(h, n) else "NO")
    fmt = (lambda x: "%.1f" % x) if key.endswith("_ms") else (lambda x: "{:,.0f}".format(x))
    print("| %s | %s | %s | %.2f | %s | %s |" % (name, fmt(h), fmt(n), ratio, target, met))
PY
