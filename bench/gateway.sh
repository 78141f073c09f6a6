#!/usr/bin/env bash
# The gateway's overhead, side by side in one run: a trivial upstream (nginx returning a
# fixed JSON answer) called directly, through nginx as a plain reverse proxy, and through
# `moat serve --gateway-addr` with keys + rate limits, then with every detector on, each with
# the request log on (policy drop, the default) and off.
# Load from `oha`; CPU time per request of the proxy process(es) from /proc.
#
#   apt-get install nginx-light        # or nginx
#   cargo install oha
#   cargo build --release -p moat
#   bash bench/gateway.sh [path/to/moat] [seconds per run, default 10]
#   GATEWAY_WORKERS=1 bash bench/gateway.sh …   # moat's serving threads ([gateway] workers)
set -euo pipefail
MOAT=${1:-target/release/moat}
SECS=${2:-10}
CONC=${CONC:-32}
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; for i in up px; do nginx -p "$W/$i" -c "$W/$i/nginx.conf" -s stop 2>/dev/null; done; rm -rf "$W"' EXIT
command -v oha >/dev/null || { echo "oha is missing: cargo install oha" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx is missing: apt-get install nginx-light" >&2; exit 1; }

UP=127.0.0.1:9301; NGX=127.0.0.1:9302; GW=127.0.0.1:9303; API=127.0.0.1:9304
mkdir -p "$W/up" "$W/px"
cat > "$W/up/nginx.conf" <<CONF
worker_processes 1;
pid $W/up/nginx.pid;
error_log $W/up/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen $UP;
    location / { default_type application/json; client_body_buffer_size 64k; return 200 '{"predictions":[1]}'; }
  }
}
CONF
cat > "$W/px/nginx.conf" <<CONF
worker_processes 1;
pid $W/px/nginx.pid;
error_log $W/px/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream model { server $UP; keepalive 64; }
  server {
    listen $NGX;
    location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; client_body_buffer_size 64k; }
  }
}
CONF
nginx -p "$W/up" -c "$W/up/nginx.conf"
nginx -p "$W/px" -c "$W/px/nginx.conf"
sleep 0.5

small='{"rows": [[35.0, 0.6, 29.0, 2.0]]}'
printf '%s' "$small" > "$W/small.json"
python3 - "$W/chat.json" <<'PY'
import json, sys
text = ("Please summarise the attached customer notes for the weekly report and list the "
        "three most common questions with a short suggested answer to each. ") * 27
body = {"model": "m", "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                    {"role": "user", "content": text[:3800]}]}
open(sys.argv[1], "w").write(json.dumps(body))
PY

cd "$W"
"$MOAT" init >/dev/null
"$MOAT" model register bench --version 1 --artifact "$W/small.json" --owner perf --tier minimal --sensitivity internal >/dev/null
"$MOAT" endpoint add bench --model bench --target 1 --upstream "http://$UP" --owner perf >/dev/null
"$MOAT" endpoint add bench-all --model bench --target 1 --upstream "http://$UP" --owner perf >/dev/null
KEY=$("$MOAT" key create bench-client --role service --endpoint bench --endpoint bench-all | tail -n1)
start_moat() { # request-log policy: drop (the default) or off
  cat > moat.toml <<TOML
[gateway]
log = { policy = "$1" }
${GATEWAY_WORKERS:+workers = $GATEWAY_WORKERS}

[[gateway.endpoints]]
name = "bench"
kind = "openai"
upstream = "http://$UP"
rate_limit = { rate = 1000000, burst = 1000000 }
endpoint_rate_limit = { rate = 1000000, burst = 1000000 }

[[gateway.endpoints]]
name = "bench-all"
kind = "openai"
upstream = "http://$UP"
rate_limit = { rate = 1000000, burst = 1000000 }
endpoint_rate_limit = { rate = 1000000, burst = 1000000 }
detectors = { pii = "log", prompt-injection = "log" }
TOML
  RUST_LOG=warn MOAT_WORKER_THREADS=${MOAT_WORKER_THREADS:-} "$MOAT" serve --addr "$API" --gateway-addr "$GW" >/dev/null 2>&1 &
  MOAT_PID=$!
  for _ in $(seq 1 50); do curl -sf "http://$API/healthz" >/dev/null && break; sleep 0.2; done
}
stop_moat() { kill "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true; }

ticks() { # CPU clock ticks (user + system) of the given pids
  local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t
}
HZ=$(getconf CLK_TCK)

printf '| target | body | requests/s | p50 ms | p99 ms | proxy CPU µs/request |\n|---|---|---|---|---|---|\n'
run() { # name url body-file pids-to-measure...
  local name=$1 url=$2 body=$3; shift 3
  local before after
  before=$(ticks "$@" 2>/dev/null || echo 0)
  oha -z "${SECS}s" -c "$CONC" --no-tui --output-format json -m POST -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -D "$body" "$url" > "$W/out.json"
  after=$(ticks "$@" 2>/dev/null || echo 0)
  python3 - "$W/out.json" "$name" "$(basename "$body" .json)" "$before" "$after" "$HZ" "$#" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name, body, before, after, hz, npids = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
codes = r.get("statusCodeDistribution", {})
n = sum(int(v) for v in codes.values())
ok = int(codes.get("200", 0))
rps = r["summary"]["requestsPerSec"]
p = r["latencyPercentiles"]
cpu = "–" if npids == 0 else f"{(after - before) / hz / max(n, 1) * 1e6:.1f}"
bad = "" if ok == n else f" ({n - ok} not 200: {codes})"
print(f"| {name} | {body} | {rps:,.0f} | {p['p50'] * 1e3:.3f} | {p['p99'] * 1e3:.3f} | {cpu} |{bad}")
PY
}
# The proxy instance's processes: its master and its worker (children of the master).
NGX_MASTER=$(cat "$W/px/nginx.pid")
NGX_WORKERS="$NGX_MASTER $(pgrep -P "$NGX_MASTER" | tr '\n' ' ')"
for body in small.json chat.json; do
  run "direct to upstream" "http://$UP/predict" "$W/$body"
  run "nginx reverse proxy" "http://$NGX/predict" "$W/$body" $NGX_WORKERS
done
for policy in drop off; do
  start_moat "$policy"
  for body in small.json chat.json; do
    run "moat (request log $policy): keys + rate limits" "http://$GW/bench/predict" "$W/$body" $MOAT_PID
    run "moat (request log $policy): + pii and prompt-injection" "http://$GW/bench-all/predict" "$W/$body" $MOAT_PID
  done
  stop_moat
done
echo
echo "nginx: one worker process; moat: a serving thread a core (GATEWAY_WORKERS=N to change)."
echo "The load generator and the"
echo "upstream (another nginx) share the same machine."
