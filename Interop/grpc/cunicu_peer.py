#!/usr/bin/env python3
"""A peer that follows cunicu's session rules, in Python, to check Warren's restarts against:
aioice is its ICE agent, grpcio and PyNaCl carry cunicu's sealed signaling, and its protobuf
schema is cunicu's own (Warren's field 100 is stripped from it, so Warren's extension arrives as
an unknown field, as it does at cunicu).

  cunicu_peer.py --server HOST:PORT --key PRIVATE_B64 --peer PUBLIC_B64 --echo-port PORT
                 --ready-file PATH --report PATH

cunicu's rules (its epdisc peer): while Idle, send our credentials with need_creds = true, with
back-off (0.5 s, x1.5, +-50 %); credentials that differ from the remembered remote ones restart the
session (close the agent, new credentials, forget the remote ones, Idle again); otherwise, when
Idle, take them, answer need_creds, gather and trickle every candidate; connect once the first
remote candidate is there.

The run: connect to the Warren peer and check the path (datagrams to Warren's proxy, which
forwards them to the echo socket here on --echo-port, and back); restart ourselves and check that
Warren answered with one restart of its own and we reconnect; then write --ready-file and wait for
the Warren daemon to be restarted by the caller, which must make us restart once and reconnect.
Writes a JSON report and exits 0 when every step held.
"""
import argparse
import asyncio
import base64
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.join(HERE, "..", "..", "Protos")


def load_cunicu_stubs():
    """Stubs from Protos/ without Warren's extension: cunicu's schema."""
    src = tempfile.mkdtemp(prefix="cunicu-protos-")
    out = tempfile.mkdtemp(prefix="cunicu-stubs-")
    shutil.copytree(os.path.join(PROTOS, "cunicu"), os.path.join(src, "cunicu"))
    path = os.path.join(src, "cunicu", "signaling", "signaling.proto")
    lines = open(path).read().splitlines()
    kept = [line for line in lines if "warren" not in line.lower()]
    open(path, "w").write("\n".join(kept) + "\n")
    protos = [os.path.relpath(os.path.join(d, f), src) for d, _, files in os.walk(src) for f in files if f.endswith(".proto")]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{src}", f"--python_out={out}",
                    f"--grpc_python_out={out}", *protos], check=True)
    for package in ["cunicu", "cunicu/signaling", "cunicu/epdisc", "cunicu/pdisc", "cunicu/core"]:
        open(os.path.join(out, package, "__init__.py"), "a").close()
    sys.path.insert(0, out)


load_cunicu_stubs()
import aioice  # noqa: E402
import aioice.ice  # noqa: E402
import grpc  # noqa: E402
from google.protobuf import unknown_fields  # noqa: E402
from nacl.public import Box, PrivateKey, PublicKey  # noqa: E402
from nacl.utils import random as random_bytes  # noqa: E402
from cunicu.epdisc import epdisc_pb2  # noqa: E402
from cunicu.signaling import signaling_pb2, signaling_pb2_grpc  # noqa: E402

# Loopback only: aioice normally gathers every interface address except 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

TYPES = {"host": epdisc_pb2.HOST, "srflx": epdisc_pb2.SERVER_REFLEXIVE, "prflx": epdisc_pb2.PEER_REFLEXIVE,
         "relay": epdisc_pb2.RELAY}
NAMES = {value: key for key, value in TYPES.items()}


def varint(data, index):
    value, shift = 0, 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, index


def log(text):
    print(f"cunicu-peer {time.strftime('%H:%M:%S')}: {text}", flush=True)


