#!/usr/bin/env python3
"""aioice (an independent ICE agent) against Warren's ICE agent on loopback.

  aioice_peer.py DIR --controlling|--controlled

Writes DIR/peer.json (credentials and candidates), waits for DIR/warren.json from Warren's side
(the Swift test ICEInteropPeer), connects, sends "aioice-hello" over the selected pair and waits
for "warren-hello". Gathering is limited to 127.0.0.1, so nothing leaves the machine.
"""
import argparse
import asyncio
import json
import os
import sys

import aioice
import aioice.ice

# Loopback only: aioice normally gathers every interface address except 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--controlling", action="store_true")
    role.add_argument("--controlled", action="store_true")
    args = parser.parse_args()

    connection = aioice.Connection(ice_controlling=args.controlling, components=1, use_ipv6=False)
    await connection.gather_candidates()
    with open(os.path.join(args.dir, "peer.json.tmp"), "w") as f:
        json.dump({
            "ufrag": connection.local_username,
            "pwd": connection.local_password,
            "candidates": [{"ip": c.host, "port": c.port, "priority": c.priority, "foundation": c.foundation,
                            "type": c.type} for c in connection.local_candidates],
        }, f)
    os.rename(os.path.join(args.dir, "peer.json.tmp"), os.path.join(args.dir, "peer.json"))

    warren_file = os.path.join(args.dir, "warren.json")
    for _ in range(300):
        if os.path.exists(warren_file):
            break
        await asyncio.sleep(0.1)
    else:
        print("aioice: no warren.json within 30 s")
        return 1
    with open(warren_file) as f:
        warren = json.load(f)
    connection.remote_username = warren["ufrag"]
    connection.remote_password = warren["pwd"]
    for c in warren["candidates"]:
        await connection.add_remote_candidate(aioice.Candidate(
            foundation=c["foundation"], component=1, transport="udp", priority=c["priority"],
            host=c["ip"], port=c["port"], type=c["type"]))
    await connection.add_remote_candidate(None)

    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(connection.connect(), 20)
    connected = asyncio.get_running_loop().time() - started
    await connection.send(b"aioice-hello")
    data = await asyncio.wait_for(connection.recv(), 20)
    await connection.close()
    if data != b"warren-hello":
        print(f"aioice: unexpected data {data!r}")
        return 1
    print(f"aioice ({'controlling' if args.controlling else 'controlled'}): connected in "
          f"{connected * 1000:.1f} ms and exchanged datagrams with Warren")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
