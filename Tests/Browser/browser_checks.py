#!/usr/bin/env python3
"""Browser checks of the official ComfyUI frontend served by Loom, in headless Chromium.

Chromium is driven over its DevTools protocol (websocket-client is the only dependency). Each check prints
one `PASS <name>: ...` or `FAIL <name>: ...` line with details, and writes screenshots of the main views as PNG
files into the output directory (their paths are printed as `SCREENSHOT <path>`).

Checks (`--check`, repeatable; default: load, search, run):
  load             open the page, wait for the graph canvas, fail on console errors and failed requests
                   (except the allow-listed ones below)
  search           open the node search box with a double click on the canvas, type SaveImage, see the entry
  run              build EmptyImage -> SaveImage, press the Run button, wait for the output image
  settings-set     change a setting through the frontend's setting store (saved on the server)
  settings-verify  after a server restart: reload and see the changed setting

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage or start-up error.
"""

import argparse
import base64
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import websocket  # websocket-client

# Requests that may answer 404 without failing the page-load check: the spec (sections 2.1, 2.7, 2.8, 2.10) names
# them as optional or as a 404 the frontend treats as "none". Matched against the URL's path and query.
ALLOWED_404 = [
    # 2.1 #1: optional user stylesheets linked from index.html.
    (r"^/user\.css$", "optional user stylesheet (spec 2.1 #1)"),
    (r"^/api/userdata/user\.css$", "optional user stylesheet (spec 2.1 #1)"),
    # 2.1 #3: no custom translations.
    (r"^/api/i18n$", "404 means no custom translations (spec 2.1 #3)"),
    # 2.1 #7, #13 and 2.7: listing a user-data folder that does not exist yet answers 404 (as ComfyUI does).
    (r"^/api/userdata\?dir=(workflows|subgraphs|keybindings)&", "missing user-data folder (spec 2.1 #7, #13, 2.7)"),
    (r"^/api/userdata/workflows(%2F|/)\.index\.json$", "missing workflow index (spec 2.1 #7)"),
    # 2.7: a user-data file that was never written (the legacy node templates file) answers 404.
    (r"^/api/userdata/comfy\.templates\.json$", "legacy node templates file not written yet (spec 2.7)"),
    # 2.8: node help markdown.
    (r"^/docs/", "node help markdown may be missing (spec 2.8)"),
    (r"^/extensions/[^/]+/docs/", "custom pack node help may be missing (spec 2.8)"),
    # 2.10: endpoints a local server may leave unimplemented.
    (r"^/api/assets", "assets API is off (spec 2.10, 2.11)"),
    (r"^/api/jobs/[^/?]+/assets(\?|$)", "job assets probe (spec 2.2, 2.10)"),
    (r"^/api/agent/", "cloud only (spec 2.10)"),
    (r"^/api/hub/", "cloud only (spec 2.10)"),
    (r"^/api/secrets", "cloud only (spec 2.10)"),
    (r"^/api/providers$", "cloud only (spec 2.10)"),
    (r"^/api/workspace/provider-policy$", "cloud only (spec 2.10)"),
    (r"^/api/user$", "cloud only (spec 2.10)"),
    (r"^/api/workflows/published/", "cloud only (spec 2.10)"),
    (r"^/api/auth/", "cloud only (spec 2.10)"),
    (r"^/api/v2/", "ComfyUI-Manager (spec 2.10)"),
]

SERVER_ORIGIN = None  # set from --url: requests to other hosts are not the server's


def allowed_reason(url, status=404):
    """Why a failed request may fail (a comment of the allow-list), or None when it must not fail.

    Requests to hosts other than the server under test (the frontend's release check against the Comfy
    cloud, say) are tolerated: they are not the server's, and the test machine has no network.
    """
    parts = urllib.parse.urlsplit(url)
    if SERVER_ORIGIN and f"{parts.scheme}://{parts.netloc}" != SERVER_ORIGIN and parts.scheme in ("http", "https"):
        return "not a request to the server under test (offline test machine)"
    if status != 404:
        return None
    target = parts.path + ("?" + parts.query if parts.query else "")
    for pattern, reason in ALLOWED_404:
        if re.search(pattern, target):
            return reason
    return None


