#!/usr/bin/env bash
# Builds the image and proves it serves: /health answers 200 and `agentgate doctor` passes
# inside it, with the security options of compose.yaml. Needs docker or podman able to pull
# node:20-bookworm and run containers; .ci/run calls it when AGENTGATE_CI_IMAGE=1.
set -euo pipefail
cd "$(dirname "$0")/.."

engine=${CONTAINER_ENGINE:-$(command -v docker || command -v podman || true)}
[ -n "$engine" ] || { echo "check-image: neither docker nor podman found" >&2; exit 1; }
tag=agentgate:ci-$$
name=agentgate-ci-$$
cleanup() { "$engine" rm -f "$name" >/dev/null 2>&1 || true; "$engine" rmi -f "$tag" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$engine" build -t "$tag" .
"$engine" run -d --name "$name" -p 127.0.0.1::8080 \
  --cap-drop ALL --security-opt no-new-privileges:true --security-opt seccomp=unconfined \
  --security-opt apparmor=unconfined --security-opt systempaths=unconfined "$tag" >/dev/null
port=$("$engine" port "$name" 8080/tcp | head -1 | sed 's/.*://')
for _ in $(seq 1 60); do
  if node -e "fetch('http://127.0.0.1:$port/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    echo "check-image: /health answers on port $port"
    # The port is the server's own now, so doctor's port line fails by design: check the rest.
    "$engine" exec "$name" node /app/bin/agentgate.js doctor --json \
      | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")).filter((c) => c.status === "fail" && c.name !== "port"); if (r.length) { console.error(r); process.exit(1); }'
    echo "check-image: doctor passes in the container (sandbox included)"
    exit 0
  fi
  sleep 2
done
"$engine" logs "$name" >&2 || true
echo "check-image: /health did not answer within 120 s" >&2
exit 1
