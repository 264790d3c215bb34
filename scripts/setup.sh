#!/usr/bin/env bash
# Set up carpool on a Debian 12 machine, as root: the system packages it drives
# and a .venv/ in the repo with carpool installed.  Idempotent and quick when
# nothing changed.  Usage: scripts/setup.sh [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

# Components carpool runs for real (ARCHITECTURE.md, "Real components").
packages=(
  runc containernetworking-plugins busybox-static debootstrap
  zookeeper haproxy bats iproute2 iptables gnupg graphviz
  python3 python3-venv git ca-certificates
)
# Test-time only: Go for the templater's differential tests.
[ "$want_tests" = 1 ] && packages+=(golang-go)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: carpool needs Python >= 3.11 ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
  echo "setup: creating .venv"
  rm -rf .venv
  "$python" -m venv .venv
fi

extras=""
[ "$want_tests" = 1 ] && extras="[test]"
stamp=".venv/.carpool-installed"
fingerprint="$(sha256sum pyproject.toml | cut -c1-64)$extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$fingerprint" ] || ! .venv/bin/carpool --version >/dev/null 2>&1; then
  echo "setup: installing carpool$extras into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  echo "$fingerprint" > "$stamp"
fi
echo "setup: ready ($(.venv/bin/carpool --version))"