class Peer:
    def __init__(self, args, loop):
        self.loop = loop
        self.ours = PrivateKey(base64.b64decode(args.key))
        self.theirs = PublicKey(base64.b64decode(args.peer))
        self.box = Box(self.ours, self.theirs)
        self.controlling = bytes(self.ours.public_key) < bytes(self.theirs)
        self.stub = signaling_pb2_grpc.SignalingStub(grpc.insecure_channel(args.server))
        self.inbox = asyncio.Queue()
        self.connection = None
        self.local = None            # our credentials (ufrag, pwd)
        self.remote = None           # the remembered remote credentials
        self.state = "closed"
        self.restarts = 0
        self.last_restart = None
        self.connected = asyncio.Event()
        self.tasks = set()
        self.unknown_fields_seen = 0
        self.freshness_seen = 0
        self.sent_at_decreased = 0
        self.last_sent_at = 0
        self.messages_received = 0

    # Signaling ----------------------------------------------------------------------------------

    def subscribe(self):
        subscribed = threading.Event()

        def listen():
            stream = self.stub.Subscribe(signaling_pb2.SubscribeParams(key=bytes(self.ours.public_key)))
            for index, envelope in enumerate(stream):
                if index == 0:
                    subscribed.set()
                    continue
                self.loop.call_soon_threadsafe(self.inbox.put_nowait, envelope)

        threading.Thread(target=listen, daemon=True).start()
        if not subscribed.wait(10):
            raise RuntimeError("no marker envelope within 10 s")

    async def publish(self, message):
        nonce = random_bytes(24)
        body = self.box.encrypt(message.SerializeToString(), nonce).ciphertext
        envelope = signaling_pb2.Envelope(sender=bytes(self.ours.public_key), recipient=bytes(self.theirs),
                                          contents=signaling_pb2.EncryptedMessage(body=body, nonce=nonce))
        await self.loop.run_in_executor(None, lambda: self.stub.Publish(envelope, timeout=5))

    async def send_credentials(self, need_creds):
        message = signaling_pb2.Message()
        message.credentials.ufrag, message.credentials.pwd = self.local
        message.credentials.need_creds = need_creds
        await self.publish(message)

    async def receive_loop(self):
        while True:
            envelope = await self.inbox.get()
            message = signaling_pb2.Message()
            message.ParseFromString(self.box.decrypt(envelope.contents.body, envelope.contents.nonce))
            self.messages_received += 1
            unknown = unknown_fields.UnknownFieldSet(message)
            if len(unknown) > 0:
                self.unknown_fields_seen += 1
            self.note_freshness(unknown)
            if message.HasField("credentials"):
                await self.on_credentials(message.credentials)
            if message.HasField("candidate"):
                await self.on_candidate(message.candidate)

    def note_freshness(self, unknown):
        """Warren's field 100 (warren.Freshness), which cunicu's schema does not know: decoded by
        hand from the unknown fields, to check it carries agent_generation (1) and sent_at (2)."""
        for field in unknown:
            if field.field_number != 100:
                continue
            values, data, index = {}, bytes(field.data), 0
            while index < len(data):
                key, index = varint(data, index)
                if key & 7 != 0:
                    break
                values[key >> 3], index = varint(data, index)
            if 1 in values and 2 in values:
                self.freshness_seen += 1
                if values[2] <= self.last_sent_at:
                    self.sent_at_decreased += 1
                self.last_sent_at = values[2]

    # cunicu's session rules -----------------------------------------------------------------------

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def create_agent(self):
        self.connection = aioice.Connection(ice_controlling=self.controlling, components=1, use_ipv6=False)
        self.local = (self.connection.local_username, self.connection.local_password)
        self.remote = None
        self.state = "idle"
        self.connected.clear()
        self.spawn(self.credentials_while_idle(self.connection))

    async def credentials_while_idle(self, connection):
        interval = 0.5
        while self.connection is connection and self.state == "idle":
            await self.send_credentials(True)
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))
            interval = min(interval * 1.5, 60)

    async def restart(self, why):
        log(f"restart: {why}")
        self.restarts += 1
        self.last_restart = time.monotonic()
        self.state = "closed"
        connection, self.connection = self.connection, None
        await connection.close()
        await self.create_agent()

    async def on_credentials(self, credentials):
        if not credentials.ufrag or not credentials.pwd:
            return
        theirs = (credentials.ufrag, credentials.pwd)
        if self.remote is not None and theirs != self.remote:
            await self.restart("the peer's credentials changed")
            return
        if self.state != "idle":
            return  # duplicated credentials
        self.remote = theirs
        self.connection.remote_username, self.connection.remote_password = theirs
        self.state = "gathering"
        if credentials.need_creds:
            await self.send_credentials(False)
        await self.connection.gather_candidates()
        for candidate in self.connection.local_candidates:
            message = signaling_pb2.Message()
            c = message.candidate
            c.type, c.network_type, c.foundation = TYPES[candidate.type], epdisc_pb2.UDP4, candidate.foundation
            c.component, c.priority, c.address, c.port = 1, candidate.priority - (1 << 32 if candidate.priority >= 1 << 31 else 0), candidate.host, candidate.port
            await self.publish(message)

    async def on_candidate(self, wire):
        if self.remote is None or self.connection is None:
            return
        candidate = aioice.Candidate(foundation=wire.foundation or "0", component=1, transport="udp",
                                     priority=wire.priority & 0xFFFFFFFF, host=wire.address, port=wire.port,
                                     type=NAMES.get(wire.type, "host"))
        await self.connection.add_remote_candidate(candidate)
        if self.state == "gathering":
            self.state = "connecting"
            self.spawn(self.connect(self.connection))

    async def connect(self, connection):
        try:
            await connection.connect()
        except Exception as error:  # a closed agent, or ICE failure
            if connection is self.connection:
                await self.restart(f"ICE failed: {error}")
            return
        if connection is self.connection:
            self.state = "connected"
            self.connected.set()

    # The run --------------------------------------------------------------------------------------

    async def wait_connected_path(self, timeout):
        """Connected, and a datagram through Warren's proxy to the echo comes back over the path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.connected.wait(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            connection = self.connection
            probe = f"cunicu-ping-{random.randrange(1 << 30)}".encode()
            try:
                await connection.send(probe)
                while True:
                    data = await asyncio.wait_for(connection.recv(), 1)
                    if data == probe:
                        return True
            except (asyncio.TimeoutError, ConnectionError, AttributeError):
                await asyncio.sleep(0.05)
        return False


def echo(port):
    """The application behind Warren: echoes what Warren's proxy delivers."""
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        data, source = sock.recvfrom(65536)
        sock.sendto(data, source)


