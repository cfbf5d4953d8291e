"""The pyoxigraph rows of ggen-bench (see baseline.rs): the same SPARQL texts
over the same Oxigraph store, opened read-only, timed in Python.

    python3 pyoxigraph_rows.py REQUEST.json

REQUEST.json: {"store": DIR, "sets": [{"op", "queries", "iterations"}]}.
Prints a JSON list: per op, the first call and each warm call in µs, their
total, and how many rows the first call returned. Each call turns every
answer into Python values, as a script that used them would.
"""

import json
import sys
import time

import pyoxigraph


def run(store, query):
    return [tuple(None if t is None else t.value for t in row) for row in store.query(query)]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    store = pyoxigraph.Store.read_only(request["store"])
    out = []
    for s in request["sets"]:
        queries = s["queries"]
        t = time.perf_counter()
        first = run(store, queries[0])
        first_us = (time.perf_counter() - t) * 1e6
        samples = []
        start = time.perf_counter()
        for i in range(s["iterations"]):
            t = time.perf_counter()
            run(store, queries[i % len(queries)])
            samples.append((time.perf_counter() - t) * 1e6)
        total_us = (time.perf_counter() - start) * 1e6
        out.append({"op": s["op"], "first_us": first_us, "samples_us": samples,
                    "total_us": total_us, "rows": len(first)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
