#!/usr/bin/env python3
"""Makes the test API server answer a pod watch from resourceVersion 1 with an
ERROR event, code 410 (Gone: too old), as a real server does once the version
is older than what its watch cache still holds.

  expire-watch-cache.py NAMESPACE POD [SECONDS]

The pods' watch cache keeps a window of recent events (at least 100, more
while they are younger than 75 s); until it has dropped one, it still serves a
watch from resourceVersion 1. Each round patches POD's annotation 100 times
(100 pod events) and then asks for such a watch; prints "410" and exits 0 once
the server says Gone, exits 1 after SECONDS (default 40). Talks to
$KX_TEST_APISERVER (loopback) with $KX_TEST_TOKEN, checked against $KX_TEST_CA."""
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

ns, pod = sys.argv[1], sys.argv[2]
deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 40)
url = urllib.parse.urlsplit(os.environ["KX_TEST_APISERVER"])
ctx = ssl.create_default_context(cafile=os.environ["KX_TEST_CA"])
auth = {"Authorization": "Bearer " + os.environ["KX_TEST_TOKEN"]}


def connect():
    return http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=10)


def gone():
    """The first event of a watch from resourceVersion 1 is ERROR 410."""
    c = connect()
    sel = urllib.parse.quote("metadata.name=" + pod)
    c.request("GET", f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion=1&fieldSelector={sel}",
              headers=auth)
    r = c.getresponse()
    line = r.readline() if r.status == 200 else b"{}"
    c.close()
    ev = json.loads(line or b"{}")
    return ev.get("type") == "ERROR" and ev.get("object", {}).get("code") == 410


c = connect()
n = 0
while time.time() < deadline:
    if gone():
        print("410")
        sys.exit(0)
    for _ in range(100):
        n += 1
        body = json.dumps({"metadata": {"annotations": {"kx-test/flood": str(n)}}})
        c.request("PATCH", f"/api/v1/namespaces/{ns}/pods/{pod}", body=body,
                  headers={**auth, "Content-Type": "application/merge-patch+json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"PATCH pod {pod}: HTTP {r.status}")
print(f"a watch from resourceVersion 1 was still served after {n} pod events", file=sys.stderr)
sys.exit(1)
