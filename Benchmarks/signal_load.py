"""An independent load client for a cunicu signaling server (warren signal or cunicu signal), in
Python grpcio: the same client measures both, so their figures compare.

    signal_load.py --port P --pid SERVER_PID [--subscribers 3000] [--per-connection 1]
                   [--rate 1000] [--size 200] [--seconds 10]

1. Reads the server's resident memory, then opens SUBSCRIBERS / PER_CONNECTION connections
   (one HTTP/2 connection per channel, as every daemon has its own) and subscribes PER_CONNECTION
   keys on each, all at once; the setup time ends when every subscription's marker envelope (the
   empty first one, wire.md) has arrived. Memory per subscriber is the growth of the server's
   resident memory over that, after a settling second.
2. Publishes RATE envelopes of SIZE bytes per second (unary Publish, from four connections of
   their own) to subscribers chosen at random, for one second of warm-up and then SECONDS measured.
   Each body carries its sequence number and send time; delivery latency is receive time minus
   send time, in this process. The server's CPU time over the measured window comes from
   /proc/PID/stat.
3. Prints one JSON line: setup_s, rss_per_subscriber_kib, cpu_percent (of one core),
   p50_ms, p99_ms, published, delivered, lost, duplicated.

With --hold it only subscribes, prints {"held": N, "setup_s": S} once every subscription is up,
and holds them until stopped: idle subscribers beside a measuring client, for a scale run from
several processes (Benchmarks/signal-scale.sh), each under its own limit of open files.
"""
import argparse
import asyncio
import json
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop", "grpc"))
from stubs import load_stubs  # noqa: E402

load_stubs()
import grpc  # noqa: E402
from cunicu.signaling import signaling_pb2 as sig  # noqa: E402
from cunicu.signaling import signaling_pb2_grpc as sig_grpc  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# One TCP connection per channel: grpcio otherwise shares a subchannel between channels to one
# target. No keepalive pings from the client: the server's own settings decide.
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


