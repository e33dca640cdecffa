#!/usr/bin/env bash
# The Debian packages agentgate needs beyond Node: one list for the Docker image and for CI
# (.ci/run), so CI proves the image's list. Installs only what is missing.
#   scripts/install-system-packages.sh                  runtime packages (the image, a host)
#   scripts/install-system-packages.sh --with-test-tools  and the real S3 clients the tests drive
set -euo pipefail

# bubblewrap + socat: the agent sandbox and its network bridge (AGENT_SANDBOX) · chromium + fonts: the browser surface ·
# tini: PID 1 in the image, reaps what agents leave · git, ca-certificates: what agents expect.
runtime=(bubblewrap socat chromium fonts-liberation fonts-noto-color-emoji tini git ca-certificates)
# python3-boto3 + awscli: the storage tests drive the seed's boto3 snippet and the aws CLI ·
# postgresql: the DATABASE_URL tests start throwaway servers from its binaries (initdb, postgres) ·
# redis-server: the cluster engine's tests start their own Redis (the cluster's queue and events).
test_tools=(python3-boto3 awscli postgresql redis-server)

packages=("${runtime[@]}")
case "${1:-}" in
  --with-test-tools) packages+=("${test_tools[@]}") ;;
  '') ;;
  *) echo "usage: $0 [--with-test-tools]" >&2; exit 2 ;;
esac

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: not a Debian system; install by hand: ${packages[*]}" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-system-packages: installed ${missing[*]}"

# Debian's postgresql creates a cluster ("main") and starts it. The tests start their own
# throwaway servers from the binaries, so when this run installed it, leave no server running
# and none starting at boot (the cluster itself stays, unused, for whoever wants it).
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version cluster _; do
    "${sudo[@]}" pg_ctlcluster "$version" "$cluster" stop >/dev/null 2>&1 || true
    echo manual | "${sudo[@]}" tee "/etc/postgresql/$version/$cluster/start.conf" >/dev/null
  done
fi
