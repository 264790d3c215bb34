#!/usr/bin/env bash
# SmartStack on one machine: two web instances, carpool nerve registering them in the
# embedded registry (no ZooKeeper needed), carpool synapse driving a local HAProxy.
# Shows a request served through HAProxy, kills one instance, shows traffic still
# served.  Everything it starts is stopped by pid on exit.
# With DEMO_IMAGE set (e.g. examples.carpool.dev/aci-hello:1, installed in CARPOOL_DIR),
# the two instances are carpool pods of that image; without it, two python web servers.
# Usage: scripts/demo-discovery.sh   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
carpool=(.venv/bin/carpool)

work=$(mktemp -d /tmp/carpool-demo-discovery.XXXXXX)
pids=()
pods=()
cleanup() {
  local status=$?
  for uuid in "${pods[@]}"; do
    "${carpool[@]}" stop --force "$uuid" >/dev/null 2>&1 || true
  done
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for uuid in "${pods[@]}"; do
    "${carpool[@]}" rm "$uuid" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port1=$(free_port); port2=$(free_port); front=$(free_port); api=$(free_port)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -n "${DEMO_IMAGE:-}" ]; then
  step "two pods of $DEMO_IMAGE on 127.0.0.1:$port1 and 127.0.0.1:$port2"
  for i in 1 2; do
    port=$([ "$i" = 1 ] && echo "$port1" || echo "$port2")
    "${carpool[@]}" run --net host --uuid-file-save "$work/pod$i.uuid" \
      --set-env "TEMPLATER_OVERRIDE={\"hello\":{\"who\":\"instance $i\",\"port\":$port}}" \
      "$DEMO_IMAGE" >"$work/web$i.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 200); do
      [ -s "$work/pod$i.uuid" ] && break
      kill -0 "$!" 2>/dev/null || { cat "$work/web$i.log" >&2; exit 1; }
      sleep 0.05
    done
    pods+=("$(cat "$work/pod$i.uuid")")
  done
  kill_instance_1() { "${carpool[@]}" stop --force "${pods[0]}" >/dev/null; }
else
  step "two web instances on 127.0.0.1:$port1 and 127.0.0.1:$port2"
  for i in 1 2; do
    mkdir -p "$work/www$i"
    echo "hello from instance $i" > "$work/www$i/index.html"
  done
  "$py" -m http.server "$port1" --bind 127.0.0.1 --directory "$work/www1" >"$work/web1.log" 2>&1 &
  web1=$!; pids+=("$web1")
  "$py" -m http.server "$port2" --bind 127.0.0.1 --directory "$work/www2" >"$work/web2.log" 2>&1 &
  web2=$!; pids+=("$web2")
  kill_instance_1() { kill -KILL "$web1"; { wait "$web1"; } 2>/dev/null || true; }
fi

step "carpool nerve: health-check both (every 200 ms), register them in the embedded registry"
cat > "$work/nerve.yml" <<YAML
apiPort: 0
services:
$(for p in "$port1" "$port2"; do cat <<SVC
  - name: hello-$p
    host: 127.0.0.1
    port: $p
    enableWarmupIntervalInMilli: 0
    checks:
      - type: http
        path: /
        checkIntervalInMilli: 200
        timeoutInMilli: 200
        rise: 1
        fall: 1
    reporters:
      - type: embedded
        path: /services/hello
        dataDir: $work/registry
SVC
done)
YAML
"${carpool[@]}" --dir "$work/data" nerve "$work/nerve.yml" >"$work/nerve.log" 2>&1 &
pids+=("$!")

step "carpool synapse: HAProxy frontend on 127.0.0.1:$front"
cat > "$work/synapse.yml" <<YAML
apiPort: $api
routers:
  - type: haproxy
    configPath: $work/haproxy.cfg
    eventsBufferDurationInMilli: 100
    global: [maxconn 1000]
    defaults:
      - mode http
      - timeout connect 500ms
      - timeout client 10s
      - timeout server 10s
      - option redispatch
      - retries 3
      - retry-on all-retryable-errors
    services:
      - name: hello
        watcher: {type: embedded, path: /services/hello, dataDir: $work/registry}
        port: $front
        serverOptions: check inter 200 rise 1 fall 1
YAML
"${carpool[@]}" --dir "$work/data" synapse "$work/synapse.yml" --state-dir "$work/synapse" \
  >"$work/synapse.log" 2>&1 &
pids+=("$!")

get() { "$py" - "$front" <<'PY'
import re, sys, urllib.request
try:
    body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2).read().decode()
    print(" ".join(re.sub(r"<[^>]+>", " ", body).split()))
except Exception as exc:
    print(f"FAILED: {exc}")
PY
}
cat > "$work/view.py" <<'PY'
import json, sys, urllib.request
try:
    view = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=2))
except Exception:
    sys.exit(1)
if sys.argv[2] == "count":
    print(len(view["services"]["hello"]["backends"]))
    sys.exit(0)
for router in view["routers"]:
    hap = router["haproxy"]
    print(f"  haproxy master {hap['master_pid']} workers {hap['workers']} reloads {hap['reloads']}")
    for name, svc in router["services"].items():
        for s in svc["servers"]:
            print(f"  {name}: {s['slot']} -> {s['host']}:{s['port']} weight {s['weight']} {s['state']}")
PY
for _ in $(seq 100); do
  [ "$("$py" "$work/view.py" "$api" count 2>/dev/null || echo 0)" = 2 ] && break
  sleep 0.1
done
sleep 0.3

step "requests through HAProxy (127.0.0.1:$front)"
for _ in 1 2 3 4; do echo "  $(get)"; done

step "synapse's view (GET /status on its API)"
"$py" "$work/view.py" "$api" show

step "kill instance 1 while requests flow"
kill_instance_1
failed=0
for i in $(seq 20); do
  answer=$(get)
  [[ "$answer" == FAILED* ]] && failed=$((failed + 1))
  [ "$i" -le 4 ] && echo "  $answer"
  sleep 0.05
done
echo "  ... 20 requests after the kill, $failed failed"
sleep 1
step "after nerve noticed (instance 1 deregistered, HAProxy updated without a reload)"
for _ in 1 2 3; do echo "  $(get)"; done
"$py" "$work/view.py" "$api" show
[ "$failed" = 0 ] || { echo "error: $failed request(s) failed" >&2; exit 1; }
step "done; stopping everything"
