#!/usr/bin/env python3
"""Compatibility checks for an EAS-style queue service, driven by the official
``eas-prediction==0.36`` SDK (QueueClient, PredictClient, StringRequest).

Each check prints one line, ``PASS tNN name`` or ``FAIL tNN name: reason``;
optional checks whose arguments are missing print ``SKIP tNN name: ...``.
The exit status is 1 when any check failed, 0 otherwise (2 on usage errors).

Example::

    python eas_checks.py --endpoint 127.0.0.1:8188 --service eas_test --token secret

See README.md next to this file for the server-side prerequisites.
"""

import argparse
import base64
import json
import logging
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

import websocket
from eas_prediction import PredictClient, PredictException, QueueClient, StringRequest

# ---------------------------------------------------------------------------
# Settings

#: Per-request timeout for QueueClient calls (ms); the SDK default.
CLIENT_TIMEOUT_MS = 5000
#: Re-sends per QueueClient call in most checks. The SDK default is 5 (six
#: identical requests); one retry keeps a broken server from stretching every
#: call to 6 timeouts while still tolerating a stale keep-alive connection.
RETRIES = 1
#: Hard wall-clock limit per check (seconds), so a hung server fails the check.
CHECK_TIMEOUT_S = 40.0


class CheckFailed(Exception):
    """An expectation of a check did not hold."""


class _StopWatch(BaseException):
    """Raised inside a watcher's reconnect loop once the test wants it to end.

    It derives from BaseException so that the SDK's ``except Exception`` in
    ``Watcher.run()`` does not swallow it (see ``_create_connection``).
    """


# ---------------------------------------------------------------------------
# Shutdown hook for watchers.
#
# ``Watcher.close()`` aborts the socket; when ``run()`` is blocked in ``recv()``
# on another thread, the SDK catches the error and silently reconnects forever.
# The SDK opens every connection through ``websocket.create_connection``; this
# pass-through wrapper counts connections per thread and refuses to open a new
# one on a watcher thread that was asked to stop. It changes nothing on the wire.

_original_create_connection = websocket.create_connection


def _create_connection(url, *args, **kwargs):
    thread = threading.current_thread()
    if getattr(thread, "eas_stop", False):
        raise _StopWatch()
    sock = _original_create_connection(url, *args, **kwargs)
    thread.eas_connects = getattr(thread, "eas_connects", 0) + 1
    return sock


websocket.create_connection = _create_connection


# ---------------------------------------------------------------------------
# Helpers


def short(value, limit=300):
    """repr() of a value, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def describe(exc):
    """One-line description of an exception, with status and body for SDK errors."""
    if isinstance(exc, PredictException):
        return "PredictException(code=%s, message=%s)" % (exc.code, short(exc.message))
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return "WebSocketBadStatusException(status=%s, body=%s)" % (
            exc.status_code, short(getattr(exc, "resp_body", None)))
    return "%s: %s" % (type(exc).__name__, short(str(exc)))


def require(condition, message):
    """Fail the current check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def require_eq(actual, expected, what):
    """Fail unless ``actual == expected``; the message shows both values."""
    if actual != expected:
        raise CheckFailed("%s: expected %s, got %s" % (what, short(expected), short(actual)))


@dataclass
class Frame:
    """A DataFrame copied out of its protobuf message."""

    index: int
    data: bytes
    tags: dict
    message: str

    @staticmethod
    def of(df):
        # dict() first: reading a missing key of the protobuf map would insert it.
        return Frame(int(df.index), bytes(df.data), dict(df.tags), str(df.message))


