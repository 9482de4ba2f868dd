#!/usr/bin/env python3
"""Median time-to-connected of two aioice agents on 127.0.0.1 (one host candidate each), the
baseline for ice-connect.sh. Usage: aioice_connect.py RUNS"""
import asyncio
import statistics
import sys
import time

import aioice
import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def once() -> float:
    a = aioice.Connection(ice_controlling=True, use_ipv6=False)
    b = aioice.Connection(ice_controlling=False, use_ipv6=False)
    await a.gather_candidates()
    await b.gather_candidates()
    start = time.perf_counter()
    for x, y in ((a, b), (b, a)):
        x.remote_username, x.remote_password = y.local_username, y.local_password
        for candidate in y.local_candidates:
            await x.add_remote_candidate(candidate)
        await x.add_remote_candidate(None)
    await asyncio.gather(a.connect(), b.connect())
    elapsed = time.perf_counter() - start
    await a.close()
    await b.close()
    return elapsed


async def main(runs: int) -> None:
    times = sorted([await once() for _ in range(runs)])
    print(f"aioice time-to-connected: median {statistics.median(times) * 1000:.2f} ms over {runs} runs "
          f"(min {times[0] * 1000:.2f}, max {times[-1] * 1000:.2f})")


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
