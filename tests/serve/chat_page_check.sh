#!/usr/bin/env bash
# The chat page in headless Chromium: starts `ferry serve` on the demo model, loads
# /?prompt=...  (the page sends that message at load), and checks from the rendered DOM
# that a streamed answer and the stats line arrived; saves a screenshot beside it.
# Usage: chat_page_check.sh FERRY_BIN WORK_DIR   (exit 77: skipped, no chromium or no Vulkan)
set -euo pipefail
ferry=$1
work=$2
mkdir -p "$work"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then echo "SKIPPED: chromium not found (apt-get install chromium)"; exit 77; fi
if ! "$ferry" devices >/dev/null 2>&1; then
  echo "SKIPPED: no Vulkan device (install mesa-vulkan-drivers for lavapipe)"; exit 77
fi
model="$work/demo.gguf"
[ -f "$model" ] || "$ferry" make-model --preset demo -o "$model" >/dev/null
log="$work/page_serve.log"
"$ferry" serve -m "$model" --port 0 --ctx 512 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "chat page: ferry serve did not listen"; exit 1; }
page="http://127.0.0.1:$port/?prompt=Hello&max_tokens=8"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --virtual-time-budget=60000)
timeout 120 "$browser" "${flags[@]}" --dump-dom "$page" 2>/dev/null >"$work/page_dom.html"
timeout 120 "$browser" "${flags[@]}" --window-size=900,700 --screenshot="$work/chat_page.png" "$page" >/dev/null 2>&1
ok=1
grep -q 'class="msg user">Hello<' "$work/page_dom.html" || { echo "chat page: the user message is missing"; ok=0; }
grep -Eq 'class="msg assistant">[^<]+<' "$work/page_dom.html" || { echo "chat page: no streamed answer"; ok=0; }
grep -Eq 'id="stats">[0-9]+ tokens' "$work/page_dom.html" || { echo "chat page: no stats line"; ok=0; }
[ -s "$work/chat_page.png" ] || { echo "chat page: no screenshot"; ok=0; }
sed -n 's|.*id="stats">\([^<]*\)<.*|chat page stats: \1|p' "$work/page_dom.html"
[ $ok -eq 1 ] || exit 1
echo "chat page: answer streamed, stats shown; screenshot $work/chat_page.png"
