#!/bin/bash
# Orders benchmark: bench/orders.sh sqlite|pg (from the repository root, after cargo build --release).
# Starts a fresh demo server, grows the catalogue to SKUS_TOTAL SKUs (default 1000) and stocks every
# SKU, then runs wrk with bench/orders.lua at 1, 16 and 128 clients. BIN selects the binary.
mkdir -p /tmp/ob
BIN=${BIN:-target/release/bazaar}; db=$1; PORT=8121
if [ $db = sqlite ]; then rm -f /tmp/ob/o.db*; URL="sqlite:/tmp/ob/o.db?mode=rwc"; else
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS bazaar_obench" -c "CREATE DATABASE bazaar_obench" postgres 2>/dev/null; URL=postgres://postgres@127.0.0.1:5432/bazaar_obench; fi
if curl -sf localhost:$PORT/healthz >/dev/null; then echo "port $PORT is taken by another server: stop it first" >&2; exit 1; fi
RUST_LOG=warn $BIN --database-url "$URL" serve --demo --addr 127.0.0.1:$PORT --media-dir /tmp/ob/media >/tmp/ob/srv-$db.log 2>&1 &
PID=$!
for i in $(seq 120); do curl -sf localhost:$PORT/healthz >/dev/null && break; sleep 0.5; done
tok() { curl -s -X POST localhost:$PORT/api/v1/sessions -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"bazaar-demo\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])'; }
ADMIN=$(tok admin)
# BUYERS buyers (default 200): one buyer's orders are placed one at a time (the cap on unpaid
# reservations is checked per buyer), so a sale is many buyers, as it is in life.
TOKENS=""
for i in $(seq ${BUYERS:-200}); do
  curl -s -o /dev/null -X POST localhost:$PORT/api/v1/users -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench-buyer-$i\",\"display_name\":\"Buyer $i\",\"password\":\"bazaar-demo\",\"role\":\"buyer\"}"
  TOKENS="$TOKENS${TOKENS:+,}$(tok bench-buyer-$i)"
done
export TOKENS
# The catalogue: SKUS_TOTAL SKUs (default 1000; the demo has 97, the rest are added as options
# of the listed products through the API), each with 5,000,000 in stock.
ALL=$(python3 "$(dirname "$0")/catalogue.py" http://127.0.0.1:$PORT "$ADMIN" ${SKUS_TOTAL:-1000} 5000000)
ONE=${ALL%%,*}
N=$(echo $ALL | tr ',' '\n' | wc -l)
for mode in one all; do
  if [ $mode = one ]; then export SKUS=$ONE; else export SKUS=$ALL; fi
  for c in 1 16 128; do
    t=2; [ $c = 1 ] && t=1
    out=$(wrk -t$t -c$c -d8s --latency -s "$(dirname "$0")/orders.lua" http://127.0.0.1:$PORT 2>&1)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    st=$(echo "$out" | grep '^status' | tr '\n' ' ')
    echo "$db skus=$mode($N) c=$c rps=$rps p50=$p50 p99=$p99 $st"
  done
done
kill $PID; wait $PID 2>/dev/null
