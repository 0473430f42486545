#!/usr/bin/env python3
"""Grows the demo catalogue to N SKUs through the API and stocks every SKU (bench/orders.sh).

Usage: catalogue.py BASE_URL ADMIN_TOKEN N QUANTITY
Adds options to the listed products in turn (POST /api/v1/products/{id}/skus) until the
catalogue has N SKUs, then sets QUANTITY available on each (PUT /api/v1/skus/{id}/stock).
Prints the SKU ids, comma-separated. Deterministic: option i of product p is "bench-p-i".
"""
import http.client, json, sys, time
from urllib.parse import urlparse

base, token, n, qty = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

def call(method, path, body=None):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None

products, cursor = [], None
while True:
    page = call("GET", "/api/v1/products?limit=100" + (f"&cursor={cursor}" if cursor else ""))
    products += page["items"]
    cursor = page.get("next_cursor")
    if not cursor:
        break
skus = [s["id"] for p in products for s in p["skus"]]
t0 = time.time()
i = 0
while len(skus) < n:
    p = products[i % len(products)]
    body = {"spec": f"bench-{p['id']}-{i}", "price_fen": 1000 + i % 9000, "weight_g": 500 + i % 2000,
            "volume_cm3": 1000 + i % 5000}
    skus.append(call("POST", f"/api/v1/products/{p['id']}/skus", body)["id"])
    i += 1
added = time.time() - t0
for s in skus:
    call("PUT", f"/api/v1/skus/{s}/stock", {"quantity": qty})
print(f"catalogue: {len(skus)} SKUs ({i} added in {added:.1f} s)", file=sys.stderr)
print(",".join(str(s) for s in skus))