class ListHandler(logging.Handler):
    """Keeps the SDK's log records so failures can quote them."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class WatchRunner:
    """Runs ``watcher.run()`` on a daemon thread and collects its frames.

    ``on_frame(frame, count)`` runs on the watcher thread after each frame; if it
    returns True the runner stops. ``max_frames`` stops it after that many frames.
    """

    def __init__(self, ctx, client, watcher, on_frame=None, max_frames=None):
        self.ctx = ctx
        self.client = client
        self.watcher = watcher
        self.on_frame = on_frame
        self.max_frames = max_frames
        self.frames = []
        self.error = None
        self.finished = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.eas_stop = False
        self.thread.eas_connects = 0
        ctx.runners.append(self)

    def start(self):
        self.thread.start()
        return self

    @property
    def connects(self):
        return self.thread.eas_connects

    def _run(self):
        try:
            for df in self.watcher.run():
                frame = Frame.of(df)
                with self.cond:
                    self.frames.append(frame)
                    count = len(self.frames)
                    self.cond.notify_all()
                stop = False
                if self.on_frame is not None:
                    stop = bool(self.on_frame(frame, count))
                if stop or self.thread.eas_stop or (
                        self.max_frames is not None and count >= self.max_frames):
                    break
        except _StopWatch:
            pass
        except BaseException as exc:  # reported by the check
            self.error = exc
        finally:
            with self.cond:
                self.finished = True
                self.cond.notify_all()

    def wait_for(self, count, timeout):
        """Wait until ``count`` frames arrived (True) or timeout/end (False)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.frames) < count and not self.finished:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return len(self.frames) >= count

    def wait_finished(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.finished:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.finished

    def require_frames(self, count, timeout, what="frames"):
        """Fail unless ``count`` frames arrive within ``timeout`` seconds."""
        if not self.wait_for(count, timeout):
            raise CheckFailed("%s: got %d of %d within %.1fs%s" % (
                what, len(self.frames), count, timeout, self.diagnosis()))

    def diagnosis(self):
        """Details for a failure message: connections, errors, SDK log lines."""
        parts = ["websocket connects=%d" % self.connects]
        if self.error is not None:
            parts.append("watcher error=" + describe(self.error))
        log = self.ctx.log.lines
        if log:
            parts.append("last SDK log=%s" % short(log[-1], 200))
        return " (" + "; ".join(parts) + ")"

    def stop(self, timeout=3.0):
        """Close the watcher and end its thread; True if the thread ended."""
        self.thread.eas_stop = True
        try:
            if self.client.watch_sock is not None:
                self.watcher.close()
        except Exception:
            pass
        if self.thread.is_alive():
            self.thread.join(timeout)
        # A reconnect that won the race against close(): drop that socket too.
        sock = self.client.watch_sock
        if sock is not None and not self.thread.is_alive():
            try:
                sock.abort()
            except Exception:
                pass
            self.client.watch_sock = None
        self.watcher.closed = True
        self.watcher.event.set()
        return not self.thread.is_alive()


class Ctx:
    """Per-check state: arguments, clients created, watchers started."""

    def __init__(self, args):
        self.args = args
        self.clients = []
        self.runners = []
        self.step = "start"
        self.info = []
        self.log = ListHandler()
        self.logger = logging.getLogger("eas_checks.sdk.%s" % uuid.uuid4().hex)
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self.log)

    # -- clients -----------------------------------------------------------

    def client(self, name, retries=RETRIES, timeout_ms=CLIENT_TIMEOUT_MS, token=None, **init_kwargs):
        """A QueueClient for queue ``name`` (``svc`` or ``svc/sink``), initialised."""
        c = QueueClient(self.args.endpoint, name)
        c.set_token(self.args.token if token is None else token)
        c.set_timeout(timeout_ms)
        c.set_retry_count(retries)
        c.init(**init_kwargs)
        c.set_logger(self.logger)
        self.clients.append(c)
        return c

    def input(self, **kwargs):
        return self.client(self.args.service, **kwargs)

    def sink(self, **kwargs):
        return self.client(self.args.service + "/sink", **kwargs)

    def watch(self, client, *watch_args, on_frame=None, max_frames=None, **watch_kwargs):
        """Start ``client.watch(...)`` on a runner thread."""
        watcher = client.watch(*watch_args, **watch_kwargs)
        return WatchRunner(self, client, watcher, on_frame=on_frame, max_frames=max_frames).start()

    # -- queue helpers -----------------------------------------------------

    def attrs(self, client):
        a = client.attributes()
        require(isinstance(a, dict) and a, "attributes() of %s returned %s" % (client.service_name, short(a)))
        return a

    def length(self, client):
        a = self.attrs(client)
        require("stream.length" in a, "attributes of %s lack stream.length: %s" % (client.service_name, short(a)))
        return a["stream.length"]

    def require_length(self, client, expected, what=None):
        a = self.attrs(client)
        require_eq(a.get("stream.length"), expected,
                   what or "stream.length of %s (attributes %s)" % (client.service_name, short(a, 400)))
        return a

    def empty(self, *clients):
        """Empty queues the way SDK users do: attributes, then truncate(lastEntry + 1)."""
        for c in clients:
            self.step = "empty %s" % c.service_name
            a = self.attrs(c)
            if "stream.lastEntry" in a:
                last = a["stream.lastEntry"]
                require(str(last).isdigit(), "stream.lastEntry is not a decimal string: %s" % short(last))
                c.truncate(int(last) + 1)
                a = self.attrs(c)
            require_eq(a.get("stream.length"), "0",
                       "stream.length of %s after truncate (attributes %s)" % (c.service_name, short(a, 400)))

    def close(self):
        for r in self.runners:
            r.stop(timeout=2.0)
        for c in self.clients:
            c.destroy()


