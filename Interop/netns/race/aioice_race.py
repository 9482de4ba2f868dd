#!/usr/bin/env python3
"""aioice (PyPI) as one side of the ICE race across NATs (two-nat.sh, step 9).

  aioice_race.py DIR SELF PEER controlling|controlled LOCAL_IP STUN_IP STUN_PORT TURN_IP TURN_PORT USER PASSWORD

Gathers host (LOCAL_IP only), server-reflexive and relayed candidates (TURN over UDP), writes
DIR/SELF in the race's exchange format (lines `ufrag U`, `pwd P`,
`candidate TYPE IP PORT PRIORITY FOUNDATION`), waits for DIR/PEER and connects at once. The
controlling side reports the time from reading the peer's description to connected and to the
first datagram echoed by the peer (it sends "probe" every 5 ms once connected), then writes
DIR/done; the controlled side echoes every datagram until DIR/done appears, then names the pair
it sends on (`aioice: selected LOCAL/REMOTE` types). Prints
`race: aioice ROLE connected_ms=X echo_ms=Y` and exits 0, or 1 after 20 s.
"""
import asyncio
import os
import sys
import time

import aioice
import aioice.ice


async def wait_for_file(path: str, interval: float) -> None:
    while not os.path.exists(path):
        await asyncio.sleep(interval)


def read_description(path: str) -> tuple[str, str, list[aioice.Candidate]]:
    ufrag = pwd = ""
    candidates = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields[:1] == ["ufrag"]:
                ufrag = fields[1]
            elif fields[:1] == ["pwd"]:
                pwd = fields[1]
            elif fields[:1] == ["candidate"] and len(fields) == 6:
                kind, ip, port, priority, foundation = fields[1:]
                candidates.append(aioice.Candidate(
                    foundation=foundation, component=1, transport="udp", priority=int(priority),
                    host=ip, port=int(port), type=kind))
    return ufrag, pwd, candidates


async def race(directory: str, self_name: str, peer_name: str, controlling: bool, connection: aioice.Connection) -> str:
    await connection.gather_candidates()
    with open(os.path.join(directory, self_name + ".tmp"), "w") as f:
        f.write(f"ufrag {connection.local_username}\npwd {connection.local_password}\n")
        for c in connection.local_candidates:
            f.write(f"candidate {c.type} {c.host} {c.port} {c.priority} {c.foundation}\n")
    os.rename(os.path.join(directory, self_name + ".tmp"), os.path.join(directory, self_name))

    await wait_for_file(os.path.join(directory, peer_name), 0.001)
    started = time.monotonic()
    ufrag, pwd, candidates = read_description(os.path.join(directory, peer_name))
    connection.remote_username = ufrag
    connection.remote_password = pwd
    for candidate in candidates:
        await connection.add_remote_candidate(candidate)
    await connection.add_remote_candidate(None)
    await connection.connect()
    connected = time.monotonic() - started

    if not controlling:
        async def echo() -> None:
            while True:
                await connection.send(await connection.recv())
        echoing = asyncio.ensure_future(echo())
        await wait_for_file(os.path.join(directory, "done"), 0.01)
        echoing.cancel()
        # The pair aioice sends on: the one nominated last (a private field; aioice has no API).
        pair = connection._nominated.get(1)
        if pair is not None:
            print(f"aioice: selected {pair.local_candidate.type}/{pair.remote_candidate.type}")
        return f"connected_ms={connected * 1000:.1f} echo_ms=-1"

    async def probe() -> None:
        while True:
            await connection.send(b"probe")
            await asyncio.sleep(0.005)
    probing = asyncio.ensure_future(probe())
    while await connection.recv() != b"probe":
        pass
    echoed = time.monotonic() - started
    probing.cancel()
    open(os.path.join(directory, "done"), "w").close()
    return f"connected_ms={connected * 1000:.1f} echo_ms={echoed * 1000:.1f}"


async def main() -> int:
    if len(sys.argv) != 12 or sys.argv[4] not in ("controlling", "controlled"):
        print(__doc__, file=sys.stderr)
        return 2
    directory, self_name, peer_name, role, local_ip, stun_ip, stun_port, turn_ip, turn_port, user, password = sys.argv[1:]
    # Host candidates on LOCAL_IP only (aioice would otherwise gather every interface address).
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [local_ip]
    connection = aioice.Connection(
        ice_controlling=role == "controlling", components=1, stun_server=(stun_ip, int(stun_port)),
        turn_server=(turn_ip, int(turn_port)), turn_username=user, turn_password=password, turn_transport="udp",
        use_ipv6=False)
    try:
        result = await asyncio.wait_for(race(directory, self_name, peer_name, role == "controlling", connection), 20)
    except asyncio.TimeoutError:
        print("aioice: no connection and echo within 20 s", file=sys.stderr)
        return 1
    finally:
        await connection.close()
    print(f"race: aioice {role} {result}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
