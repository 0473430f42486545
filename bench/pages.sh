#!/bin/bash
# Storefront pages benchmark: bench/pages.sh BIN NAME PORT (after cargo build --release).
# Starts BIN on a fresh SQLite demo database, warms each page once, then runs
# wrk -t2 -c100 -d6s --latency on the home page, a product page and a search, printing
# requests per second, the median latency and the page's bytes (no gzip: wrk sends no
# Accept-Encoding). Run two binaries in turn, pairs alternated, and compare as ratios
# (docs/BENCHMARKS.md, run K).
set -u
BIN=$1; NAME=$2; PORT=$3
D=/tmp/pb-$NAME; rm -rf "$D"; mkdir -p "$D"
RUST_LOG=warn "$BIN" --database-url "sqlite:$D/s.db?mode=rwc" serve --demo --addr 127.0.0.1:"$PORT" --media-dir "$D/media" > "$D/log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done
for u in / /products/12 "/search?q=%E8%9C%82%E8%9C%9C"; do
  curl -s -o /dev/null "http://127.0.0.1:$PORT$u"
  r=$(wrk -t2 -c100 -d6s --latency "http://127.0.0.1:$PORT$u" | awk '/Requests\/sec/{print $2} /^ +50%/{p50=$2} END{print p50}' | tr '\n' ' ')
  sz=$(curl -s -o /dev/null -w "%{size_download}" "http://127.0.0.1:$PORT$u")
  echo "$NAME $u req/s,p50: $r bytes: $sz"
done
kill $PID; wait $PID 2>/dev/null
