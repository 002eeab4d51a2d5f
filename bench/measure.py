#!/usr/bin/python3
"""Run a command; print one JSON line: wall seconds, CPU seconds (user+sys of the child),
peak RSS in KiB, exit code, and the tail of its output. Measures only the child."""
import json, resource, subprocess, sys, time

t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_kb": ru.ru_maxrss,
                  "rc": p.returncode, "out": p.stdout[-4000:], "err": p.stderr[-2000:]}))
