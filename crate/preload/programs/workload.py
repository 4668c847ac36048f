# The Python workload of the preload tests and the benchmark's real-program
# row, run as `python3 -c "$(cat workload.py)"` with PYTHONMALLOC=malloc (so
# that Python's small objects come from malloc too, not its own arenas) and
# PYTHONHASHSEED=0: dicts of lists of strings, serialized, read back, sorted
# and regrouped. It prints a line that depends on every step.
import json

d = {str(i): [j * "x" for j in range(i % 40)] for i in range(2500)}
s = json.dumps(d)
e = json.loads(s)
t = sorted(e.items(), key=lambda kv: (-len(kv[1]), kv[0]))
w = {}
for k, v in t[:1000]:
    w.setdefault(len(v), []).append(k * 3)
print(len(s), len(e), t[0][0], sum(len(x) for x in w.values()), hash("heaplab"))
