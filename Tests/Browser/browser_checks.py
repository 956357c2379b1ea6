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
  templates        Workflow > Browse Templates, load an SD1-node template: all its nodes are registered, with the
                   template's widgets and values, and the page shows no error
  templates-missing  load a template with node types the server lacks: the frontend reports them by name
  workflow-save    save the graph from the page (the frontend's save prompt): POST /api/userdata/workflows%2F...
  workflow-verify  after a server restart: the saved workflow is in the workflows sidebar and in the listing
  cancel           run a slow workflow with the Run button, cancel it with the "Cancel current run" button:
                   the job ends as cancelled (/api/jobs) with execution_interrupted (/api/history)
  multi-user       (server started with --multi-user) the user picker: create alice, create bob, choose alice;
                   each user's settings are separate and every API request carries its Comfy-User header
  token            (server started with --token, pass --token) the API answers 401 without the token;
                   /?token=... logs in with a cookie, the page loads without errors and its WebSocket connects

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
import urllib.error
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


# ---------------------------------------------------------------------------------------------------------------
# Helpers of the checks below.

def element_center(browser, finder):
    """The viewport centre of the element a JavaScript expression finds (scrolled into view), or None."""
    return browser.evaluate(f"""(() => {{
        const e = ({finder});
        if (!e || !e.getClientRects().length) return null;
        e.scrollIntoView({{block: 'center', inline: 'center'}});
        const r = e.getBoundingClientRect();
        return {{x: r.x + r.width / 2, y: r.y + r.height / 2}};
    }})()""")


def click_element(browser, finder, what, timeout=20):
    """Waits until the element is visible (and enabled), then clicks its centre."""
    browser.wait_for(f"(() => {{ const e = ({finder}); return !!e && e.getClientRects().length > 0 && !e.disabled; }})()",
                     timeout, what)
    point = element_center(browser, finder)
    if not point:
        raise CheckError(f"{what} disappeared before it could be clicked")
    browser.click(point["x"], point["y"])


def button_with_text(pattern):
    """A finder of the first visible button whose text or aria-label matches a JavaScript regular expression."""
    return (f"[...document.querySelectorAll('button')].find(b => b.getClientRects().length && "
            f"({pattern}.test(b.textContent || '') || {pattern}.test(b.getAttribute('aria-label') || '')))")


def execute_command(browser, command):
    """Starts a frontend command (what its menu entry runs) without waiting for it: some wait for a dialog."""
    browser.call("Runtime.evaluate", {"expression": f"window.app.extensionManager.command.execute({json.dumps(command)})"
                                                    ".catch(e => console.warn('command failed', e))"})


def page_fetch_json(browser, path, headers=None):
    """`fetch(path)` from the page (its cookies included); returns {status, body} with the body parsed as JSON."""
    return browser.evaluate(f"""fetch({json.dumps(path)}, {{headers: {json.dumps(headers or {})}, cache: 'no-store'}})
        .then(async r => {{ const t = await r.text(); let b = t; try {{ b = JSON.parse(t); }} catch (e) {{}}
                            return {{status: r.status, body: b}}; }})""")


def report_problems(browser, start, context):
    """Fails the check when requests failed or errors were logged since event `start` (each listed first)."""
    failures, tolerated = problems(browser.events_since(start))
    for line in tolerated:
        print(f"  TOLERATED {line}")
    for line in failures:
        print(f"  FAILURE {line}")
    if failures:
        raise CheckError(f"{len(failures)} failure(s) {context} (listed above as FAILURE)")
    return len(tolerated)


def responses_to(browser, start, method, path_pattern):
    """(status, url, request headers) of the responses since `start` to requests matching method and path regex."""
    requests, found = {}, []
    for event in browser.events_since(start):
        params = event.get("params", {})
        if event.get("method") == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]
        elif event.get("method") == "Network.responseReceived":
            request = requests.get(params["requestId"])
            if request and request["method"] == method:
                parts = urllib.parse.urlsplit(request["url"])
                if re.search(path_pattern, parts.path + ("?" + parts.query if parts.query else "")):
                    found.append((params["response"]["status"], request["url"], request.get("headers", {})))
    return found


