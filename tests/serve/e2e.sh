#!/usr/bin/env bash
# ferry serve end to end: makes the demo model, installs the official `openai` npm client
# into the build folder, starts `ferry serve` on a free loopback port, runs e2e.mjs against
# it (streaming, non-streaming, cancellation, prefix reuse, a bad-input battery, a bounded
# load test), then checks that SIGTERM drains it with exit code 0.
# Usage: e2e.sh FERRY_BIN WORK_DIR   (exit 77: skipped, no Vulkan device)
set -euo pipefail
ferry=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

if ! "$ferry" devices >/dev/null 2>&1; then
  echo "SKIPPED: no Vulkan device (install mesa-vulkan-drivers for lavapipe)"
  exit 77
fi
if ! command -v npm >/dev/null; then
  echo "SKIPPED: npm not found (apt-get install npm), so the openai client cannot be installed"
  exit 77
fi
if [ ! -f "$work/node_modules/openai/package.json" ]; then
  echo "e2e: npm install openai into $work"
  npm install --silent --no-audit --no-fund --prefix "$work" openai@4 >/dev/null
fi
model="$work/demo.gguf"
[ -f "$model" ] || "$ferry" make-model --preset demo -o "$model" >/dev/null

log="$work/serve.log"
# --queue 4: the load test's 16 clients overflow it, so 503s (with Retry-After) are exercised.
"$ferry" serve -m "$model" --port 0 --parallel 2 --queue 4 --ctx 1024 --max-body 65536 -n 16 --api-key e2e-key \
  --temp 0 >"$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "e2e: ferry serve exited before listening"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$log"; echo "e2e: ferry serve did not listen within 60 s"; exit 1; }
echo "e2e: ferry serve pid $pid on port $port"

NODE_PATH="$work/node_modules" FERRY_URL="http://127.0.0.1:$port" FERRY_PID=$pid FERRY_KEY=e2e-key \
  node "$here/e2e.mjs" || { echo "--- server log"; tail -20 "$log"; exit 1; }

# e2e.mjs sent SIGTERM during its last streamed answer (which finished with [DONE]).
rc=0
wait $pid || rc=$?
trap - EXIT
tail -1 "$log"
if [ $rc -ne 0 ]; then echo "e2e: ferry serve exited with $rc after SIGTERM (want 0)"; exit 1; fi
echo "e2e: SIGTERM drained, exit code 0"
