"""Python's multiprocessing manager on the bench's workloads 1, 3 and 6.

    python3 mp_bench.py [--quick]

Prints one JSON object: call_ns (proxy.ping(), one outstanding), create_ns
(manager.Counter() + del, i.e. create + decref), map1_ops (set/get ops/s, one client),
map4_ops (set/get ops/s, four client processes). Medians of several repetitions after a
warm-up. Uses the spawn start method, as the Node side always does.
"""

import json
import multiprocessing as mp
import platform
import statistics
import sys
import time
from multiprocessing.managers import BaseManager


class Counter:
    def __init__(self):
        self.n = 0

    def ping(self):
        return None

    def increment(self):
        self.n += 1
        return self.n


class BenchMap:
    def __init__(self):
        self.d = {}

    def set(self, key, value):
        self.d[key] = value

    def get(self, key):
        return self.d.get(key)


class BenchManager(BaseManager):
    pass


BenchManager.register("Counter", Counter)
BenchManager.register("Map", BenchMap)


def ns_per_op(fn, n, reps):
    fn(max(1, n // 10))  # warm-up
    samples = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        fn(n)
        samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(samples)


def map_ops(proxy, n, tag):
    for i in range(n):
        key = f"{tag}{i & 1023}"
        if i & 1:
            proxy.get(key)
        else:
            proxy.set(key, i)


def map_client(proxy, n, tag, start, done):
    map_ops(proxy, 10, tag)  # this process's connection is made before the start signal
    done.put("ready")
    start.wait()
    map_ops(proxy, n, tag)
    done.put("done")


def four_clients(ctx, proxy, n, clients):
    start = ctx.Event()
    done = ctx.Queue()
    procs = [
        ctx.Process(target=map_client, args=(proxy, n, f"t{t}:", start, done))
        for t in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        done.get()
    t0 = time.perf_counter_ns()
    start.set()
    for _ in procs:
        done.get()
    elapsed = time.perf_counter_ns() - t0
    for p in procs:
        p.join()
    return clients * n / (elapsed / 1e9)


def main():
    quick = "--quick" in sys.argv
    ctx = mp.get_context("spawn")
    result = {"python": platform.python_version(), "quick": quick}
    with BenchManager(ctx=ctx) as manager:
        counter = manager.Counter()

        def calls(n):
            for _ in range(n):
                counter.ping()

        result["call_ns"] = ns_per_op(calls, 2_000 if quick else 20_000, 3 if quick else 7)

        def creates(n):
            for _ in range(n):
                c = manager.Counter()
                del c

        result["create_ns"] = ns_per_op(creates, 100 if quick else 1_000, 3 if quick else 5)

        shared = manager.Map()
        result["map1_ops"] = 1e9 / ns_per_op(
            lambda n: map_ops(shared, n, "k"), 2_000 if quick else 20_000, 3 if quick else 5
        )
        reps = 1 if quick else 3
        per_client = 1_000 if quick else 10_000
        result["map4_ops"] = statistics.median(
            four_clients(ctx, shared, per_client, 4) for _ in range(reps)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
