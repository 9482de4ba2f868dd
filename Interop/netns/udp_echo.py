#!/usr/bin/env python3
"""The UDP application behind each host in the network-namespace tests.

  server --bind HOST:PORT
      echoes every datagram back to its sender.
  client --bind HOST:PORT --to HOST:PORT --count N --rate R [--size B]
      sends N numbered datagrams at R per second, waits for the echoes, prints one JSON line
      (sent, received, lost, duplicates, rtt percentiles) and exits 0 only with zero loss.
  client ... --window W --seconds S [--size B]
      throughput: keeps W datagrams in flight for S seconds and prints echoed datagrams per second.
  client ... --first [--seconds S]
      time to the first echo: sends a datagram every 5 ms (nothing may listen yet) until one comes
      back, prints {"first_echo_ms": ..., "at_unix_ms": ...} (since its own start, and the wall
      clock then) and exits 0, or 1 after S seconds.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def serve(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(address(args.bind))
    while True:
        data, source = sock.recvfrom(65536)
        sock.sendto(data, source)


def datagram(seq, size):
    header = struct.pack("!QQ", seq, time.monotonic_ns())
    return header + b"\x00" * max(0, size - len(header))


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)


def paced(sock, target, args):
    received, rtts, duplicates = set(), [], 0
    start = time.monotonic()
    next_seq = 0
    deadline = None
    while True:
        now = time.monotonic()
        if next_seq < args.count and now >= start + next_seq / args.rate:
            sock.sendto(datagram(next_seq, args.size), target)
            next_seq += 1
            continue
        if next_seq == args.count and deadline is None:
            deadline = now + args.drain
        if deadline is not None and (now >= deadline or len(received) == args.count):
            break
        wait = (deadline - now) if deadline is not None else max(0.0, start + next_seq / args.rate - now)
        ready, _, _ = select.select([sock], [], [], wait)
        if ready:
            data, _ = sock.recvfrom(65536)
            seq, sent_ns = struct.unpack("!QQ", data[:16])
            if seq in received:
                duplicates += 1
            else:
                received.add(seq)
                rtts.append((time.monotonic_ns() - sent_ns) / 1e6)
    result = {
        "sent": args.count, "received": len(received), "lost": args.count - len(received), "duplicates": duplicates,
        "rtt_ms_p50": percentile(rtts, 0.5), "rtt_ms_p99": percentile(rtts, 0.99),
        "seconds": round(time.monotonic() - start, 3),
    }
    print(json.dumps(result))
    return 0 if result["lost"] == 0 and duplicates == 0 else 1


def windowed(sock, target, args):
    seq, in_flight, echoed = 0, 0, 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        while in_flight < args.window:
            sock.sendto(datagram(seq, args.size), target)
            seq += 1
            in_flight += 1
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            in_flight = 0  # the rest were lost: refill the window
            continue
        while True:
            try:
                sock.recvfrom(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            echoed += 1
            in_flight = max(0, in_flight - 1)
    result = {"sent": seq, "echoed": echoed, "datagrams_per_second": round(echoed / args.seconds),
              "size": args.size, "window": args.window}
    print(json.dumps(result))
    return 0 if echoed > 0 else 1


def first_echo(sock, target, args):
    start = time.monotonic()
    seq = 0
    while time.monotonic() - start < args.seconds:
        try:
            sock.sendto(datagram(seq, args.size), target)
        except OSError:
            pass  # nothing listens yet (an ICMP error reported on the next call)
        seq += 1
        ready, _, _ = select.select([sock], [], [], 0.005)
        if not ready:
            continue
        try:
            sock.recvfrom(65536)
        except OSError:
            continue
        print(json.dumps({"first_echo_ms": round((time.monotonic() - start) * 1000, 1), "at_unix_ms": round(time.time() * 1000),
                          "sent": seq}))
        return 0
    print(json.dumps({"first_echo_ms": None, "sent": seq}))
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["server", "client"])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--to")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--drain", type=float, default=2.0, help="seconds to wait for echoes after the last send")
    parser.add_argument("--window", type=int, help="throughput mode: datagrams kept in flight")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--first", action="store_true", help="time to the first echo")
    args = parser.parse_args()
    if args.mode == "server":
        serve(args)
        return 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(address(args.bind))
    target = address(args.to)
    if args.first:
        return first_echo(sock, target, args)
    return windowed(sock, target, args) if args.window else paced(sock, target, args)


if __name__ == "__main__":
    sys.exit(main())
