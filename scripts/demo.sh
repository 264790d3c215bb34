#!/usr/bin/env bash
# Set up carpool and run the main job end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARPOOL_DIR=${CARPOOL_DIR:-/var/lib/carpool}
carpool=.venv/bin/carpool
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "bootstrap a busybox base image from the host's busybox-static and fetch it"
$carpool bootstrap busybox
say "images in the store ($CARPOOL_DIR)"
$carpool image list
say "render it with its dependencies"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$carpool image render carpool.dev/busybox "$out"
ls "$out/rootfs" && "$out/rootfs/bin/busybox" echo "busybox from the rendered tree runs"

# --- builder (carpool build) -------------------------------------------------
say "build the dgr project examples/aci-hello on the busybox base, run its image tests"
$carpool build -W examples/aci-hello
$carpool build -W examples/aci-hello          # unchanged inputs: the cached image, at once
$carpool test -W examples/aci-hello
$carpool install -W examples/aci-hello
say "run it: the page is rendered from attributes at start (TEMPLATER_OVERRIDE on top)"
hello_port=18181
hello_uuid=$(mktemp)
$carpool run --net host --uuid-file-save "$hello_uuid" \
  --set-env "TEMPLATER_OVERRIDE={\"hello\":{\"who\":\"demo\",\"port\":$hello_port}}" \
  examples.carpool.dev/aci-hello:1 &
hello_pid=$!
for _ in $(seq 100); do
  if page=$(busybox wget -q -O - "http://127.0.0.1:$hello_port/" 2>/dev/null); then break; fi
  sleep 0.1
done
echo "$page"
$carpool stop --force "$(cat "$hello_uuid")" >/dev/null
wait "$hello_pid" || true
$carpool rm "$(cat "$hello_uuid")" >/dev/null || true
rm -f "$hello_uuid"
echo "$page" | grep -q "Hello demo!"

# --- discovery (nerve + synapse) ------------------------------------------------
say "SmartStack: two aci-hello pods, nerve, synapse and HAProxy; one pod killed, traffic still served"
DEMO_IMAGE=examples.carpool.dev/aci-hello:1 scripts/demo-discovery.sh
