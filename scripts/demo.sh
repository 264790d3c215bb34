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