def wait_for_responses(browser, start, method, path_pattern, what, timeout=20):
    """`responses_to`, once there is at least one (DevTools events may trail the page's own promise)."""
    deadline = time.time() + timeout
    while True:
        found = responses_to(browser, start, method, path_pattern)
        if found:
            return found
        if time.time() > deadline:
            raise CheckError(f"no response to {what} within {timeout} s")
        time.sleep(0.25)


TEMPLATE_DIALOG = "document.querySelector('[data-dialog-key^=global-workflow-template]')"
TEMPLATE_DIALOG_OPEN = (f"(() => {{ const d = {TEMPLATE_DIALOG}; return !!d && d.getAttribute('data-state') !== 'closed'"
                        " && d.getClientRects().length > 0; })()")


def load_template(browser, name, search, screenshot=None):
    """Opens the template browser (Workflow > Browse Templates), searches, clicks the template's card and waits
    until the graph holds the template's nodes. Returns the template's workflow JSON."""
    template = page_fetch_json(browser, f"/templates/{name}.json")
    if template["status"] != 200 or not isinstance(template["body"], dict):
        raise CheckError(f"GET /templates/{name}.json answered {template['status']}")
    workflow = template["body"]
    dismiss_dialogs(browser)  # the template browser a first start opens: this check opens it itself
    browser.wait_for(f"!{TEMPLATE_DIALOG_OPEN}", 10, "the first-start template browser to close")
    if not browser.evaluate(TEMPLATE_DIALOG_OPEN):
        # The side bar's Templates button runs the same command as Workflow > Browse Templates.
        click_element(browser, button_with_text("/^\\s*Tem\\W*plates\\s*$/"), "the Templates button of the side bar")
    search_box = (f"(() => {{ const d = {TEMPLATE_DIALOG}; return d && [...d.querySelectorAll('input')]"
                  ".find(e => e.getClientRects().length); })()")
    click_element(browser, search_box, "the search box of the template browser", timeout=30)
    browser.evaluate(f"(() => {{ const i = {search_box}; i.focus(); i.select(); return true; }})()")
    browser.type_text(search)
    card = f"document.querySelector('[data-testid=\"template-workflow-{name}\"]')"
    browser.wait_for(f"!!{card}", 30, f"the card of template {name} after searching {search!r}")
    if screenshot:
        browser.screenshot(screenshot)
    click_element(browser, card, f"the card of template {name}", timeout=30)
    expected = sorted(node["type"] for node in workflow.get("nodes", []))
    browser.wait_for(f"""(() => {{
        if ({TEMPLATE_DIALOG_OPEN}) return false;
        const types = window.app.graph.nodes.map(n => n.type).sort();
        return JSON.stringify(types) === {json.dumps(json.dumps(expected, separators=(",", ":")))};
    }})()""", 60, f"the graph to hold the nodes of {name} ({', '.join(expected)}) with the template browser closed")
    return workflow


def graph_nodes(browser):
    """Each graph node's id, type, whether its type is registered, and its widgets' names and values."""
    return browser.evaluate("""window.app.graph.nodes.map(n => ({
        id: n.id, type: n.type, registered: !!window.LiteGraph.registered_node_types[n.type],
        widgets: (n.widgets || []).map(w => w.name), values: (n.widgets || []).map(w => w.value)}))""")


# ---------------------------------------------------------------------------------------------------------------
# Templates (spec 2.8, 7).

SD1_TEMPLATE = ("image_sdxl_simple", "SDXL1.0")  # Load Checkpoint, CLIP Text Encode x2, Empty Latent, KSampler, ...
MISSING_TEMPLATE = ("sdxlturbo_example", "SDXL Turbo")  # adds SamplerCustom, KSamplerSelect, SDTurboScheduler


