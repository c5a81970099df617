#!/usr/bin/env python3
"""Creation-to-binding latency through a real kube-scheduler: creates N pods one by one for `scheduler` and
records, for each, the time from its create call returning to the moment a 20 ms poll sees spec.nodeName.
Prints median and p99 (ms) and how many bound. Usage: latency.py SCHEDULER PREFIX COUNT POD_JSON_TEMPLATE"""
import json, ssl, statistics, sys, threading, time, urllib.request, os

api = "https://127.0.0.1:%s" % os.environ.get("APISERVER_PORT", "6443")
token = open(os.path.join(os.environ["PKI"], "admin.token")).read().strip()
ctx = ssl._create_unverified_context()  # the lab's serving certificate is self-signed

def call(method, path, body=None):
    req = urllib.request.Request(api + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.loads(r.read())

scheduler, prefix, count, template = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
created, bound = {}, {}
done = threading.Event()

def poll():
    deadline = time.time() + 120
    while not done.is_set() and time.time() < deadline:
        pods = call("GET", "/api/v1/namespaces/default/pods?labelSelector=latency%3D" + prefix)["items"]
        now = time.time()
        for p in pods:
            n = p["metadata"]["name"]
            if p["spec"].get("nodeName") and n not in bound:
                bound[n] = now
        if len(bound) >= count:
            return
        time.sleep(0.02)

watcher = threading.Thread(target=poll)
watcher.start()
for i in range(count):
    body = json.loads(template.replace("NAME", "%s-%d" % (prefix, i)).replace("SCHEDULER", scheduler).replace("PREFIX", prefix))
    call("POST", "/api/v1/namespaces/default/pods", body)
    created["%s-%d" % (prefix, i)] = time.time()
    time.sleep(0.01)
watcher.join()
done.set()
lat = sorted((bound[n] - created[n]) * 1000 for n in created if n in bound)
if not lat:
    print("%s: no pod bound" % scheduler); sys.exit(1)
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
print("%s %d %d %.1f %.1f" % (scheduler, len(lat), count, statistics.median(lat), p99))
