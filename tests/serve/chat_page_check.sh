#!/usr/bin/env bash
# The chat page in headless Chromium: starts `ferry serve` on the demo model, loads
# /?prompt=...  (the page sends that message at load) in headless Chromium driven over the
# DevTools protocol (chat_page_cdp.mjs), and checks from the page
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
# Greedy: at the default temperature the random-weight demo model sometimes samples only
# tokens with no text (unused fillers, lone continuation bytes), and the answer is empty.
page="http://127.0.0.1:$port/?prompt=Hello&max_tokens=8&temperature=0"
# Chromium with a DevTools port; chat_page_cdp.mjs waits for the answer's stats line.
profile="$work/chromium-profile"
rm -rf "$profile"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$profile" \
  --remote-debugging-port=0 about:blank 2>"$work/chromium.log" &
browser_pid=$!
trap 'kill $pid $browser_pid 2>/dev/null || true' EXIT
ws=""
for _ in $(seq 1 300); do
  ws=$(sed -n 's|^DevTools listening on \(ws://.*\)$|\1|p' "$work/chromium.log" | head -1)
  [ -n "$ws" ] && break
  sleep 0.1
done
[ -n "$ws" ] || { cat "$work/chromium.log"; echo "chat page: chromium did not start"; exit 1; }
result=$(timeout 300 node --experimental-websocket --no-warnings "$(dirname "$0")/chat_page_cdp.mjs" \
  "$page" "$ws" "$work/chat_page.png")
echo "chat page: $result"
ok=1
echo "$result" | grep -q '"answer":"[^"|]' || { echo "chat page: no streamed answer"; ok=0; }
echo "$result" | grep -Eq '"stats":"[0-9]+ tokens .*t/s' || { echo "chat page: no stats line with t/s"; ok=0; }
echo "$result" | grep -q '"errors":""' || { echo "chat page: the page shows an error"; ok=0; }
[ -s "$work/chat_page.png" ] || { echo "chat page: no screenshot"; ok=0; }
[ $ok -eq 1 ] || exit 1
echo "chat page: answer streamed, stats shown; screenshot $work/chat_page.png"
