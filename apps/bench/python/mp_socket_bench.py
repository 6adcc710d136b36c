"""Python's multiprocessing manager over its sockets, for the bench's workload 10.

    python3 mp_socket_bench.py AUTHKEY UNIX_SOCKET_PATH

Starts two BaseManager servers (each its own process, `spawn`): one on an AF_UNIX socket at
UNIX_SOCKET_PATH, one on AF_INET 127.0.0.1 (port chosen by the kernel), both with AUTHKEY.
This process is their client. It then reads commands, one JSON object a line, on stdin and
answers each with one JSON line on stdout, so that the Node bench can interleave its rounds
with the rounds of its own transports:

    {"t": "run", "family": "unix" | "inet", "metric": "latency", "ops": N}
        N calls of proxy.ping(i), one outstanding
    {"t": "run", "family": ..., "metric": "throughput", "ops": N, "threads": T}
        N calls of proxy.ping(i) shared by T client threads, each with its own proxy (so its
        own connection, served by its own server thread): T calls outstanding
    {"t": "run", "family": ..., "metric": "create", "ops": N}
        N times manager.Counter() then del (create, then decref)
    {"t": "quit"}

A run answers {"ns": total nanoseconds the N operations took, timed here}.
"""

import json
import multiprocessing as mp
import os
import platform
import queue
import sys
import threading
import time
from multiprocessing.managers import BaseManager


class Echo:
    def ping(self, value=None):
        return value


class Counter:
    def __init__(self):
        self.n = 0

    def ping(self):
        return None


class SocketBenchManager(BaseManager):
    pass


SocketBenchManager.register("Echo", Echo)
SocketBenchManager.register("Counter", Counter)


class ClientThreads:
    """T threads, thread i calling only its own proxy i (its own connection)."""

    def __init__(self, manager, count):
        self.proxies = [manager.Echo() for _ in range(count)]
        self.inboxes = [queue.SimpleQueue() for _ in range(count)]
        self.done = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(count)
        ]
        # One thread connects at a time: the server authenticates connections one by one in
        # its accept loop (with a backlog of 16), so hundreds of simultaneous connects would
        # stall for seconds in SYN retries. Connecting is set-up, not measured.
        for thread in self.threads:
            thread.start()
            self.done.get()

    def _loop(self, index):
        proxy = self.proxies[index]
        inbox = self.inboxes[index]
        proxy.ping(0)  # this thread's connection
        self.done.put(0)
        while True:
            calls = inbox.get()
            if calls is None:
                break
            for i in range(calls):
                proxy.ping(i)
            self.done.put(calls)

    def run(self, ops):
        count = len(self.threads)
        share, extra = divmod(ops, count)
        start = time.perf_counter_ns()
        for index, inbox in enumerate(self.inboxes):
            inbox.put(share + (1 if index < extra else 0))
        for _ in range(count):
            self.done.get()
        return time.perf_counter_ns() - start

    def close(self):
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join()
        self.proxies.clear()


def latency(proxy, ops):
    start = time.perf_counter_ns()
    for i in range(ops):
        proxy.ping(i)
    return time.perf_counter_ns() - start


def create(manager, ops):
    start = time.perf_counter_ns()
    for _ in range(ops):
        counter = manager.Counter()
        del counter
    return time.perf_counter_ns() - start


def reply(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def main():
    authkey = sys.argv[1].encode()
    unix_path = sys.argv[2]
    ctx = mp.get_context("spawn")
    managers = {
        "unix": SocketBenchManager(address=unix_path, authkey=authkey, ctx=ctx),
        "inet": SocketBenchManager(address=("127.0.0.1", 0), authkey=authkey, ctx=ctx),
    }
    for manager in managers.values():
        manager.start()
    echoes = {family: manager.Echo() for family, manager in managers.items()}
    pools = {}
    try:
        reply(
            {
                "ready": True,
                "python": platform.python_version(),
                "pid": os.getpid(),
                "addresses": {family: m.address for family, m in managers.items()},
            }
        )
        for line in iter(sys.stdin.readline, ""):
            command = json.loads(line)
            if command["t"] == "quit":
                break
            family = command["family"]
            ops = command["ops"]
            metric = command["metric"]
            if metric == "latency":
                ns = latency(echoes[family], ops)
            elif metric == "throughput":
                key = (family, command["threads"])
                if key not in pools:
                    pools[key] = ClientThreads(managers[family], command["threads"])
                ns = pools[key].run(ops)
            elif metric == "create":
                ns = create(managers[family], ops)
            else:
                raise ValueError(f"unknown metric {metric}")
            reply({"ns": ns})
    finally:
        for pool in pools.values():
            pool.close()
        echoes.clear()
        for manager in managers.values():
            manager.shutdown()
    reply({"quit": True})


if __name__ == "__main__":
    main()
