#!/bin/bash
# Flash-offer benchmark: bench/flash.sh BIN [sqlite|postgres] [NODES] [SECONDS] [CONNECTIONS]
# (after cargo build --release). A fresh demo database; BUYERS buyer accounts (200 unless set)
# with an address; an offer of 1,000,000 jars of 阿西木土蜂蜜 consigned to 哈尔恩根村's live
# room, one per order, no per-buyer limit to speak of; then wrk -t2 with CONNECTIONS
# connections (1000 unless given) for SECONDS (30 unless given) against the nodes (on
# PostgreSQL, NODES `bazaar serve` processes on one database, wrk's connections spread over
# them by one Lua counter). Prints the answers by status, latency, and afterwards what the
# database holds: orders written = units held = 201 answers.
set -eu
BIN=$1; DB=${2:-sqlite}; NODES=${3:-1}; SECS=${4:-30}; CONNS=${5:-1000}; BUYERS=${BUYERS:-200}
D=/tmp/flash-bench; rm -rf "$D"; mkdir -p "$D"
if [ "$DB" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS bazaar_flash" -c "CREATE DATABASE bazaar_flash" postgres
  URL="postgres://postgres@127.0.0.1:5432/bazaar_flash"
else
  URL="sqlite:$D/s.db?mode=rwc"; NODES=1
fi
PIDS=()
for i in $(seq 1 "$NODES"); do
  PORT=$((18400 + i))
  if [ "$i" = 1 ]; then DEMO=--demo; else DEMO=; sleep 8; fi
  RUST_LOG=warn "$BIN" --database-url "$URL" serve $DEMO --addr 127.0.0.1:$PORT --max-connections 5000 --media-dir "$D/media" > "$D/log$i" 2>&1 &
  PIDS+=($!)
done
trap 'kill ${PIDS[@]} 2>/dev/null' EXIT
B=http://127.0.0.1:18401
for _ in $(seq 1 120); do curl -sf -o /dev/null $B/healthz && break; sleep 0.5; done
for i in $(seq 2 "$NODES"); do for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:$((18400 + i))/healthz && break; sleep 0.5; done; done
tok() { curl -sf $B/api/v1/sessions -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -r .token; }
ADMIN=$(tok admin bazaar-demo); HOST=$(tok host-harengen bazaar-demo)
PID=$(curl -sf "$B/api/v1/products?limit=100" | jq '[.items[] | select(.name=="阿西木土蜂蜜")][0].id')
SKU=$(curl -sf $B/api/v1/products/$PID | jq '.skus[0].id')
curl -sf -X PUT $B/api/v1/skus/$SKU/stock -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"quantity":1000000,"location":"VP-HARENGEN"}' > /dev/null
now() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
SID=$(curl -sf $B/api/v1/live/sessions -H "authorization: Bearer $HOST" -H 'content-type: application/json' -d "{\"room_node\":\"VP-HARENGEN\",\"title\":\"bench\",\"platform\":\"douyin\",\"planned_start\":\"$(now '-1 min')\",\"planned_end\":\"$(now '+3 hour')\"}" | jq .id)
curl -sf $B/api/v1/live/sessions/$SID/actions -H "authorization: Bearer $HOST" -H 'content-type: application/json' -d '{"action":"start"}' > /dev/null
OFFER=$(curl -sf $B/api/v1/live/sessions/$SID/offers -H "authorization: Bearer $HOST" -H 'content-type: application/json' -d "{\"sku_id\":$SKU,\"location\":\"VP-HARENGEN\",\"price_fen\":2800,\"cap\":1000000,\"per_buyer_limit\":1000000,\"per_order_limit\":1,\"starts_at\":\"$(now '-1 min')\",\"ends_at\":\"$(now '+3 hour')\",\"hold_minutes\":60}" | jq .id)
curl -sf $B/api/v1/offers/$OFFER/actions -H "authorization: Bearer $HOST" -H 'content-type: application/json' -d '{"action":"start"}' > /dev/null
: > "$D/tokens"
for i in $(seq 1 "$BUYERS"); do
  curl -sf $B/api/v1/users -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' -d "{\"username\":\"fan$i\",\"display_name\":\"fan$i\",\"password\":\"bazaar-bench-pw\",\"role\":\"buyer\"}" > /dev/null
  T=$(tok fan$i bazaar-bench-pw)
  curl -sf $B/api/v1/addresses -H "authorization: Bearer $T" -H 'content-type: application/json' -d "{\"recipient\":\"fan$i\",\"phone\":\"13900000099\",\"region_code\":\"110105\",\"detail\":\"建国路 88 号\",\"is_default\":true}" > /dev/null
  echo "$T" >> "$D/tokens"
done
echo "offer $OFFER, $BUYERS buyers, $NODES node(s) on $DB, $CONNS connections for $SECS s"
export TOKENS="$D/tokens" REQ_PATH=/api/v1/offers/$OFFER/orders REQ_BODY='{"quantity":1}'
if [ "$NODES" = 1 ]; then
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s bench/flash.lua $B
  curl -sf $B/api/v1/offers/$OFFER | jq -c '{sold, held, remaining}'
  curl -sf $B/metrics -H "authorization: Bearer $ADMIN" | grep bazaar_flash
  # The baseline: the ordinary order of the same SKU from the seller's own stock.
  curl -sf -X PUT $B/api/v1/skus/$SKU/stock -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"quantity":1000000}' > /dev/null
  echo "baseline: POST /api/v1/orders, the same SKU, the same buyers and connections"
  REQ_PATH=/api/v1/orders REQ_BODY="{\"items\":[{\"sku_id\":$SKU,\"quantity\":1}]}" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s bench/flash.lua $B
else
  # wrk takes one address: the nodes share the load through a round-robin of connections
  # made by several wrk processes, one per node, each with its share of the connections.
  for i in $(seq 1 "$NODES"); do
    wrk -t1 -c$((CONNS / NODES)) -d"${SECS}s" --latency -s bench/flash.lua http://127.0.0.1:$((18400 + i)) > "$D/wrk$i" &
  done
  wait $(jobs -p | tail -n "$NODES") 2>/dev/null || true
  cat "$D"/wrk*
fi
curl -sf $B/api/v1/offers/$OFFER | jq -c '{sold, held, remaining}'