def check_templates(browser, args):
    start = browser.event_count()
    name, search = SD1_TEMPLATE
    workflow = load_template(browser, name, search, os.path.join(args.out, "05-template-browser.png"))
    time.sleep(1)  # let the missing-model probes of the loader finish before judging the requests
    browser.screenshot(os.path.join(args.out, "05-template-loaded.png"))
    object_info = page_fetch_json(browser, "/api/object_info")["body"]
    unused = graph_nodes(browser)  # the frontend may renumber the nodes: pair them by type (and values)
    problems_found, server_nodes = [], []
    for saved in workflow["nodes"]:
        candidates = [n for n in unused if n["type"] == saved["type"]]
        node = next((n for n in candidates if n["values"] == saved.get("widgets_values")), None) \
            or (candidates[0] if candidates else None)
        if node is None:
            problems_found.append(f"node {saved['id']} ({saved['type']}) is not in the graph")
            continue
        unused.remove(node)
        if not node["registered"]:
            problems_found.append(f"node {saved['id']} ({saved['type']}) is not a registered node type")
            continue
        if saved["type"] not in object_info:
            continue  # a frontend-only node (MarkdownNote, Note)
        server_nodes.append(saved["type"])
        definition = object_info[saved["type"]]
        if any(w == "UNKNOWN" or w.startswith("UNKNOWN_") for w in node["widgets"]):
            problems_found.append(f"{saved['type']} has placeholder widgets {node['widgets']}")
        inputs = definition.get("input", {})
        widget_inputs = [key for section in ("required", "optional")
                         for key in definition.get("input_order", {}).get(section, list(inputs.get(section, {})))
                         if key in inputs.get(section, {}) and (isinstance(inputs[section][key][0], list)
                         or inputs[section][key][0] in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"))
                         and not (len(inputs[section][key]) > 1 and inputs[section][key][1].get("forceInput"))]
        missing_widgets = [key for key in widget_inputs if key not in node["widgets"]]
        if missing_widgets:
            problems_found.append(f"{saved['type']} lacks the widgets {missing_widgets} (has {node['widgets']})")
        saved_values = saved.get("widgets_values")
        if isinstance(saved_values, list) and node["values"] != saved_values:
            problems_found.append(f"{saved['type']} widget values {node['values']} differ from the template's {saved_values}")
    if not server_nodes:
        problems_found.append("the template has no node of the server")
    for line in problems_found:
        print(f"  FAILURE {line}")
    tolerated = report_problems(browser, start, "while loading the template")
    if problems_found:
        raise CheckError(f"{len(problems_found)} problem(s) with the loaded template (listed above)")
    return (f"{name}: {len(server_nodes)} server nodes with the template's widgets ({', '.join(sorted(server_nodes))}), "
            f"{tolerated} tolerated failure(s)")


def check_templates_missing(browser, args):
    start = browser.event_count()
    name, search = MISSING_TEMPLATE
    workflow = load_template(browser, name, search)
    object_info = page_fetch_json(browser, "/api/object_info")["body"]
    registered = browser.evaluate("Object.keys(window.LiteGraph.registered_node_types)")
    types = {node["type"] for node in workflow["nodes"]}
    missing = sorted(t for t in types if t not in object_info and t not in registered)
    present = sorted(t for t in types if t in object_info)
    if not missing:
        raise CheckError(f"template {name} has no node type the server lacks (types: {sorted(types)})")
    # The frontend announces the issues in a toast; its "View details" opens the panel that names the missing nodes.
    click_element(browser, button_with_text("/View details/"), "the 'View details' button of the issues notice", 30)
    listed = browser.wait_for(f"""(() => {{
        const text = [...document.querySelectorAll('[data-testid=missing-node-card]')].map(e => e.innerText).join('\\n');
        return {json.dumps(missing)}.every(t => text.includes(t)) ? text : null;
    }})()""", 20, f"the missing-nodes report to name {missing}")
    # Unfold the pack's list of nodes, so the names show (a name is shown where a click on it would land on it).
    click_element(browser, "document.querySelector('[data-testid=missing-node-pack-expand]')",
                  "the expander of the missing node pack")
    browser.wait_for(f"""{json.dumps(missing)}.every(name => [...document.querySelectorAll(
        '[data-testid=missing-node-card] *')].some(e => {{
            if (e.children.length || e.textContent.trim() !== name) return false;
            const r = e.getBoundingClientRect(), hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return !!hit && (hit === e || e.contains(hit) || hit.contains(e));
        }}))""", 10, f"the names {missing} to be visible in the missing-nodes report")
    browser.screenshot(os.path.join(args.out, "06-template-missing-nodes.png"))
    lines = {line.strip() for line in listed.splitlines()}
    wrongly = [t for t in present if t in lines]
    if wrongly:
        raise CheckError(f"node types the server has are reported as missing: {wrongly}")
    tolerated = report_problems(browser, start, "while loading the template with missing nodes")
    return f"{name}: missing {missing} reported by name; present {present}; {tolerated} tolerated failure(s)"


# ---------------------------------------------------------------------------------------------------------------
# Workflows saved in user data (spec 2.7).

WORKFLOW_NAME = "browser check flow"
WORKFLOW_FILE = "workflows/" + WORKFLOW_NAME + ".json"


def check_workflow_save(browser, args):
    dismiss_dialogs(browser)
    start = browser.event_count()
    browser.evaluate("""(() => {
        const app = window.app, LG = window.LiteGraph;
        app.graph.clear();
        const empty = LG.createNode('EmptyImage'), save = LG.createNode('SaveImage');
        empty.pos = [100, 150]; save.pos = [500, 150];
        app.graph.add(empty); app.graph.add(save); empty.connect(0, save, 0);
        app.canvas.setDirty(true, true);
        return true;
    })()""")
    # Workflow > Save: an unsaved workflow asks for a file name in the frontend's prompt dialog.
    execute_command(browser, "Comfy.SaveWorkflow")
    prompt_input = ("(() => { const d = document.querySelector('[data-dialog-key=global-prompt]');"
                    " return d && d.querySelector('input'); })()")
    browser.wait_for(f"!!{prompt_input}", 20, "the save prompt's file name input")
    browser.evaluate(f"(() => {{ const i = {prompt_input}; i.focus(); i.select(); return true; }})()")
    browser.type_text(WORKFLOW_NAME)
    browser.screenshot(os.path.join(args.out, "07-save-prompt.png"))
    browser.key("Enter", "Enter", 13)
    pattern = r"^/api/userdata/workflows(%2F|/)" + re.escape(urllib.parse.quote(WORKFLOW_NAME)) + r"\.json"
    browser.wait_for("!document.querySelector('[data-dialog-key=global-prompt]')", 20, "the save prompt to close")
    status, url, _ = wait_for_responses(browser, start, "POST", pattern, f"a POST matching {pattern}")[0]
    if status != 200:
        raise CheckError(f"POST {url} answered {status}")
    listing = page_fetch_json(browser, "/api/userdata?dir=workflows&recurse=true&split=false&full_info=true")
    paths = [entry.get("path") for entry in listing["body"]] if listing["status"] == 200 else []
    if WORKFLOW_NAME + ".json" not in paths:
        raise CheckError(f"GET /api/userdata?dir=workflows answered {listing['status']} without the workflow: {listing['body']}")
    browser.screenshot(os.path.join(args.out, "07-workflow-saved.png"))
    report_problems(browser, start, "while saving the workflow")
    return f"saved with POST {url} ({status}); listing {paths}"


def check_workflow_verify(browser, args):
    dismiss_dialogs(browser)
    start = browser.event_count()
    listing = page_fetch_json(browser, "/api/userdata?dir=workflows&recurse=true&split=false&full_info=true")
    paths = [entry.get("path") for entry in listing["body"]] if listing["status"] == 200 else []
    if WORKFLOW_NAME + ".json" not in paths:
        raise CheckError(f"after the restart GET /api/userdata?dir=workflows answered {listing['status']}: {listing['body']}")
    # The Workflows tab of the side bar lists the saved workflows; clicking one opens it.
    click_element(browser, button_with_text("/Work\\W*flows/"), "the Workflows button of the side bar")
    entry = (f"[...document.querySelectorAll('[data-testid=workflows-sidebar] *')]"
             f".find(e => e.children.length === 0 && e.getClientRects().length && e.textContent.trim() === {json.dumps(WORKFLOW_NAME)})")
    click_element(browser, entry, f"{WORKFLOW_NAME!r} in the workflows side bar", timeout=20)
    browser.wait_for("(() => { const t = window.app.graph.nodes.map(n => n.type).sort();"
                     " return JSON.stringify(t) === JSON.stringify(['EmptyImage', 'SaveImage']); })()",
                     20, "the saved workflow (EmptyImage -> SaveImage) to open from the side bar")
    browser.screenshot(os.path.join(args.out, "08-workflows-sidebar.png"))
    report_problems(browser, start, "while opening the saved workflow")
    return f"{WORKFLOW_NAME}.json listed after the restart ({paths}) and opened from the side bar"


# ---------------------------------------------------------------------------------------------------------------
# Cancelling a running job (spec 2.2, 4.7).

def check_cancel(browser, args):
    dismiss_dialogs(browser)
    start = browser.event_count()
    # A chain of lanczos resizes, each a fraction of a second to seconds: slow enough to cancel, and the
    # interrupt takes effect at the next node.
    browser.evaluate("""(() => {
        const app = window.app, LG = window.LiteGraph;
        app.graph.clear();
        let previous = LG.createNode('EmptyImage');
        previous.pos = [50, 100]; app.graph.add(previous);
        for (let i = 0; i < 60; i++) {
            const scale = LG.createNode('ImageScale');
            const set = (name, value) => { const w = scale.widgets.find(w => w.name === name); if (w) w.value = value; };
            set('upscale_method', 'lanczos'); set('width', i % 2 ? 64 : 1024); set('height', i % 2 ? 64 : 1024);
            scale.pos = [300 + (i % 8) * 260, 60 + Math.floor(i / 8) * 190];
            app.graph.add(scale); previous.connect(0, scale, 0); previous = scale;
        }
        const preview = LG.createNode('PreviewImage');
        preview.pos = [300, 1500]; app.graph.add(preview); previous.connect(0, preview, 0);
        app.canvas.setDirty(true, true);
        return true;
    })()""")
    click_element(browser, "document.querySelector('[data-testid=queue-button]')", "the Run button")
    running = browser.wait_for("""fetch('/api/jobs?status=in_progress,pending&limit=10', {cache: 'no-store'})
        .then(r => r.json()).then(d => (d.jobs || []).find(j => j.status === 'in_progress') || null)""",
                               60, "the job to be running (GET /api/jobs?status=in_progress)")
    job_id = running["id"]
    browser.screenshot(os.path.join(args.out, "09-job-running.png"))
    cancel_start = browser.event_count()
    click_element(browser, "document.querySelector('button[aria-label=\"Cancel current run\"]')",
                  "the enabled 'Cancel current run' button", timeout=30)
    job = browser.wait_for(f"""fetch('/api/jobs/{job_id}', {{cache: 'no-store'}}).then(r => r.json())
        .then(j => ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null)""",
                           60, f"job {job_id} to end after the cancel")
    browser.screenshot(os.path.join(args.out, "09-job-cancelled.png"))
    sent = [(s, u) for s, u, _ in wait_for_responses(browser, cancel_start, "POST", r"^/api/(interrupt|jobs/[^/]+/cancel|jobs/cancel)",
                                                     "the cancel button's POST /api/interrupt or /api/jobs/…/cancel", 10)]
    if job.get("status") != "cancelled":
        raise CheckError(f"job {job_id} ended as {job.get('status')!r}, expected 'cancelled' (sent {sent})")
    history = page_fetch_json(browser, f"/api/history/{job_id}")["body"].get(job_id, {})
    messages = [m[0] for m in (history.get("status") or {}).get("messages", [])]
    if "execution_interrupted" not in messages or (history.get("status") or {}).get("status_str") != "error":
        raise CheckError(f"history of {job_id}: status {history.get('status')!r}, expected error with execution_interrupted")
    report_problems(browser, start, "while running and cancelling")
    return f"job {job_id} cancelled with {sent}; history messages {messages}"


# ---------------------------------------------------------------------------------------------------------------
# Multi-user mode (spec 5).

def pick_user(browser, new_name=None, existing=None):
    """On the user picker: types a new user name or chooses an existing user, presses Next, waits for the app."""
    browser.wait_for("!!document.getElementById('new-user-input')", 60, "the user picker (#new-user-input)")
    if new_name:
        click_element(browser, "document.getElementById('new-user-input')", "the new user name input")
        browser.type_text(new_name)
    else:
        click_element(browser, "document.getElementById('existing-user-select')", "the existing user select")
        click_element(browser, f"[...document.querySelectorAll('[role=option]')].find(o => o.textContent.trim() === {json.dumps(existing)})",
                      f"the option {existing!r} of the existing user select")
        browser.wait_for(f"document.getElementById('existing-user-select').textContent.includes({json.dumps(existing)})"
                         " && ![...document.querySelectorAll('[role=option]')].some(o => o.getClientRects().length)",
                         10, f"{existing!r} to be selected and the option list closed")
    click_element(browser, button_with_text("/^\\s*Next\\s*$/"), "the Next button of the user picker")
    browser.wait_for("!document.getElementById('new-user-input')", 30, "the user picker to go after Next")
    browser.wait_for(READY, 90, "the app after choosing a user")
    return browser.evaluate("({id: localStorage['Comfy.userId'], name: localStorage['Comfy.userName']})")


def log_out(browser, url):
    """The frontend's sign-out forgets the two local-storage keys; a reload then shows the user picker."""
    browser.evaluate("localStorage.removeItem('Comfy.userId'); localStorage.removeItem('Comfy.userName'); true")
    browser.navigate(url)


def check_multi_user(browser, args):
    start = browser.event_count()
    browser.navigate(args.url)
    browser.wait_for("!!document.getElementById('new-user-input')", 60, "the user picker")
    browser.screenshot(os.path.join(args.out, "10-user-picker.png"))
    setting = json.dumps(SETTING_ID)
    alice = pick_user(browser, new_name="alice")
    if not (alice.get("id") or "").startswith("alice_") or alice.get("name") != "alice":
        raise CheckError(f"after creating alice the page stores the user {alice}")
    before = browser.evaluate(f"window.app.extensionManager.setting.get({setting})")
    mark = browser.event_count()
    browser.evaluate(f"window.app.extensionManager.setting.set({setting}, {SETTING_VALUE}).then(() => true)")
    browser.screenshot(os.path.join(args.out, "10-user-alice.png"))
    posts = wait_for_responses(browser, mark, "POST", r"^/api/settings", "alice's POST /api/settings…")
    if posts[0][0] != 200:
        raise CheckError(f"saving alice's setting: {posts}")
    header = {k.lower(): v for k, v in posts[0][2].items()}.get("comfy-user")
    if header != alice["id"]:
        raise CheckError(f"POST /api/settings carried Comfy-User {header!r}, expected {alice['id']!r}")
    log_out(browser, args.url)
    bob = pick_user(browser, new_name="bob")
    bob_value = browser.evaluate(f"window.app.extensionManager.setting.get({setting})")
    browser.screenshot(os.path.join(args.out, "10-user-bob.png"))
    if bob_value == SETTING_VALUE or bob_value != before:
        raise CheckError(f"bob sees {SETTING_ID} = {bob_value!r} (alice set {SETTING_VALUE}, default {before!r})")
    log_out(browser, args.url)
    again = pick_user(browser, existing="alice")
    value = browser.evaluate(f"window.app.extensionManager.setting.get({setting})")
    if again.get("id") != alice["id"] or value != SETTING_VALUE:
        raise CheckError(f"choosing alice again: user {again}, {SETTING_ID} = {value!r} (expected {SETTING_VALUE})")
    stored = {name: page_fetch_json(browser, "/api/settings", {"Comfy-User": user["id"]})["body"]
              for name, user in (("alice", alice), ("bob", bob))}
    if stored["alice"].get(SETTING_ID) != SETTING_VALUE or SETTING_ID in stored["bob"]:
        raise CheckError(f"GET /api/settings per Comfy-User: {stored}")
    users = page_fetch_json(browser, "/api/users")["body"]
    if set(users.get("users", {}).values()) != {"alice", "bob"}:
        raise CheckError(f"GET /api/users lists {users}")
    unlabelled = [(s, u) for s, u, h in responses_to(browser, start, "GET", r"^/api/settings$")
                  if {k.lower(): v for k, v in h.items()}.get("comfy-user") not in (alice["id"], bob["id"])]
    if unlabelled:
        raise CheckError(f"GET /api/settings without a known Comfy-User: {unlabelled}")
    tolerated = report_problems(browser, start, "in multi-user mode")
    return f"users {users['users']}; alice's {SETTING_ID}={value}, bob's={bob_value!r}; {tolerated} tolerated failure(s)"


# ---------------------------------------------------------------------------------------------------------------
# Token mode (the web login).

def check_token(browser, args):
    if not args.token:
        raise CheckError("the token check needs --token")
    refused = {}
    for path in ("/api/object_info", "/api/settings", "/api/users", "/api/system_stats"):
        try:
            with urllib.request.urlopen(urllib.parse.urljoin(args.url, path), timeout=10) as response:
                refused[path] = response.status
        except urllib.error.HTTPError as error:
            refused[path] = error.code
    if any(status != 401 for status in refused.values()):
        raise CheckError(f"without the token the API answered {refused}, expected 401 everywhere")
    start = browser.event_count()
    open_app(browser, urllib.parse.urljoin(args.url, "/?token=" + urllib.parse.quote(args.token, safe="")))
    browser.screenshot(os.path.join(args.out, "11-token-login.png"))
    href = browser.evaluate("location.href")
    if "token=" in href:
        raise CheckError(f"the page kept the token in its address: {href}")
    cookies = browser.call("Network.getCookies", {"urls": [args.url]}).get("cookies", [])
    cookie = next((c for c in cookies if c.get("name") == "loom_token"), None)
    if not cookie or not cookie.get("httpOnly") or cookie.get("sameSite") != "Strict":
        raise CheckError(f"no HttpOnly, SameSite=Strict loom_token cookie: {cookies}")
    browser.wait_for("window.app.api.socket && window.app.api.socket.readyState === 1", 20, "the WebSocket to be open")
    handshakes = [e["params"]["response"].get("status") for e in browser.events_since(start)
                  if e.get("method") == "Network.webSocketHandshakeResponseReceived"]
    if 101 not in handshakes:
        raise CheckError(f"no WebSocket handshake answered 101 (saw {handshakes})")
    info = browser.evaluate("Object.keys(window.LiteGraph.registered_node_types).length")
    tolerated = report_problems(browser, start, "loading the page with the token")
    without = browser.evaluate("fetch('/api/object_info', {credentials: 'omit', cache: 'no-store'}).then(r => r.status)")
    if without != 401:
        raise CheckError(f"GET /api/object_info without the cookie answered {without} from the page, expected 401")
    return (f"401 without the token {refused}; logged in by cookie, {info} node types, WebSocket handshakes {handshakes}, "
            f"{tolerated} tolerated failure(s)")


CHECKS = {
    "load": check_load,
    "search": check_search,
    "run": check_run,
    "settings-set": check_settings_set,
    "settings-verify": check_settings_verify,
    "templates": check_templates,
    "templates-missing": check_templates_missing,
    "workflow-save": check_workflow_save,
    "workflow-verify": check_workflow_verify,
    "cancel": check_cancel,
    "multi-user": check_multi_user,
    "token": check_token,
}


def failure_screenshot(browser, args, name):
    """The page as it was when a check failed."""
    try:
        browser.screenshot(os.path.join(args.out, f"failed-{name}.png"))
    except Exception as error:
        print(f"  (no screenshot of the failure: {error})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8188/")
    parser.add_argument("--out", required=True, help="directory for screenshots (created if missing)")
    parser.add_argument("--check", action="append", choices=sorted(CHECKS), help="a check to run (repeatable)")
    parser.add_argument("--chromium", default=os.environ.get("LOOM_CHROMIUM") or shutil.which("chromium")
                        or shutil.which("chromium-browser") or shutil.which("google-chrome"),
                        help="the Chromium executable")
    parser.add_argument("--token", help="the server's token (the token check logs in with it)")
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
            if name not in ("load", "multi-user", "token") and not browser.evaluate(READY):
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
                failure_screenshot(browser, args, name)
            except Exception as error:  # a protocol or harness error fails the check with its text
                print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
                failed += 1
                failure_screenshot(browser, args, name)
    finally:
        browser.close()
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
