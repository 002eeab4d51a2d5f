#!/usr/bin/python3
"""The peer a PiAPI user writes from the docs: upload each reference, then poll each one
at a fixed interval until it is Active or Failed, one after another."""
import os, sys, time
import requests

BASE = os.environ["BENCH_URL"]
N = int(os.environ.get("BENCH_N", "200"))
INTERVAL = float(os.environ.get("BENCH_INTERVAL", "2"))
H = {"X-API-Key": "bench-key"}

ids = []
for i in range(N):
    r = requests.post(BASE + "/api/v1/asset/upload", json={"url": "https://cdn.example.com/p%d.png" % i}, headers=H)
    r.raise_for_status()
    ids.append(r.json()["asset_id"])

done = 0
for asset_id in ids:
    while True:
        r = requests.get(BASE + "/api/v1/asset/" + asset_id, headers=H)
        r.raise_for_status()
        if r.json()["status"] in ("Active", "Failed"):
            done += 1
            break
        time.sleep(INTERVAL)
print(done)