def raw_request(url, token, method="GET", headers=None, body=None, timeout=10.0):
    """A plain urllib request; returns (status, headers, body) for any status."""
    req = urllib.request.Request(url, data=body, method=method)
    if token is not None:
        req.add_header("Authorization", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def base_url(endpoint):
    """The SDK's http:// base for an endpoint string."""
    url = endpoint if endpoint.startswith("http://") else "http://" + endpoint
    return url[:-1] if url.endswith("/") else url


def expect_predict_error(fn, what):
    """Run ``fn``; it must raise PredictException. Returns the exception."""
    try:
        result = fn()
    except PredictException as exc:
        return exc
    raise CheckFailed("%s: expected PredictException, call returned %s" % (what, short(result)))


def is_2xx(code):
    return isinstance(code, int) and 200 <= code < 300


# ---------------------------------------------------------------------------
# Checks (spec section 8). Each takes a Ctx and raises CheckFailed on failure.


def t01_attributes(ctx):
    """attributes() of an empty input queue and sink: str->str with the keys clients use."""
    svc = ctx.args.service
    for c, name in ((ctx.input(), svc), (ctx.sink(), svc + "/sink")):
        ctx.empty(c)
        ctx.step = "attributes %s" % name
        a = c.attributes()
        require(isinstance(a, dict), "attributes() returned %s" % short(a))
        bad = {k: v for k, v in a.items() if not isinstance(k, str) or not isinstance(v, str)}
        require(not bad, "attributes of %s: non-string entries %s" % (name, short(bad)))
        for key in ("meta.name", "meta.maxPayloadBytes", "stream.length", "stream.approxMaxLength"):
            require(key in a, "attributes of %s lack %s: %s" % (name, key, short(a, 400)))
        require_eq(a["meta.name"], name, "meta.name")
        require(a["meta.maxPayloadBytes"].isdigit(), "meta.maxPayloadBytes not digits: %s" % short(a))
        require(a["stream.approxMaxLength"].isdigit(), "stream.approxMaxLength not digits: %s" % short(a))
        require_eq(a["stream.length"], "0", "stream.length of empty %s" % name)
        for key in ("stream.lastEntry", "stream.firstEntry"):
            require(key not in a or a[key].isdigit(), "%s is not digits: %s" % (key, short(a)))


def t02_put(ctx):
    """put() returns increasing decimal indexes and distinct request ids."""
    q = ctx.input()
    ctx.empty(q)
    ctx.step = "put b'one'"
    i1, r1 = q.put(b"one")
    ctx.step = "put 'two'"
    i2, r2 = q.put("two")
    for i, r in ((i1, r1), (i2, r2)):
        require(isinstance(i, str) and i.isdigit() and int(i) > 0, "put index %s is not a decimal > 0" % short(i))
        require(isinstance(r, str) and r.strip(), "put request id %s is empty" % short(r))
    require(int(i2) > int(i1), "second index %s not greater than first %s" % (i2, i1))
    require(r1 != r2, "request ids are equal: %s" % r1)
    ctx.step = "attributes after 2 puts"
    a = ctx.require_length(q, "2")
    require_eq(a.get("stream.firstEntry"), i1, "stream.firstEntry")
    require_eq(a.get("stream.lastEntry"), i2, "stream.lastEntry")
    ctx.step = "get the str body back"
    got = [Frame.of(x) for x in q.get(request_id=r2, auto_delete=False, timeout="1s")]
    require_eq([f.data for f in got], [b"two"], "data of the str put (UTF-8)")


def t03_get(ctx):
    """get() by index and request id: exact bytes, tags (form-encoded), auto_delete."""
    q = ctx.input()
    ctx.empty(q)
    payload = b"\x00\xffpayload"
    tags = {"task_id": "txt2img_0", "k": "a b&c=d"}
    ctx.step = "put tagged binary item"
    idx, rid = q.put(payload, tags=tags)

    def check_item(items, what):
        frames = [Frame.of(x) for x in items]
        require_eq(len(frames), 1, "%s: number of items (%s)" % (what, short(frames)))
        f = frames[0]
        require_eq(f.index, int(idx), "%s: index" % what)
        require_eq(f.data, payload, "%s: data" % what)
        require_eq(f.message, "", "%s: message" % what)
        require_eq(f.tags.get("requestId"), rid, "%s: tags['requestId']" % what)
        for k, v in tags.items():
            require_eq(f.tags.get(k), v, "%s: tags[%r] (all tags %s)" % (what, k, short(f.tags)))

    ctx.step = "get(index, auto_delete=False)"
    check_item(q.get(index=idx, auto_delete=False, timeout="1s"), "get(index=%s, auto_delete=False)" % idx)
    ctx.require_length(q, "1", "stream.length after get(auto_delete=False)")
    ctx.step = "get(request_id, auto_delete=False)"
    check_item(q.get(request_id=rid, auto_delete=False, timeout="1s"), "get(request_id, auto_delete=False)")
    ctx.require_length(q, "1", "stream.length after get(request_id, auto_delete=False)")
    ctx.step = "get(request_id) with auto_delete"
    check_item(q.get(request_id=rid, timeout="1s"), "get(request_id)")
    ctx.require_length(q, "0", "stream.length after get(request_id) with the default auto_delete=True")


def t04_long_poll(ctx):
    """get() on an empty queue answers [] before _timeout_; a put wakes a waiting get."""
    q = ctx.input()
    ctx.empty(q)
    ctx.step = "get(timeout='1s') on empty queue"
    t0 = time.monotonic()
    got = q.get(timeout="1s")
    elapsed = time.monotonic() - t0
    require_eq([Frame.of(x).data for x in got], [], "get(timeout='1s') on an empty queue")
    require(elapsed < 2.0, "get(timeout='1s') took %.2fs (limit 2s)" % elapsed)

    putter = ctx.input()
    put_error = []

    def late_put():
        time.sleep(0.5)
        try:
            putter.put(b"late")
        except Exception as exc:
            put_error.append(exc)

    ctx.step = "get(timeout='3s') with a put 0.5s later"
    th = threading.Thread(target=late_put, daemon=True)
    t0 = time.monotonic()
    th.start()
    got = q.get(timeout="3s")
    elapsed = time.monotonic() - t0
    th.join(5)
    require(not put_error, "the late put failed: %s" % (put_error and describe(put_error[0])))
    require_eq([Frame.of(x).data for x in got], [b"late"], "get(timeout='3s') woken by a put (after %.2fs)" % elapsed)
    require(elapsed < 2.5, "get(timeout='3s') returned after %.2fs; a put 0.5s in should wake it (limit 2.5s)"
            % elapsed)


def t05_length_filter(ctx):
    """get(length=3) returns the first three in order; a tag filter selects matching items."""
    q = ctx.input()
    ctx.empty(q)
    ctx.step = "4 puts tagged parity"
    idx = []
    for n in range(1, 5):
        i, _ = q.put(str(n).encode(), tags={"parity": "odd" if n % 2 else "even"})
        idx.append(int(i))
    ctx.step = "get(length=3)"
    got = [Frame.of(x) for x in q.get(index=0, length=3, auto_delete=False, timeout="1s")]
    require_eq([f.data for f in got], [b"1", b"2", b"3"], "data of get(length=3)")
    require_eq([f.index for f in got], idx[:3], "indexes of get(length=3)")
    ctx.step = "get(length=2, tags parity=odd)"
    got = [Frame.of(x) for x in q.get(length=2, auto_delete=False, timeout="1s", tags={"parity": "odd"})]
    require_eq([f.data for f in got], [b"1", b"3"], "data of get(tags={'parity': 'odd'})")
    ctx.step = "get(length=10, tags parity=even, timeout=1s)"
    t0 = time.monotonic()
    got = [Frame.of(x) for x in q.get(length=10, auto_delete=False, timeout="1s", tags={"parity": "even"})]
    elapsed = time.monotonic() - t0
    require_eq([f.data for f in got], [b"2", b"4"], "data of get(length=10, tags={'parity': 'even'})")
    require(elapsed < 2.0, "get(length=10, timeout='1s') with 2 matches took %.2fs" % elapsed)
    ctx.require_length(q, "4", "stream.length after gets with auto_delete=False")


def t06_search_delete_truncate(ctx):
    """search() fields and 404; delete() one index; truncate() below an index."""
    q = ctx.input()
    ctx.empty(q)
    ctx.step = "3 puts"
    i1, _ = q.put(b"a")
    i2, _ = q.put(b"b")
    i3, _ = q.put(b"c")
    ctx.step = "search(i3)"
    s = q.search(i3)
    require(isinstance(s, dict) and s, "search(%s) returned %s" % (i3, short(s)))
    require(isinstance(s.get("ConsumerId"), str), "search: ConsumerId missing or not a string: %s" % short(s))
    require(s.get("IsPending") is False, "search: IsPending should be false: %s" % short(s))
    require(s.get("WaitCount") == 2 and isinstance(s.get("WaitCount"), int),
            "search: WaitCount should be the number 2: %s" % short(s))
    ctx.step = "search(unknown index)"
    unknown = int(i3) + 1000
    s = q.search(unknown)
    require_eq(s, {}, "search(%d) of an unknown index" % unknown)
    status, _, body = raw_request("%s/api/predict/%s?_search_=true&_index_=%d" % (
        base_url(ctx.args.endpoint), urllib.parse.quote(ctx.args.service), unknown), ctx.args.token)
    require_eq(status, 404, "raw search of an unknown index: status (body %s)" % short(body))
    ctx.step = "delete(i2)"
    require_eq(q.delete(i2), "OK", "delete(%s)" % i2)
    ctx.require_length(q, "2", "stream.length after delete")
    ctx.step = "truncate(i3)"
    require_eq(q.truncate(i3), b"OK", "truncate(%s)" % i3)
    a = ctx.require_length(q, "1", "stream.length after truncate(i3)")
    require_eq(a.get("stream.firstEntry"), i3, "stream.firstEntry after truncate")
    require_eq(a.get("stream.lastEntry"), i3, "stream.lastEntry after truncate")
    got = [Frame.of(x) for x in q.get(auto_delete=False, timeout="1s")]
    require_eq([f.data for f in got], [b"c"], "the remaining item")


def t07_watch_auto_commit(ctx):
    """watch(0, 5, auto_commit=True) on the sink streams 10 items in order and empties it."""
    s = ctx.sink()
    ctx.empty(s)
    ctx.step = "10 puts on the sink"
    rids = [s.put(str(n))[1] for n in range(10)]
    ctx.step = "watch auto_commit"
    r = ctx.watch(s, 0, 5, auto_commit=True, max_frames=10)
    r.require_frames(10, 10.0)
    require_eq([f.data for f in r.frames], [str(n).encode() for n in range(10)], "frame data")
    require_eq([f.tags.get("requestId") for f in r.frames], rids, "frame requestId tags")
    indexes = [f.index for f in r.frames]
    require(indexes == sorted(indexes) and len(set(indexes)) == 10, "indexes not ascending: %s" % indexes)
    ctx.step = "close and check the sink is empty"
    require(r.stop(), "watcher thread did not end after close()")
    time.sleep(1.0)
    ctx.require_length(s, "0", "stream.length 1s after an auto-commit watch took everything")


def t08_window(ctx):
    """watch(0, 5) holds at most 5 uncommitted frames; each commit releases one more."""
    s = ctx.sink()
    ctx.empty(s)
    ctx.step = "7 puts"
    for n in range(7):
        s.put(str(n), tags={"task_id": "w%d" % n})
    ctx.step = "watch(0, 5)"
    r = ctx.watch(s, 0, 5)
    r.require_frames(5, 5.0, "first window")
    time.sleep(1.0)
    require_eq(len(r.frames), 5, "frames delivered with window 5 and no commit (1s after the fifth)")
    ctx.step = "commit(first)"
    require_eq(s.commit(r.frames[0].index), b"OK", "commit(first)")
    r.require_frames(6, 3.0, "after one commit")
    time.sleep(0.5)
    require_eq(len(r.frames), 6, "frames after one commit")
    ctx.step = "commit([second, third])"
    require_eq(s.commit([r.frames[1].index, r.frames[2].index]), b"OK", "commit of a list")
    r.require_frames(7, 3.0, "after a list commit")
    time.sleep(0.3)
    require_eq(len(r.frames), 7, "frames after committing 3 of 7")
    require_eq([f.tags.get("task_id") for f in r.frames], ["w%d" % n for n in range(7)], "task_id order")
    ctx.require_length(s, "4", "stream.length with 3 of 7 committed")
    require(r.stop(), "watcher thread did not end after close()")


def t09_redelivery(ctx):
    """Items a closed watcher did not commit go to the next consumer of the group."""
    s = ctx.sink()
    ctx.empty(s)
    ctx.step = "3 puts"
    for n in range(3):
        s.put(str(n))
    ctx.step = "watcher A takes 2 without committing"
    a_client = ctx.sink()
    ra = ctx.watch(a_client, 0, 2, max_frames=2)
    ra.require_frames(2, 5.0, "watcher A")
    require(ra.stop(), "watcher A thread did not end after close()")
    ctx.step = "watcher B (new client, same group)"
    b_client = ctx.sink()
    rb = ctx.watch(b_client, 0, 5)
    rb.require_frames(3, 10.0, "watcher B (redelivery after A closed)")
    time.sleep(0.3)
    # Every item arrives; a redelivered item may come after a newer one when the server notices A's aborted
    # connection only after B connected.
    datas = sorted(f.data for f in rb.frames)
    require_eq(datas, [b"0", b"1", b"2"], "frames of watcher B")
    ctx.step = "B commits"
    require_eq(b_client.commit([f.index for f in rb.frames]), b"OK", "commit by B")
    ctx.require_length(s, "0", "stream.length after B committed all")
    require(rb.stop(), "watcher B thread did not end after close()")


def t10_priority(ctx):
    """A _priority_=1 item is delivered first and _priority_ is not stored as a tag."""
    s = ctx.sink()
    ctx.empty(s)
    ctx.step = "2 normal puts and a priority put"
    s.put(b"n1")
    s.put(b"n2")
    s.put(b"p", tags={"_priority_": "1", "task_id": "prio"})
    r = ctx.watch(s, 0, 5, auto_commit=True, max_frames=3)
    r.require_frames(3, 5.0)
    require_eq([f.data for f in r.frames], [b"p", b"n1", b"n2"], "delivery order")
    for f in r.frames:
        require(not any(k.startswith("_") for k in f.tags), "control parameter stored as a tag: %s" % short(f.tags))
    require_eq(r.frames[0].tags.get("task_id"), "prio", "tag of the priority item")
    require(r.stop(), "watcher thread did not end after close()")


def t11_index_only(ctx):
    """watch(index_only=True) frames carry index and tags but no data."""
    s = ctx.sink()
    ctx.empty(s)
    ctx.step = "put"
    idx, rid = s.put(b"payload", tags={"task_id": "io"})
    r = ctx.watch(s, 0, 5, index_only=True, auto_commit=True, max_frames=1)
    r.require_frames(1, 5.0)
    f = r.frames[0]
    require_eq(f.index, int(idx), "index")
    require_eq(f.data, b"", "data with index_only")
    require_eq(f.tags.get("requestId"), rid, "requestId tag")
    require_eq(f.tags.get("task_id"), "io", "task_id tag")
    require(r.stop(), "watcher thread did not end after close()")


def t12_one_watcher(ctx):
    """A second run() on a client whose watcher is connected raises PredictException(400)."""
    s = ctx.sink()
    ctx.empty(s)
    s.put(b"x")
    r = ctx.watch(s, 0, 5, auto_commit=True)
    r.require_frames(1, 5.0)
    ctx.step = "second run()"
    outcome = []

    def second():
        try:
            next(s.watch(0, 5).run())
            outcome.append("no exception")
        except BaseException as exc:
            outcome.append(exc)

    th = threading.Thread(target=second, daemon=True)
    th.start()
    th.join(3.0)
    require(outcome, "the second run() blocked instead of raising")
    exc = outcome[0]
    require(isinstance(exc, PredictException) and exc.code == 400,
            "second run(): expected PredictException(400), got %s" % (
                describe(exc) if isinstance(exc, BaseException) else exc))
    require(r.stop(), "watcher thread did not end after close()")


def t13_auth(ctx):
    """A wrong or missing token gets 401/403 over HTTP and a refused WebSocket handshake (400 from Loom)."""
    good = ctx.input()
    ctx.empty(good)
    cases = [("wrong token", ctx.args.token + "-wrong")]
    if ctx.args.token:
        cases.append(("empty token", ""))
    for label, token in cases:
        bad = ctx.client(ctx.args.service, retries=0, token=token)
        for call, fn in (("attributes()", bad.attributes),
                         ("put()", lambda: bad.put(b"intruder")),
                         ("get()", lambda: bad.get(timeout="1s"))):
            ctx.step = "%s %s" % (label, call)
            exc = expect_predict_error(fn, "%s with %s" % (call, label))
            require(exc.code in (401, 403), "%s with %s: %s" % (call, label, describe(exc)))
        ctx.step = "%s watch" % label
        bad_sink = ctx.client(ctx.args.service + "/sink", retries=0, token=token)
        r = ctx.watch(bad_sink, 0, 5)
        r.wait_finished(5.0)
        err = r.error
        require(r.finished, "watch with %s: handshake not rejected within 5s%s" % (label, r.diagnosis()))
        # Loom's HTTP server answers every refused WebSocket upgrade with 400 (Hummingbird writes that status
        # itself); the caller still gets a WebSocketBadStatusException on the first connect, which is what matters.
        require(isinstance(err, websocket.WebSocketBadStatusException) and err.status_code in (400, 401, 403),
                "watch with %s: expected WebSocketBadStatusException 400/401/403, got %s" % (
                    label, describe(err) if err else "no error, %d frames" % len(r.frames)))
    ctx.require_length(good, "0", "stream.length after rejected puts")


def t14_raw_http(ctx):
    """Plain HTTP GET on the sink (no protobuf Accept): 204 when empty, JSON list otherwise."""
    s = ctx.sink()
    ctx.empty(s)
    url = "%s/api/predict/%s/sink" % (base_url(ctx.args.endpoint), urllib.parse.quote(ctx.args.service))
    ctx.step = "raw GET on the empty sink"
    status, _, body = raw_request(url + "?_timeout_=1s", ctx.args.token)
    require_eq(status, 204, "raw GET on an empty sink: status (body %s)" % short(body))
    require_eq(body, b"", "body of the 204")
    payload = b"\x00\x01raw\xfe"
    idx, rid = s.put(payload, tags={"task_id": "raw"})
    for label, headers in (("no Accept", {}), ("Accept: application/json", {"Accept": "application/json"})):
        ctx.step = "raw GET with %s" % label
        status, headers_in, body = raw_request(url + ("?_auto_delete_=false" if headers else ""), ctx.args.token,
                                               headers=headers)
        require_eq(status, 200, "raw GET (%s) after a put: status (body %s)" % (label, short(body)))
        try:
            doc = json.loads(body.decode("utf-8"))
        except Exception as exc:
            raise CheckFailed("raw GET (%s): body is not JSON (%s): %s" % (label, exc, short(body)))
        require(isinstance(doc, list) and len(doc) == 1 and isinstance(doc[0], dict),
                "raw GET (%s): expected a list of one object, got %s" % (label, short(doc)))
        item = doc[0]
        require(isinstance(item.get("index"), int) and item["index"] == int(idx),
                "raw GET (%s): index %s, expected the number %s" % (label, short(item.get("index")), idx))
        tags = item.get("tags")
        require(isinstance(tags, dict) and tags.get("requestId") == rid and tags.get("task_id") == "raw",
                "raw GET (%s): tags %s, expected requestId=%s task_id=raw" % (label, short(tags), rid))
        try:
            data = base64.b64decode(item.get("data", ""), validate=True)
        except Exception as exc:
            raise CheckFailed("raw GET (%s): data is not base64 (%s): %s" % (label, exc, short(item.get("data"))))
        require_eq(data, payload, "raw GET (%s): decoded data" % label)
        require(item.get("message", "") == "", "raw GET (%s): message %s" % (label, short(item.get("message"))))
        if not headers:
            # The first GET sent no query at all; put the item back for the second one if it was consumed.
            if ctx.length(s) == "0":
                idx, rid = s.put(payload, tags={"task_id": "raw"})


def t15_path_suffix(ctx):
    """init(path_suffix='api_prompt') puts into the service's input queue."""
    q = ctx.input()
    ctx.empty(q)
    ctx.step = "put via path_suffix='api_prompt'"
    sq = ctx.client(ctx.args.service, path_suffix="api_prompt")
    idx, rid = sq.put(b'{"prompt": 1}', tags={"task_id": "suffix_0"})
    require(idx.isdigit() and int(idx) > 0, "put index %s" % short(idx))
    ctx.step = "get by request id from the plain input queue"
    got = [Frame.of(x) for x in q.get(request_id=rid, auto_delete=False, timeout="1s")]
    require_eq(len(got), 1, "items with the request id in the plain input queue (%s)" % short(got))
    require_eq(got[0].data, b'{"prompt": 1}', "data")
    require_eq(got[0].tags.get("task_id"), "suffix_0", "task_id tag")
    require_eq(got[0].index, int(idx), "index")
    ctx.empty(q)


def t16_full_queue(ctx):
    """A put into a full max-length-3 queue is rejected (non-2xx) and stores nothing."""
    # The SDK default retry count (5): the rejected put is sent 6 times, none may be stored.
    q = ctx.client(ctx.args.full_service, retries=5)
    ctx.empty(q)
    ctx.step = "3 puts"
    last = None
    for n in range(3):
        last, _ = q.put(str(n))
    ctx.step = "4th put"
    exc = expect_predict_error(lambda: q.put(b"overflow"), "put into a full queue")
    require(not is_2xx(exc.code), "put into a full queue: %s" % describe(exc))
    a = ctx.require_length(q, "3", "stream.length after the rejected put")
    require_eq(a.get("stream.lastEntry"), last, "stream.lastEntry after the rejected put")
    ctx.empty(q)


def t17_predict(ctx):
    """PredictClient (HMAC-signed) is accepted by the sync service; a wrong token is not."""
    svc = ctx.args.sync_service
    body = '{"x": 1}'

    def make(token, custom_url=""):
        c = PredictClient(ctx.args.endpoint, svc, custom_url=custom_url) if custom_url else \
            PredictClient(ctx.args.endpoint, svc)
        c.set_token(token)
        c.set_timeout(CLIENT_TIMEOUT_MS)
        c.set_retry_count(1)  # predict() makes retry_count attempts in total
        c.init()
        ctx.clients.append(c)
        return c

    ctx.step = "signed predict"
    resp = make(ctx.args.token).predict(StringRequest(body))
    data = getattr(resp, "response_data", None)
    require(isinstance(data, (bytes, bytearray)) and body.encode() in data,
            "signed predict: response %s does not contain the body %r" % (short(data), body))
    ctx.step = "plain-token predict (custom_url)"
    url = "%s/api/predict/%s" % (base_url(ctx.args.endpoint), svc)
    resp = make(ctx.args.token, custom_url=url).predict(StringRequest(body))
    data = getattr(resp, "response_data", None)
    require(isinstance(data, (bytes, bytearray)) and body.encode() in data,
            "plain-token predict: response %s does not contain the body %r" % (short(data), body))
    ctx.step = "predict with a wrong token"
    exc = expect_predict_error(lambda: make(ctx.args.token + "-wrong").predict(StringRequest(body)),
                               "predict with a wrong token")
    require(exc.code in (401, 403), "predict with a wrong token: %s" % describe(exc))


def _output_files(outputs):
    """(filename, subfolder, type) for every file entry in a node->UI-output map."""
    files = []
    for node_output in outputs.values():
        if not isinstance(node_output, dict):
            continue
        for entries in node_output.values():
            if not isinstance(entries, list):
                continue
            for e in entries:
                if isinstance(e, dict) and isinstance(e.get("filename"), str):
                    files.append((e["filename"], str(e.get("subfolder", "")), str(e.get("type", "output"))))
    return files


def t18_comfyui(ctx):
    """A workflow put into a ComfyUI API service yields a sink item in the documented format."""
    args = ctx.args
    ctx.step = "read workflow"
    try:
        with open(args.workflow, "rb") as fh:
            workflow = fh.read()
        json.loads(workflow.decode("utf-8"))
    except Exception as exc:
        raise CheckFailed("cannot read the workflow %s: %s" % (args.workflow, exc))
    q = ctx.client(args.comfy_service)
    s = ctx.client(args.comfy_service + "/sink")
    ctx.empty(q, s)
    task_id = "txt2img_%s" % uuid.uuid4().hex[:8]
    ctx.step = "put the workflow"
    idx, rid = q.put(workflow, tags={"task_id": task_id})
    ctx.step = "watch the sink for task_id %s" % task_id
    found = []

    def on_frame(frame, _count):
        if frame.tags.get("task_id") == task_id:
            found.append(frame)
            return True
        return False

    r = ctx.watch(s, 0, 5, on_frame=on_frame)
    deadline = time.monotonic() + args.comfy_timeout
    while not found and not r.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    require(found, "no sink frame with task_id=%s within %.0fs (%d other frames)%s" % (
        task_id, args.comfy_timeout, len(r.frames), r.diagnosis()))
    f = found[0]
    require_eq(f.tags.get("requestId"), rid, "requestId of the sink item (input put request id)")
    try:
        doc = json.loads(f.data.decode("utf-8"))
    except Exception as exc:
        raise CheckFailed("sink data is not JSON (%s): %s" % (exc, short(f.data)))
    require(isinstance(doc, list) and doc and isinstance(doc[-1], dict),
            "sink data is not a JSON array ending in an object: %s" % short(doc))
    outputs = doc[-1]
    require("error" not in outputs, "the sink item reports an error: %s (message %r)" % (
        short(outputs.get("error")), f.message))
    for n, event in enumerate(doc[:-1]):
        require(isinstance(event, dict) and event.get("type") == "executed" and isinstance(event.get("data"), dict),
                "element %d is not an executed event: %s" % (n, short(event)))
        node = event["data"].get("node")
        require(node in outputs, "executed event for node %s not in the output map (keys %s)" % (
            short(node), short(sorted(outputs))))
        require_eq(event["data"].get("output"), outputs[node], "output of node %s in event %d" % (node, n))
    ctx.step = "commit the sink item"
    require_eq(s.commit(f.index), b"OK", "commit of the sink item")
    require(r.stop(), "watcher thread did not end after close()")
    files = _output_files(outputs)
    ctx.info.append("%d executed events, %d output nodes, %d files" % (len(doc) - 1, len(outputs), len(files)))
    if not args.view_url:
        ctx.info.append("--view-url not given: output files not fetched")
        return
    for filename, subfolder, ftype in files:
        ctx.step = "fetch %s" % filename
        url = "%s/view?%s" % (args.view_url.rstrip("/"), urllib.parse.urlencode(
            {"filename": filename, "subfolder": subfolder, "type": ftype}))
        status, _, body = raw_request(url, args.token, timeout=30.0)
        require_eq(status, 200, "GET %s: status (body %s)" % (url, short(body)))
        require(len(body) > 0, "GET %s: empty body" % url)


def t19_reconnect(ctx):
    """A watcher whose socket is cut every 3 frames still gets every item; the queue ends empty."""
    s = ctx.sink()
    ctx.empty(s)
    ctx.step = "10 puts"
    expected = {str(n).encode() for n in range(10)}
    for n in range(10):
        s.put(str(n))
    committed = set()
    committed_indexes = set()
    recommitted = []
    cuts = [0]
    cut_socks = []
    errors = []

    def on_frame(frame, count):
        if frame.index in committed_indexes:
            recommitted.append(frame.index)
        sock = s.watch_sock
        if count % 3 == 0 and sock is not None and all(sock is not c for c in cut_socks):
            # Drop the connection without committing this frame (and anything still in flight).
            # Frames already buffered on a cut socket may still arrive; they are handled normally.
            cut_socks.append(sock)
            cuts[0] += 1
            sock.abort()
            return False
        try:
            require_eq(s.commit(frame.index), b"OK", "commit(%d)" % frame.index)
        except Exception as exc:
            errors.append(exc)
            return True
        committed.add(frame.data)
        committed_indexes.add(frame.index)
        return committed >= expected

    ctx.step = "watch with cuts every 3 frames"
    r = ctx.watch(s, 0, 5, on_frame=on_frame)
    r.wait_finished(20.0)
    require(not errors, "commit failed: %s" % (errors and describe(errors[0])))
    require(committed >= expected, "items committed after %d frames and %d cuts: %s of 10, missing %s%s" % (
        len(r.frames), cuts[0], len(committed), sorted(x.decode() for x in expected - committed), r.diagnosis()))
    require(not recommitted, "committed items were delivered again: indexes %s" % recommitted)
    require(r.connects >= cuts[0] + 1, "expected at least %d websocket connections, saw %d" % (
        cuts[0] + 1, r.connects))
    require(r.stop(), "watcher thread did not end after close()")
    ctx.require_length(s, "0", "stream.length after all items were committed")
    ctx.info.append("%d frames, %d cuts, %d connections" % (len(r.frames), cuts[0], r.connects))


def t20_long_poll_deadline(ctx):
    """get() with the default _timeout_=5s and 5 s client timeout returns [] (not a 502)."""
    q = ctx.input(retries=0)
    ctx.empty(q)
    ctx.step = "get() with defaults on an empty queue"
    t0 = time.monotonic()
    try:
        got = q.get()
    except PredictException as exc:
        raise CheckFailed("get() with the default 5s timeout failed after %.2fs: %s" % (
            time.monotonic() - t0, describe(exc)))
    elapsed = time.monotonic() - t0
    require_eq([Frame.of(x).data for x in got], [], "get() on an empty queue")
    require(elapsed < 5.0, "get() answered after %.2fs" % elapsed)


def t21_payload_limit(ctx):
    """A put larger than the payload limit is rejected (non-2xx) and stores nothing."""
    limit = ctx.args.payload_limit
    q = ctx.input(retries=5)
    ctx.empty(q)
    a = ctx.attrs(q)
    require_eq(a.get("meta.maxPayloadBytes"), str(limit), "meta.maxPayloadBytes vs --payload-limit")
    ctx.step = "put of limit+1 bytes"
    exc = expect_predict_error(lambda: q.put(b"x" * (limit + 1)), "put of %d bytes" % (limit + 1))
    require(not is_2xx(exc.code), "put of limit+1 bytes: %s" % describe(exc))
    ctx.require_length(q, "0", "stream.length after the oversized put")
    ctx.step = "put of exactly limit bytes"
    q.put(b"y" * limit)
    ctx.require_length(q, "1", "stream.length after a put of exactly the limit")
    ctx.empty(q)


@dataclass
class Check:
    id: str
    name: str
    fn: object
    needs: tuple = field(default_factory=tuple)  # argument names that must be set


CHECKS = [
    Check("t01", "attributes", t01_attributes),
    Check("t02", "put", t02_put),
    Check("t03", "get", t03_get),
    Check("t04", "long_poll", t04_long_poll),
    Check("t05", "length_filter", t05_length_filter),
    Check("t06", "search_delete_truncate", t06_search_delete_truncate),
    Check("t07", "watch_auto_commit", t07_watch_auto_commit),
    Check("t08", "window", t08_window),
    Check("t09", "redelivery", t09_redelivery),
    Check("t10", "priority", t10_priority),
    Check("t11", "index_only", t11_index_only),
    Check("t12", "one_watcher", t12_one_watcher),
    Check("t13", "auth", t13_auth),
    Check("t14", "raw_http", t14_raw_http),
    Check("t15", "path_suffix", t15_path_suffix),
    Check("t16", "full_queue", t16_full_queue, ("full_service",)),
    Check("t17", "predict", t17_predict, ("sync_service",)),
    Check("t18", "comfyui", t18_comfyui, ("comfy_service", "workflow")),
    Check("t19", "reconnect", t19_reconnect),
    Check("t20", "long_poll_deadline", t20_long_poll_deadline),
    Check("t21", "payload_limit", t21_payload_limit, ("payload_limit",)),
]


def run_check(check, args):
    """Run one check under a wall-clock limit; returns None (pass) or a reason."""
    ctx = Ctx(args)
    outcome = {}

    def body():
        try:
            check.fn(ctx)
            outcome["ok"] = True
        except CheckFailed as exc:
            outcome["reason"] = str(exc)
        except BaseException as exc:
            where = traceback.extract_tb(exc.__traceback__)
            inside = [w for w in where if w.name == check.fn.__name__]
            line = (inside or where)[-1].lineno if where else "?"
            outcome["reason"] = "at step '%s' (line %s): %s" % (ctx.step, line, describe(exc))

    limit = args.check_timeout
    if check.id == "t18":
        limit += args.comfy_timeout
    th = threading.Thread(target=body, daemon=True)
    th.start()
    th.join(limit)
    if th.is_alive():
        outcome = {"reason": "did not finish within %.0fs (at step '%s')" % (limit, ctx.step)}
    try:
        ctx.close()
    except Exception:
        pass
    if args.verbose:
        for line in ctx.info:
            print("  info %s: %s" % (check.id, line))
    return None if outcome.get("ok") else outcome.get("reason", "unknown failure")


def parse_args(argv):
    p = argparse.ArgumentParser(description="eas-prediction 0.36 compatibility checks for a queue service")
    p.add_argument("--endpoint", required=True, help="host:port (or http://host:port) of the server")
    p.add_argument("--service", required=True, help="async service without a worker (input queue + sink)")
    p.add_argument("--token", required=True, help="the service token")
    p.add_argument("--full-service", help="service declared with max length 3 (enables t16)")
    p.add_argument("--sync-service", help="synchronous echo service (enables t17)")
    p.add_argument("--comfy-service", help="ComfyUI API service (enables t18, with --workflow)")
    p.add_argument("--workflow", help="API-format workflow JSON file for t18")
    p.add_argument("--view-url", help="base URL for /view?filename=... in t18, e.g. http://127.0.0.1:PORT")
    p.add_argument("--payload-limit", type=int, help="payload limit of --service in bytes (enables t21)")
    p.add_argument("--only", help="comma-separated check ids, e.g. t01,t05")
    p.add_argument("--check-timeout", type=float, default=CHECK_TIMEOUT_S, help="seconds per check")
    p.add_argument("--comfy-timeout", type=float, default=300.0, help="seconds to wait for the t18 result")
    p.add_argument("--verbose", action="store_true", help="print extra information lines")
    args = p.parse_args(argv)
    known = {c.id for c in CHECKS}
    if args.only:
        args.only = [x.strip() for x in args.only.split(",") if x.strip()]
        unknown = [x for x in args.only if x not in known]
        if unknown:
            p.error("unknown check ids: %s" % ", ".join(unknown))
        for c in CHECKS:
            if c.id in args.only:
                missing = [n for n in c.needs if getattr(args, n) is None]
                if missing:
                    p.error("%s needs %s" % (c.id, ", ".join("--" + n.replace("_", "-") for n in missing)))
    if args.payload_limit is not None and args.payload_limit < 1:
        p.error("--payload-limit must be positive")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    failed = 0
    started = time.monotonic()
    for check in CHECKS:
        if args.only and check.id not in args.only:
            continue
        missing = [n for n in check.needs if getattr(args, n) is None]
        if missing:
            print("SKIP %s %s: needs %s" % (check.id, check.name,
                                           ", ".join("--" + n.replace("_", "-") for n in missing)), flush=True)
            continue
        reason = run_check(check, args)
        if reason is None:
            print("PASS %s %s" % (check.id, check.name), flush=True)
        else:
            failed += 1
            print("FAIL %s %s: %s" % (check.id, check.name, reason), flush=True)
    if args.verbose:
        print("  info: %d failed, %.1fs" % (failed, time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
