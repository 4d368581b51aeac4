"""What one Lua script round trip to a loopback Redis costs: redis-py's asyncio client vs raw streams.

    .venv/bin/python -m bench.redis_round_trip [--calls 3000]

Cluster mode's admission is one EVALSHA per keyed request (`server/counters.py`); this says how much
of the cluster's added latency the client library is, against the same script written as RESP on a
plain asyncio stream. Starts its own `redis-server` (Debian's package) on a free loopback port and
stops it by PID. Prints the median of each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time

import redis.asyncio as aioredis

from tests.support.processes import free_port

SCRIPT = "redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])"


async def _through_redis_py(port: int, calls: int) -> tuple[float, str]:
    client = aioredis.Redis(host="127.0.0.1", port=port)
    try:
        script = client.register_script(SCRIPT)
        for _ in range(200):  # warm-up
            await script(keys=["k"])
        took = []
        for _ in range(calls):
            started = time.perf_counter()
            await script(keys=["k"])
            took.append(time.perf_counter() - started)
        sha = str(await client.script_load(SCRIPT))
    finally:
        await client.aclose()
    return statistics.median(took) * 1000, sha


async def _through_raw_stream(port: int, sha: str, calls: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    command = f"*4\r\n$7\r\nEVALSHA\r\n${len(sha)}\r\n{sha}\r\n$1\r\n1\r\n$1\r\nk\r\n".encode()
    took = []
    try:
        for _ in range(calls):
            started = time.perf_counter()
            writer.write(command)
            await writer.drain()
            await reader.readuntil(b"\r\n")  # the bulk string's length
            await reader.readuntil(b"\r\n")  # its value
            took.append(time.perf_counter() - started)
    finally:
        writer.close()
    return statistics.median(took) * 1000


async def measure(port: int, calls: int) -> tuple[float, float]:
    await asyncio.sleep(0.5)  # the server binding
    library_ms, sha = await _through_redis_py(port, calls)
    return library_ms, await _through_raw_stream(port, sha, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--dir", workdir], stdout=subprocess.DEVNULL)
        try:
            library_ms, raw_ms = asyncio.run(measure(port, args.calls))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("| client | EVALSHA p50 ms |\n|---|---|")
    print(f"| redis-py asyncio | {library_ms:.3f} |\n| raw asyncio stream | {raw_ms:.3f} |")


if __name__ == "__main__":
    main()