SETTING_ID = "Comfy.TextareaWidget.FontSize"  # a slider setting, default 10
SETTING_VALUE = 17


class CheckError(Exception):
    """A check's failure with its detail."""


class Browser:
    """A headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, chromium, width=1600, height=1000):
        self.profile = tempfile.mkdtemp(prefix="loom-browser-")
        self.events = []  # every protocol event, in order, with its arrival time under "_received"
        self.events_lock = threading.Lock()
        self.responses = {}
        self.response_ready = threading.Condition()
        self.next_id = 0
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if self.process.poll() is not None:
                raise RuntimeError("chromium exited at start: " + self.process.stderr.read().decode(errors="replace")[-2000:])
            if time.time() > deadline:
                raise RuntimeError("chromium did not open its DevTools port within 30 s")
            time.sleep(0.1)
        time.sleep(0.2)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next((t for t in targets if t.get("type") == "page"), None)
        if page is None:
            raise RuntimeError(f"chromium has no page target: {targets}")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=None, suppress_origin=True,
                                              enable_multithread=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Network.setCacheDisabled", {"cacheDisabled": True})
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _read(self):
        while True:
            try:
                message = json.loads(self.ws.recv())
            except Exception:
                with self.response_ready:
                    self.responses[-1] = {"error": {"message": "DevTools connection closed"}}
                    self.response_ready.notify_all()
                return
            if "id" in message:
                with self.response_ready:
                    self.responses[message["id"]] = message
                    self.response_ready.notify_all()
            else:
                message["_received"] = time.time()
                with self.events_lock:
                    self.events.append(message)

    def call(self, method, params=None, timeout=60):
        """Sends one protocol command and returns its result; raises on a protocol error."""
        with self.response_ready:
            self.next_id += 1
            ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        with self.response_ready:
            while ident not in self.responses:
                if -1 in self.responses:
                    raise RuntimeError(f"{method}: DevTools connection closed")
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise RuntimeError(f"{method}: no answer within {timeout} s")
                self.response_ready.wait(remaining)
            message = self.responses.pop(ident)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message.get("result", {})

    def evaluate(self, expression, timeout=60):
        """Evaluates JavaScript in the page (promises awaited) and returns its JSON value."""
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                 "returnByValue": True, "timeout": timeout * 1000}, timeout=timeout + 5)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CheckError(f"JavaScript error: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout, what):
        """Polls a JavaScript expression until it is truthy; returns its value."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = self.evaluate(expression, timeout=10)
            except CheckError as error:
                last = str(error)
                if not error.args[0].startswith("JavaScript error"):
                    raise
            else:
                if last:
                    return last
            time.sleep(0.25)
        raise CheckError(f"timed out after {timeout} s waiting for {what} (last value: {last!r})")

    def event_count(self):
        with self.events_lock:
            return len(self.events)

    def events_since(self, start):
        with self.events_lock:
            return list(self.events[start:])

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))
        print(f"SCREENSHOT {path}", flush=True)

    def mouse(self, kind, x, y, clicks=1, button="left"):
        self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": button, "clickCount": clicks})

    def click(self, x, y, clicks=1):
        self.mouse("mouseMoved", x, y, 0, "none")
        for count in range(1, clicks + 1):
            self.mouse("mousePressed", x, y, count)
            self.mouse("mouseReleased", x, y, count)

    def key(self, key, code, key_code):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                                 "windowsVirtualKeyCode": key_code})

    def type_text(self, text):
        self.call("Input.insertText", {"text": text})

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def problems(events):
    """Failed requests and console errors among protocol events.

    Returns (failures, tolerated): lists of one-line descriptions; tolerated ones carry their allow-list reason.
    """
    requests = {}
    failures, tolerated = [], []

    def note(line, url, status=404):
        reason = allowed_reason(url, status) if url else None
        if reason:
            tolerated.append(f"{line}  [allowed: {reason}]")
        else:
            failures.append(line)

    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            requests[params["requestId"]] = (params["request"]["method"], params["request"]["url"])
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            url = params["response"]["url"]
            if status >= 400:
                verb = requests.get(params["requestId"], ("GET", url))[0]
                note(f"HTTP {status} {verb} {url}", url, status)
        elif method == "Network.loadingFailed":
            verb, url = requests.get(params["requestId"], ("?", "?"))
            if params.get("canceled"):
                tolerated.append(f"canceled {verb} {url} ({params.get('errorText')})  [allowed: aborted by the page]")
            elif params.get("errorText") == "net::ERR_HTTP_RESPONSE_CODE_FAILURE":
                continue  # also reported by responseReceived with its status
            else:
                note(f"network error {params.get('errorText')} {verb} {url}", url, None)
        elif method == "Network.webSocketFrameError":
            failures.append(f"WebSocket frame error: {params.get('errorMessage')}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            failures.append(f"uncaught exception: {text} at {details.get('url', '?')}:{details.get('lineNumber', '?')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            parts = []
            for arg in params.get("args", []):
                value = arg.get("value", arg.get("description", arg.get("type")))
                parts.append(value if isinstance(value, str) else json.dumps(value))
            text = " ".join(parts)[:800]
            # A failed fetch is logged by the frontend too; tolerate it where the request itself is allowed.
            urls = [u.strip("'\"),.") for u in re.findall(r"https?://\S+|/api/\S+", text)]
            if urls and all(allowed_reason(u if u.startswith("http") else (SERVER_ORIGIN or "") + u) for u in urls):
                tolerated.append(f"console.error: {text}  [allowed: about an allowed request]")
            else:
                failures.append(f"console.error: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                url = entry.get("url")
                line = f"log error ({entry.get('source')}): {entry.get('text')}" + (f" url={url}" if url else "")
                if entry.get("source") == "network" and url:
                    code = re.search(r"status of (\d+)", entry.get("text", ""))
                    note(line, url, int(code.group(1)) if code else None)
                else:
                    failures.append(line)
    return failures, tolerated


READY = ("!!(window.app && window.app.graph && window.app.canvas && window.app.canvasEl"
         " && window.app.canvasEl.isConnected && !document.getElementById('splash-loader'))")


def open_app(browser, url, timeout=90):
    """Navigates to the frontend and waits until the graph canvas is ready."""
    browser.navigate(url)
    browser.wait_for(READY, timeout, "window.app.graph and the canvas, with the splash loader gone")
    # Let the start-up requests that follow the first render settle: at least 3 s, then until no request has
    # started for 2 s (at most 20 s in all).
    settle_start = time.time()
    time.sleep(3)
    while time.time() - settle_start < 20:
        started = [event["_received"] for event in browser.events_since(0)
                   if event.get("method") == "Network.requestWillBeSent"]
        if not started or time.time() - max(started) >= 2:
            break
        time.sleep(0.5)


def dismiss_dialogs(browser):
    """Closes dialogs shown on first start (e.g. the template browser) so the canvas takes input."""
    for _ in range(3):
        count = browser.evaluate("document.querySelectorAll('.p-dialog, [role=dialog]').length")
        if not count:
            return
        browser.key("Escape", "Escape", 27)
        time.sleep(0.5)


def check_load(browser, args):
    start = browser.event_count()
    open_app(browser, args.url)
    browser.screenshot(os.path.join(args.out, "01-page-load.png"))
    info = browser.evaluate("({nodeDefs: Object.keys(window.LiteGraph?.registered_node_types || {}).length,"
                            " title: document.title})")
    failures, tolerated = problems(browser.events_since(start))
    for line in tolerated:
        print(f"  TOLERATED {line}")
    for line in failures:
        print(f"  FAILURE {line}")
    if info.get("nodeDefs", 0) == 0:
        failures.append("no node types registered (GET /api/object_info empty or failed?)")
    if failures:
        raise CheckError(f"{len(failures)} failure(s) during page load (listed above as FAILURE)")
    return f"canvas ready, {info['nodeDefs']} node types registered, {len(tolerated)} tolerated failure(s)"


def check_search(browser, args):
    dismiss_dialogs(browser)
    rect = browser.evaluate("(() => { const r = window.app.canvasEl.getBoundingClientRect();"
                            " return {x: r.x, y: r.y, w: r.width, h: r.height}; })()")
    if not rect or rect["w"] < 100 or rect["h"] < 100:
        raise CheckError(f"the graph canvas is not visible: {rect}")
    # An empty spot: the canvas's lower-left area, where the default graph has no node.
    x, y = rect["x"] + rect["w"] * 0.12, rect["y"] + rect["h"] * 0.85
    browser.evaluate("window.app.graph.clear(); true")
    time.sleep(0.5)
    browser.click(x, y, clicks=2)
    browser.wait_for("(() => { const e = document.activeElement;"
                     " return !!e && (e.tagName === 'INPUT' || e.tagName === 'TEXTAREA'); })()",
                     10, "the node search box to open and take focus after a double click on the canvas")
    browser.type_text("SaveImage")
    found = browser.wait_for(
        "(() => { const hits = [...document.querySelectorAll('li, [role=option]')]"
        ".filter(e => e.offsetParent !== null && /Save ?Image/i.test(e.textContent || ''));"
        " return hits.length ? hits.map(e => e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 80)) : null; })()",
        15, "a search result for SaveImage")
    browser.screenshot(os.path.join(args.out, "02-node-search.png"))
    browser.key("Escape", "Escape", 27)
    return f"search results: {found[:3]}"


def check_run(browser, args):
    dismiss_dialogs(browser)
    start = browser.event_count()
    built = browser.evaluate("""(() => {
        const app = window.app, LG = window.LiteGraph;
        app.graph.clear();
        const empty = LG.createNode('EmptyImage');
        const save = LG.createNode('SaveImage');
        if (!empty || !save) return {error: 'EmptyImage or SaveImage is not a registered node type'};
        empty.pos = [100, 150]; save.pos = [500, 150];
        app.graph.add(empty); app.graph.add(save);
        const set = (node, name, value) => { const w = (node.widgets || []).find(w => w.name === name); if (w) w.value = value; };
        set(empty, 'width', 128); set(empty, 'height', 96); set(empty, 'color', 0x3366cc);
        set(save, 'filename_prefix', 'browser_check');
        empty.connect(0, save, 0);
        app.canvas.setDirty(true, true);
        return {save: save.id, links: Object.keys(app.graph.links || {}).length || app.graph.links?.size || 0};
    })()""")
    if not built or "error" in built:
        raise CheckError(f"could not build the workflow: {built}")
    save_id = built["save"]
    button = browser.evaluate("(() => { const b = document.querySelector('[data-testid=queue-button]');"
                              " if (!b) return null; const r = b.getBoundingClientRect();"
                              " return {x: r.x + r.width / 2, y: r.y + r.height / 2, text: b.textContent.trim()}; })()")
    if not button:
        raise CheckError("the Run button ([data-testid=queue-button]) is not on the page")
    browser.click(button["x"], button["y"])
    try:
        result = browser.wait_for(f"""(() => {{
            const node = window.app.graph.getNodeById({save_id});
            const imgs = node && node.imgs ? node.imgs.map(i => i.src) : [];
            const outputs = window.app.nodeOutputs || {{}};
            const out = outputs['{save_id}'] || outputs[{save_id}];
            const images = out && out.images ? out.images.map(i => i.filename) : [];
            const dom = [...document.querySelectorAll('img')].map(i => i.src).filter(s => /\\/view\\?/.test(s));
            return (imgs.length || images.length || dom.length) ? {{imgs, images, dom: dom.slice(0, 3)}} : null;
        }})()""", 120, "an output image on the SaveImage node or in the queue panel")
    finally:
        browser.screenshot(os.path.join(args.out, "03-run-workflow.png"))
    prompt_posts = [e for e in browser.events_since(start) if e.get("method") == "Network.requestWillBeSent"
                    and e["params"]["request"]["method"] == "POST" and "/prompt" in e["params"]["request"]["url"]]
    failures, _ = problems(browser.events_since(start))
    # Load the image it shows, to be sure /view serves it.
    src = (result.get("imgs") or result.get("dom") or [None])[0]
    if src:
        ok = browser.evaluate(f"fetch({json.dumps(src)}).then(r => r.status + ' ' + r.headers.get('content-type'))")
        if not str(ok).startswith("200 image/"):
            failures.append(f"GET {src} answered {ok}")
    if failures:
        for line in failures:
            print(f"  FAILURE {line}")
        raise CheckError(f"the workflow ran but {len(failures)} failure(s) occurred (listed above)")
    return f"{len(prompt_posts)} POST /api/prompt, output {result}"


def check_settings_set(browser, args):
    current = browser.evaluate(f"window.app.extensionManager.setting.get({json.dumps(SETTING_ID)})")
    if current == SETTING_VALUE:
        raise CheckError(f"{SETTING_ID} already is {SETTING_VALUE} before the change (fresh data directory expected)")
    start = browser.event_count()
    browser.evaluate(f"window.app.extensionManager.setting.set({json.dumps(SETTING_ID)}, {SETTING_VALUE})"
                     ".then(() => true)")
    time.sleep(1)
    posts = [e["params"]["request"]["url"] for e in browser.events_since(start)
             if e.get("method") == "Network.requestWillBeSent" and e["params"]["request"]["method"] == "POST"]
    failures, _ = problems(browser.events_since(start))
    if failures:
        raise CheckError(f"saving the setting failed: {failures}")
    if not any("/settings" in url for url in posts):
        raise CheckError(f"the frontend sent no POST /api/settings… (POSTs seen: {posts})")
    now = browser.evaluate(f"window.app.extensionManager.setting.get({json.dumps(SETTING_ID)})")
    if now != SETTING_VALUE:
        raise CheckError(f"{SETTING_ID} reads {now!r} right after setting {SETTING_VALUE}")
    return f"{SETTING_ID}: {current!r} -> {SETTING_VALUE} (saved with {posts})"


def check_settings_verify(browser, args):
    value = browser.evaluate(f"window.app.extensionManager.setting.get({json.dumps(SETTING_ID)})")
    browser.evaluate("window.app.extensionManager.command.execute('Comfy.ShowSettingsDialog').then(() => true)"
                     ".catch(() => true)")
    time.sleep(1.5)
    browser.screenshot(os.path.join(args.out, "04-settings.png"))
    if value != SETTING_VALUE:
        raise CheckError(f"{SETTING_ID} reads {value!r} after the restart and reload, expected {SETTING_VALUE}")
    return f"{SETTING_ID} is {value} after a server restart and a fresh browser"


CHECKS = {
    "load": check_load,
    "search": check_search,
    "run": check_run,
    "settings-set": check_settings_set,
    "settings-verify": check_settings_verify,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8188/")
    parser.add_argument("--out", required=True, help="directory for screenshots (created if missing)")
    parser.add_argument("--check", action="append", choices=sorted(CHECKS), help="a check to run (repeatable)")
    parser.add_argument("--chromium", default=os.environ.get("LOOM_CHROMIUM") or shutil.which("chromium")
                        or shutil.which("chromium-browser") or shutil.which("google-chrome"),
                        help="the Chromium executable")
    args = parser.parse_args()
    global SERVER_ORIGIN
    base = urllib.parse.urlsplit(args.url)
    SERVER_ORIGIN = f"{base.scheme}://{base.netloc}"
    checks = args.check or ["load", "search", "run"]
    if not args.chromium:
        print("ERROR chromium not found: install the Debian package chromium (scripts/setup.sh does)")
        return 2
    os.makedirs(args.out, exist_ok=True)
    try:
        browser = Browser(args.chromium)
    except Exception as error:
        print(f"ERROR could not start chromium: {error}")
        return 2
    failed = 0
    try:
        for name in checks:
            if name != "load" and not browser.evaluate(READY):
                try:
                    open_app(browser, args.url)
                except CheckError as error:
                    print(f"FAIL {name}: the app did not load: {error}", flush=True)
                    failed += 1
                    continue
            try:
                detail = CHECKS[name](browser, args)
                print(f"PASS {name}: {detail}", flush=True)
            except CheckError as error:
                print(f"FAIL {name}: {error}", flush=True)
                failed += 1
            except Exception as error:  # a protocol or harness error fails the check with its text
                print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
                failed += 1
    finally:
        browser.close()
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