class Load:
    def __init__(self, args):
        self.args = args
        self.keys = [os.urandom(32) for _ in range(args.subscribers)]
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.latencies = []
        self.seen = set()
        self.delivered = 0
        self.measuring_from = None  # the first sequence number of the measured window
        self.streams = []

    async def subscribe(self, stub, key):
        call = stub.Subscribe(sig.SubscribeParams(key=key))
        self.streams.append(call)
        marker = True
        try:
            async for envelope in call:
                if marker:  # the empty envelope that says the subscription exists
                    marker = False
                    self.ready += 1
                    if self.ready == self.args.subscribers:
                        self.all_ready.set()
                    continue
                received = time.perf_counter_ns()
                sequence, sent = struct.unpack_from("<QQ", envelope.contents.body)
                self.delivered += 1
                self.seen.add(sequence)  # a duplicate is delivered, not seen, a second time
                if self.measuring_from is not None and sequence >= self.measuring_from:
                    self.latencies.append((received - sent) / 1e6)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                print(f"subscription ended: {error.code()} {error.details()}", file=sys.stderr)

    def envelope(self, sender, recipient, sequence):
        body = struct.pack("<QQ", sequence, time.perf_counter_ns())
        envelope = sig.Envelope(sender=sender, recipient=recipient,
                                contents=sig.EncryptedMessage(body=body, nonce=bytes(24)))
        padding = self.args.size - envelope.ByteSize()
        envelope.contents.body = body + bytes(max(0, padding))
        if envelope.ByteSize() != self.args.size:  # a longer body may take a longer length prefix
            envelope.contents.body = body + bytes(max(0, padding - (envelope.ByteSize() - self.args.size)))
        return envelope

    async def run(self):
        args = self.args
        target = f"127.0.0.1:{args.port}"
        rss_before = rss_kib(args.pid)
        connections = (args.subscribers + args.per_connection - 1) // args.per_connection
        channels = [grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) for _ in range(connections)]
        started = time.perf_counter()
        tasks = []
        try:
            for index, key in enumerate(self.keys):
                stub = sig_grpc.SignalingStub(channels[index // args.per_connection])
                tasks.append(asyncio.create_task(self.subscribe(stub, key)))
                # --batch: a wave at a time, each one up before the next starts.
                if args.batch and len(tasks) % args.batch == 0:
                    deadline = started + args.setup_timeout
                    while self.ready < len(tasks) and time.perf_counter() < deadline:
                        await asyncio.sleep(0.01)
            await asyncio.wait_for(self.all_ready.wait(), timeout=max(0.1, started + args.setup_timeout - time.perf_counter()))
        except asyncio.TimeoutError:
            print(f"only {self.ready} of {args.subscribers} subscriptions ready after {args.setup_timeout} s",
                  file=sys.stderr)
            return 1
        setup = time.perf_counter() - started
        if args.hold:  # idle subscribers for a scale run: say so, then hold them until stopped
            print(json.dumps({"held": args.subscribers, "setup_s": round(setup, 3)}), flush=True)
            await asyncio.Event().wait()
        await asyncio.sleep(1)
        rss_after = rss_kib(args.pid)

        publishers = [sig_grpc.SignalingStub(grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS))
                      for _ in range(4)]
        sender = os.urandom(32)
        warmup = args.rate  # one second
        total = warmup + args.rate * args.seconds
        in_flight = set()
        failures = 0
        publish_start = time.perf_counter()
        cpu_start = wall_start = None
        for sequence in range(total):
            if sequence == warmup:
                self.measuring_from = sequence
                cpu_start, wall_start = cpu_seconds(args.pid), time.perf_counter()
            due = publish_start + sequence / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            envelope = self.envelope(sender, random.choice(self.keys), sequence)
            call = publishers[sequence % len(publishers)].Publish(envelope)
            in_flight.add(call)
            call.add_done_callback(in_flight.discard)
        for call in list(in_flight):
            try:
                await call
            except grpc.aio.AioRpcError:
                failures += 1
        cpu_end, wall_end = cpu_seconds(args.pid), time.perf_counter()
        # What is still on its way: waited for up to five seconds.
        deadline = time.perf_counter() + 5
        while len(self.seen) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        unique = len(self.seen)
        latencies = sorted(self.latencies)
        result = {
            "subscribers": args.subscribers,
            "per_connection": args.per_connection,
            "setup_s": round(setup, 3),
            "rss_per_subscriber_kib": round((rss_after - rss_before) / args.subscribers, 2),
            "rss_mib": round(rss_after / 1024, 1),
            "cpu_percent": round(100 * (cpu_end - cpu_start) / (wall_end - wall_start), 1),
            "rate": round((total - warmup) / (wall_end - wall_start)),
            "p50_ms": round(percentile(latencies, 0.50), 3),
            "p99_ms": round(percentile(latencies, 0.99), 3),
            "published": total,
            "publish_failures": failures,
            "delivered": self.delivered,
            "lost": total - unique,
            "duplicated": self.delivered - unique,
        }
        print(json.dumps(result), flush=True)
        for call in self.streams:
            call.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return 0 if result["lost"] == 0 and result["duplicated"] == 0 and failures == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process, for CPU and memory")
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--per-connection", type=int, default=1)
    parser.add_argument("--rate", type=int, default=1000, help="envelopes per second")
    parser.add_argument("--size", type=int, default=200, help="bytes per envelope, serialized")
    parser.add_argument("--seconds", type=int, default=10, help="the measured window")
    parser.add_argument("--setup-timeout", type=float, default=120)
    parser.add_argument("--batch", type=int, default=0,
                        help="subscribe this many at a time, each wave up before the next (0: all at once)")
    parser.add_argument("--hold", action="store_true",
                        help="only subscribe, print when every subscription is up, and hold them until stopped")
    sys.exit(asyncio.run(Load(parser.parse_args()).run()))


if __name__ == "__main__":
    main()
