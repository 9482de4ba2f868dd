#!/usr/bin/env python3
"""Drives a cluster of `warren signal` replicas from Python (grpc.aio), to check delivery across
replicas and measure it.

  bus_check.py fanout --servers A,B,C --subscribers N --rate R --seconds S [--size BYTES]
                      [--idle SECONDS --ready-file PATH]
      N subscribers (random keys), spread round robin over the replicas; one publisher per replica
      sends R envelopes/s in all, each to a random subscriber; prints a JSON report: envelopes sent,
      delivered, duplicated and missing (every envelope must arrive exactly once), and the p50/p99
      delivery latency for same-replica and cross-replica envelopes.
  bus_check.py stream --from A --to B --rate R --seconds S
      one subscriber on B, R envelopes/s published on A; prints a JSON report with the longest gap
      between deliveries and the envelopes lost (for a PostgreSQL restart in the middle).

Envelope bodies carry a sequence number and the sending time (the receiver's clock is the same
machine's). Stubs are generated from the repository's Protos/ with grpcio-tools.
"""
import argparse
import asyncio
import json
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grpc"))
from stubs import load_stubs  # noqa: E402

load_stubs()
import grpc  # noqa: E402
from cunicu.signaling import signaling_pb2, signaling_pb2_grpc  # noqa: E402


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)


class Subscriber:
    def __init__(self, server, index):
        self.server = server
        self.key = os.urandom(32)
        self.index = index
        self.received = {}  # sequence -> latency in seconds
        self.duplicates = 0
        self.times = []
        self.ready = asyncio.Event()

    async def run(self, channel):
        stub = signaling_pb2_grpc.SignalingStub(channel)
        call = stub.Subscribe(signaling_pb2.SubscribeParams(key=self.key))
        async for envelope in call:
            if not envelope.contents.body:
                self.ready.set()  # The marker: the subscription exists.
                continue
            sequence, sent_ns = struct.unpack_from(">QQ", envelope.contents.body)
            now = time.time_ns()
            if sequence in self.received:
                self.duplicates += 1
            self.received[sequence] = (now - sent_ns) / 1e9
            self.times.append(now)


def envelope_to(recipient, sequence, size):
    body = struct.pack(">QQ", sequence, time.time_ns()) + b"w" * max(0, size - 16)
    return signaling_pb2.Envelope(sender=os.urandom(32), recipient=recipient,
                                  contents=signaling_pb2.EncryptedMessage(body=body, nonce=os.urandom(24)))


async def publish_at(stub, rate, seconds, pick, size, sent):
    """Publishes `rate` envelopes per second for `seconds`; pick(sequence) names the recipient."""
    start = time.monotonic()
    count = int(rate * seconds)
    pending = set()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sequence, recipient = pick()
        sent.append(sequence)
        task = asyncio.ensure_future(stub.Publish(envelope_to(recipient, sequence, size)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def fanout(args):
    servers = args.servers.split(",")
    channels = [grpc.aio.insecure_channel(s) for s in servers]
    subscribers = [Subscriber(i % len(servers), i) for i in range(args.subscribers)]
    tasks = [asyncio.ensure_future(s.run(channels[s.server])) for s in subscribers]
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subscribers)), timeout=300)
    if args.ready_file:  # For a caller that measures the servers with every subscriber idle.
        with open(args.ready_file, "w") as f:
            f.write("subscribed\n")
    await asyncio.sleep(args.idle)
    expected = {}  # sequence -> (subscriber, same replica?)
    counter = iter(range(1, 1 << 62))

    def picker(publisher):
        def pick():
            sequence = next(counter)
            subscriber = random.choice(subscribers)
            expected[sequence] = (subscriber, subscriber.server == publisher)
            return sequence, subscriber.key
        return pick

    sent = []
    stubs = [signaling_pb2_grpc.SignalingStub(c) for c in channels]
    started = time.monotonic()
    await asyncio.gather(*(publish_at(stubs[p], args.rate / len(servers), args.seconds, picker(p), args.size, sent)
                           for p in range(len(servers))))
    elapsed = time.monotonic() - started
    await asyncio.sleep(args.drain)
    same, cross, missing, misdelivered = [], [], 0, 0
    for sequence, (subscriber, same_replica) in expected.items():
        latency = subscriber.received.get(sequence)
        if latency is None:
            missing += 1
        else:
            (same if same_replica else cross).append(latency)
    delivered = sum(len(s.received) for s in subscribers)
    misdelivered = delivered - (len(expected) - missing)
    for task in tasks:
        task.cancel()
    for channel in channels:
        await channel.close()
    return {
        "replicas": len(servers), "subscribers": len(subscribers), "sent": len(sent),
        "rate_achieved": round(len(sent) / elapsed, 1), "delivered": delivered,
        "duplicates": sum(s.duplicates for s in subscribers), "missing": missing, "misdelivered": misdelivered,
        "same_replica_ms": {"count": len(same), "p50": percentile(same, 0.5), "p99": percentile(same, 0.99)},
        "cross_replica_ms": {"count": len(cross), "p50": percentile(cross, 0.5), "p99": percentile(cross, 0.99)},
    }


async def stream(args):
    source, target = grpc.aio.insecure_channel(args.source), grpc.aio.insecure_channel(args.target)
    subscriber = Subscriber(0, 0)
    task = asyncio.ensure_future(subscriber.run(target))
    await asyncio.wait_for(subscriber.ready.wait(), timeout=30)
    counter = iter(range(1, 1 << 62))
    sent = []
    await publish_at(signaling_pb2_grpc.SignalingStub(source), args.rate, args.seconds,
                     lambda: (next(counter), subscriber.key), 64, sent)
    await asyncio.sleep(2)
    task.cancel()
    times = sorted(subscriber.times)
    gaps = [b - a for a, b in zip(times, times[1:])]
    return {"sent": len(sent), "delivered": len(subscriber.received), "lost": len(sent) - len(subscriber.received),
            "duplicates": subscriber.duplicates,
            "longest_gap_ms": round(max(gaps) / 1e6, 1) if gaps else None,
            "p50_ms": percentile(list(subscriber.received.values()), 0.5)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    f = commands.add_parser("fanout")
    f.add_argument("--servers", required=True)
    f.add_argument("--subscribers", type=int, default=300)
    f.add_argument("--rate", type=float, default=300)
    f.add_argument("--seconds", type=float, default=5)
    f.add_argument("--size", type=int, default=200)
    f.add_argument("--drain", type=float, default=3)
    f.add_argument("--idle", type=float, default=0, help="seconds to wait, every subscriber idle, before publishing")
    f.add_argument("--ready-file", help="written once every subscriber has its marker")
    s = commands.add_parser("stream")
    s.add_argument("--from", dest="source", required=True)
    s.add_argument("--to", dest="target", required=True)
    s.add_argument("--rate", type=float, default=100)
    s.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    report = asyncio.run(fanout(args) if args.command == "fanout" else stream(args))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
