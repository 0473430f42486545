#!/bin/bash
# Lighthouse on the pages a newcomer meets first: bench/lighthouse.sh BIN [LANG].
# Starts BIN on a fresh SQLite demo database, signs in the buyer, the village agent and the
# county operator (their session cookies sent as a header), and runs Lighthouse (npm i -g
# lighthouse; Debian's chromium) with its default mobile emulation on home, a product,
# checkout, the agent's first screen (the shelf) and the operator's (the queues). Prints
# accessibility, best practices, SEO and performance per page (docs/BENCHMARKS.md).
set -u
BIN=$1; LANG_TAG=${2:-zh-CN}; PORT=18234
D=/tmp/lh-$$; rm -rf "$D"; mkdir -p "$D"
RUST_LOG=warn "$BIN" --database-url "sqlite:$D/s.db?mode=rwc" serve --demo --addr 127.0.0.1:$PORT --media-dir "$D/media" > "$D/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$D"' EXIT
B=http://127.0.0.1:$PORT
for _ in $(seq 1 120); do curl -sf -o /dev/null "$B/healthz" && break; sleep 0.5; done
# A signed-in browser's cookies for USER: the CSRF cookie, then the session.
cookies() {
  local jar="$D/$1.jar"
  curl -s -c "$jar" -o /dev/null "$B/login"
  local csrf; csrf=$(awk '$6=="bz_csrf"{print $7}' "$jar")
  curl -s -b "$jar" -c "$jar" -o /dev/null -X POST "$B/login" \
    --data "csrf=$csrf&username=$1&password=bazaar-demo"
  awk '$6 ~ /^bz_/{printf "%s%s=%s", sep, $6, $7; sep="; "}' "$jar"
}
run() { # NAME USER PATH [EXTRA-COOKIE]
  local h="{}"
  if [ "$2" != "-" ]; then h="{\"Cookie\": \"$(cookies "$2")${4:+; $4}\"}"; fi
  CHROME_PATH=/usr/bin/chromium lighthouse "$B$3" --quiet --output=json --output-path="$D/$1.json" \
    --only-categories=accessibility,best-practices,seo,performance \
    --extra-headers="$h" --chrome-flags="--headless=new --no-sandbox --disable-gpu" > /dev/null 2>&1
  python3 - "$D/$1.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["categories"]
s = lambda k: int(round((c[k]["score"] or 0) * 100))
print(f'{sys.argv[2]:10} {r.get("finalDisplayedUrl", r.get("finalUrl", "")).split(":", 2)[-1][5:]:28} a11y {s("accessibility"):3}  best {s("best-practices"):3}  seo {s("seo"):3}  perf {s("performance"):3}')
for k in ("accessibility", "best-practices", "seo"):
    for ref in c[k]["auditRefs"]:
        a = r["audits"][ref["id"]]
        if a.get("score") is not None and a["score"] < 1 and ref.get("weight", 0) > 0:
            print(f'           - {k}: {a["id"]}: {a["title"]}')
            for it in (a.get("details") or {}).get("items", [])[:3]:
                n = it.get("node") or {}
                print(f'             {n.get("selector", "")} {n.get("snippet", "")[:120]}')
PY
}
run home - "/?lang=$LANG_TAG"
run product - "/products/12?lang=$LANG_TAG"
# Checkout needs something in the cart: the buyer's cookies and one jar of honey.
CART=$(curl -s "$B/api/v1/products/12" | python3 -c "import sys,json; k=json.load(sys.stdin)['skus'][0]; print(f\"bz_cart={k['id']}:1:{k['price_fen']}\")")
run checkout buyer "/checkout?lang=$LANG_TAG" "$CART"
run agent agent-harengen "/manage/shelf?lang=$LANG_TAG"
run operator op-bohu "/manage?lang=$LANG_TAG"
