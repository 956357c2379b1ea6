#!/usr/bin/env python3
"""Queue service throughput through the official eas_prediction SDK (what API-edition callers see): sequential
puts, then watch + commit of the backlog, then put→delivery latency with a watcher running.

usage: eas_sdk_throughput.py HOST:PORT SERVICE TOKEN [ITEMS]
(the SDK environment: scripts/setup.sh creates ~/.cache/loom-tests/eas-venv)
"""
import sys
import threading
import time

from eas_prediction import QueueClient

endpoint, service, token = sys.argv[1:4]
items = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
payload = b"x" * 2048


def client(name):
    q = QueueClient(endpoint, name)
    q.set_token(token)
    q.init()
    return q


q = client(service)
attrs = q.attributes()
if "stream.lastEntry" in attrs:
    q.truncate(int(attrs["stream.lastEntry"]) + 1)

start = time.time()
for i in range(items):
    q.put(payload, tags={"i": str(i)})
put_s = time.time() - start
print(f"put (one client, sequential): {items / put_s:7.0f} items/s")

start = time.time()
watcher = q.watch(0, 16, auto_commit=False)
count = 0
for frame in watcher.run():
    q.commit(frame.index)
    count += 1
    if count == items:
        break
watcher.close()
deliver_s = time.time() - start
print(f"watch + commit:               {items / deliver_s:7.0f} items/s")

q2 = client(service)
latencies = []
done = threading.Event()
w2 = q2.watch(-1, 16, auto_commit=True)


def consume():
    for frame in w2.run():
        latencies.append((time.time() - float(frame.tags["t"])) * 1000)
        if len(latencies) == 200:
            done.set()
            break


threading.Thread(target=consume, daemon=True).start()
time.sleep(0.5)
for i in range(200):
    q.put(payload, tags={"t": repr(time.time())})
    time.sleep(0.005)
done.wait(30)
w2.close()
latencies.sort()
if latencies:
    print(f"put → watch delivery: p50 {latencies[len(latencies) // 2]:.1f} ms, p99 {latencies[int(len(latencies) * 0.99)]:.1f} ms ({len(latencies)} items)")
