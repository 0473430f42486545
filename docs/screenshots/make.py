#!/usr/bin/env python3
"""Refreshes the README's gallery: docs/screenshots/make.py [BIN]

Starts BIN (default target/debug/bazaar) on a fresh demo database and Debian's chromedriver,
plans and publishes today's run of 博湖县 (so that the driver has a route), then takes the first
screen of the main pages on a 360 px phone and a 1366 px laptop, in Chinese (and two in Uyghur)
as their users see them. PNGs go next to this script, reduced to 64 colours when Pillow is
installed. Only the standard library is needed otherwise.
"""
import base64, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/bazaar"
SHOTS = [
    # (file, user, path, language)
    ("home", None, "/", "zh-CN"),
    ("product", None, "/products/12", "zh-CN"),
    ("checkout", "buyer", "/checkout", "zh-CN"),
    ("orders", "buyer", "/orders", "zh-CN"),
    ("shelf", "agent-harengen", "/manage/shelf", "zh-CN"),
    ("shelf-ug", "agent-harengen", "/manage/shelf", "ug"),
    ("seller-orders", "seller-asim", "/manage/orders", "zh-CN"),
    ("route", "driver-bohu", "/manage/route", "zh-CN"),
    ("run", "op-bohu", "/manage/runs/1", "zh-CN"),
    ("product-ug", None, "/products/12", "ug"),
]
SIZES = [(360, 740), (1366, 900)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def wait(url):
    for _ in range(240):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    sys.exit(f"{url} did not answer")


def main():
    tmp = tempfile.mkdtemp(prefix="bazaar-shots-")
    app, wd = free_port(), free_port()
    base = f"http://127.0.0.1:{app}"
    server = subprocess.Popen(
        [BIN, "--database-url", f"sqlite:{tmp}/s.db?mode=rwc", "serve", "--demo",
         "--addr", f"127.0.0.1:{app}", "--media-dir", f"{tmp}/media"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = subprocess.Popen(["chromedriver", f"--port={wd}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(base + "/healthz")
        wait(f"http://127.0.0.1:{wd}/status")
        # Today's run, every stop on the driver's van, published.
        tok = http("POST", base + "/api/v1/sessions",
                   {"username": "op-bohu", "password": "bazaar-demo"})["token"]
        auth = {"Authorization": f"Bearer {tok}"}
        run = http("POST", base + "/api/v1/runs", {"depot_node": "DC-652829"}, auth)
        for r in run["plan"]["routes"]:
            for st in r["stops"]:
                http("POST", f"{base}/api/v1/runs/{run['id']}/actions",
                     {"action": "move", "stop": st["id"], "vehicle": "BH-2"}, auth)
        http("POST", f"{base}/api/v1/runs/{run['id']}/actions", {"action": "publish"}, auth)
        for w, h in SIZES:
            shoot(f"http://127.0.0.1:{wd}", base, w, h)
    finally:
        server.terminate()
        driver.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def shoot(wd, base, w, h):
    opts = {"binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", f"--window-size={w},{h}"]}
    if w < 700:
        opts["mobileEmulation"] = {"deviceMetrics": {"width": w, "height": h, "pixelRatio": 1}}
    for name, user, path, lang in SHOTS:
        sid = http("POST", wd + "/session",
                   {"capabilities": {"alwaysMatch": {"goog:chromeOptions": opts}}})["value"]["sessionId"]
        s = f"{wd}/session/{sid}"
        try:
            if user:
                http("POST", s + "/url", {"url": f"{base}/login?lang={lang}"})
                for field, value in (("username", user), ("password", "bazaar-demo")):
                    el = http("POST", s + "/element", {"using": "css selector",
                                                       "value": f"input[name={field}]"})
                    el = el["value"]["element-6066-11e4-a52e-4f735466cecf"]
                    http("POST", f"{s}/element/{el}/value", {"text": value})
                el = http("POST", s + "/element", {"using": "css selector",
                                                   "value": "form[action='/login'] button"})
                el = el["value"]["element-6066-11e4-a52e-4f735466cecf"]
                http("POST", f"{s}/element/{el}/click", {})
                time.sleep(0.5)
            if name == "checkout":
                # One jar of honey in the cart.
                http("POST", s + "/url", {"url": f"{base}/products/12?lang={lang}"})
                el = http("POST", s + "/element", {"using": "css selector", "value": "#add"})
                el = el["value"]["element-6066-11e4-a52e-4f735466cecf"]
                http("POST", f"{s}/element/{el}/click", {})
                time.sleep(0.5)
            sep = "&" if "?" in path else "?"
            http("POST", s + "/url", {"url": f"{base}{path}{sep}lang={lang}"})
            time.sleep(0.5)
            png = base64.b64decode(http("GET", s + "/screenshot")["value"])
            out = os.path.join(HERE, f"{name}-{w}.png")
            with open(out, "wb") as f:
                f.write(png)
            reduce(out)
            print(out, os.path.getsize(out))
        finally:
            http("DELETE", s)


def reduce(path):
    try:
        from PIL import Image
    except ImportError:
        return
    Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)


if __name__ == "__main__":
    main()
