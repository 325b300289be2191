#!/usr/bin/env bash
# First-token latency with a cold and a warm pipeline cache (runtime/vk/pipeline_cache.h):
# `ferry run -p hi -n 1 --stats` with an empty XDG_CACHE_HOME, then again on the same
# folder, as Markdown table rows. Mesa's drivers (lavapipe, radv, anv) keep a shader cache
# of their own under XDG_CACHE_HOME as well, so the same pair also runs with Mesa's cache
# off (MESA_SHADER_CACHE_DISABLE=true: what ferry's file alone saves) and with ferry's off
# (FERRY_NO_PIPELINE_CACHE=1: what Mesa's alone saves). The pairs alternate, `repeats` times.
# Usage: bench/pipeline_cache.sh [path/to/ferry] [model.gguf] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
ferry=${1:-build/bin/ferry}
model=${2:-build/demo.gguf}
repeats=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

row() {  # row <label> <VAR=value...>: one run, one table row
    local label=$1; shift
    local err
    err=$(env "$@" "$ferry" run -m "$model" -p hi -n 1 --stats 2>&1 >/dev/null)
    local load first shaders
    load=$(sed -n 's/^load: *\([0-9.]*\) s$/\1/p' <<<"$err")
    first=$(sed -n 's/^first: *\([0-9.]*\) s .*/\1/p' <<<"$err")
    shaders=$(sed -n 's/^shaders: *//p' <<<"$err" | sed "s|$tmp/[^/]*/ferry/||")
    echo "| $label | $load | $first | $shaders |"
}

echo "| caches | load s | first token s | shaders |"
echo "|---|---:|---:|---|"
for i in $(seq "$repeats"); do
    d=$tmp/both$i
    row "cold: ferry's and Mesa's empty" "XDG_CACHE_HOME=$d"
    row "warm: both" "XDG_CACHE_HOME=$d"
    d=$tmp/ferry$i
    row "cold, Mesa's off" "XDG_CACHE_HOME=$d" MESA_SHADER_CACHE_DISABLE=true
    row "warm ferry's, Mesa's off" "XDG_CACHE_HOME=$d" MESA_SHADER_CACHE_DISABLE=true
    d=$tmp/mesa$i
    row "cold, ferry's off" "XDG_CACHE_HOME=$d" FERRY_NO_PIPELINE_CACHE=1
    row "warm Mesa's, ferry's off" "XDG_CACHE_HOME=$d" FERRY_NO_PIPELINE_CACHE=1
done