async def run(args):
    loop = asyncio.get_running_loop()
    threading.Thread(target=echo, args=(args.echo_port,), daemon=True).start()
    peer = Peer(args, loop)
    peer.subscribe()
    receiver = asyncio.ensure_future(peer.receive_loop())
    report = {"steps": {}, "ok": False}
    await peer.create_agent()

    started = time.monotonic()
    if not await peer.wait_connected_path(30):
        report["steps"]["connect"] = "no path within 30 s"
        return report
    report["steps"]["connect_ms"] = round((time.monotonic() - started) * 1000)
    log(f"connected; the path to Warren's echo works ({report['steps']['connect_ms']} ms)")

    # 1. We restart (cunicu's Restart): Warren must answer without restarting us again.
    started = time.monotonic()
    await peer.restart("asked by the test")
    if not await peer.wait_connected_path(30):
        report["steps"]["own_restart"] = "no path within 30 s after our restart"
        return report
    report["steps"]["own_restart_reconnect_ms"] = round((time.monotonic() - started) * 1000)
    await asyncio.sleep(2)  # late messages of the restart, if any, would restart us again
    report["steps"]["restarts_after_own_restart"] = peer.restarts
    log(f"reconnected {report['steps']['own_restart_reconnect_ms']} ms after our restart; restarts {peer.restarts}")

    # 2. The caller restarts the Warren daemon: its new credentials restart us, once.
    restarts_before = peer.restarts
    with open(args.ready_file, "w") as f:
        f.write("ready\n")
    deadline = time.monotonic() + 30
    while peer.restarts == restarts_before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    started = peer.last_restart
    if peer.restarts == restarts_before:
        report["steps"]["warren_restart"] = "no new credentials from Warren within 30 s"
        return report
    if not await peer.wait_connected_path(30):
        report["steps"]["warren_restart"] = "no path within 30 s after Warren's restart"
        return report
    report["steps"]["warren_restart_reconnect_ms"] = round((time.monotonic() - started) * 1000)
    await asyncio.sleep(2)
    report["steps"]["restarts_for_warren_restart"] = peer.restarts - restarts_before
    log(f"reconnected {report['steps']['warren_restart_reconnect_ms']} ms after Warren's restart")

    report["restarts"] = peer.restarts
    report["messages_received"] = peer.messages_received
    report["messages_with_unknown_fields"] = peer.unknown_fields_seen
    # Every message of Warren's carries field 100 with agent_generation and sent_at, sent_at
    # strictly increasing (Warren publishes one message at a time; this server keeps the order).
    report["messages_with_sent_at"] = peer.freshness_seen
    report["sent_at_not_increasing"] = peer.sent_at_decreased
    report["ok"] = (report["steps"]["restarts_after_own_restart"] == 1
                    and report["steps"]["restarts_for_warren_restart"] == 1
                    and peer.unknown_fields_seen > 0
                    and peer.freshness_seen == peer.messages_received
                    and peer.sent_at_decreased == 0)
    receiver.cancel()
    if peer.connection:
        await peer.connection.close()
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for option in ["--server", "--key", "--peer", "--ready-file", "--report"]:
        parser.add_argument(option, required=True)
    parser.add_argument("--echo-port", type=int, required=True)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    with open(args.report, "w") as f:
        json.dump(report, f)
    log(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
