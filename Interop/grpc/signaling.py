#!/usr/bin/env python3
"""An independent implementation of cunicu's signaling, in Python (grpcio + PyNaCl), written from
shared/spec/wire.md to check Warren against:

  signaling.py server PORT
      a cunicu.signaling.Signaling server: marker envelope first, relays, stores nothing
  signaling.py peer --server HOST:PORT --key PRIVATE_B64 --peer PUBLIC_B64 --name NAME --expect NAME
      a peer that exchanges ICE credentials (need_creds handshake of session.md) with another peer
      and checks that it opened the other's sealed message; exits 0 on success
  signaling.py probe-subscribe --server HOST:PORT --key PUBLIC_B64
      subscribes to a key as cunicu's client does (no proof of key possession) and prints
      "SUBSCRIBED" once the marker arrives, or "REFUSED <status code> <details>"

Stubs are generated from the repository's Protos/ with grpcio-tools into a temporary folder.
"""
import argparse
import base64
import queue
import sys
import threading
import time
from concurrent import futures

from stubs import load_stubs  # next to this file

load_stubs()
import grpc  # noqa: E402
from nacl.public import Box, PrivateKey, PublicKey  # noqa: E402
from nacl.utils import random as random_bytes  # noqa: E402
from cunicu import common_pb2  # noqa: E402
from cunicu.signaling import signaling_pb2, signaling_pb2_grpc  # noqa: E402


class Relay(signaling_pb2_grpc.SignalingServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.topics = {}

    def GetBuildInfo(self, request, context):
        return common_pb2.BuildInfo(version="python-interop")

    def Subscribe(self, request, context):
        if len(request.key) != 32:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "key must be 32 bytes")
        inbox = queue.Queue()
        with self.lock:
            self.topics.setdefault(request.key, []).append(inbox)
        try:
            yield signaling_pb2.Envelope()  # the marker
            while context.is_active():
                try:
                    yield inbox.get(timeout=0.2)
                except queue.Empty:
                    pass
        finally:
            with self.lock:
                self.topics[request.key].remove(inbox)
                if not self.topics[request.key]:
                    del self.topics[request.key]

    def Publish(self, request, context):
        if len(request.sender) != 32 or len(request.recipient) != 32:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "keys must be 32 bytes")
        with self.lock:
            for inbox in self.topics.get(request.recipient, []):
                inbox.put(request)
        return common_pb2.Empty()


def serve(port):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    signaling_pb2_grpc.add_SignalingServicer_to_server(Relay(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"python signaling server on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


def peer(args):
    ours = PrivateKey(base64.b64decode(args.key))
    theirs = PublicKey(base64.b64decode(args.peer))
    box = Box(ours, theirs)
    channel = grpc.insecure_channel(args.server)
    stub = signaling_pb2_grpc.SignalingStub(channel)
    received = queue.Queue()
    subscribed = threading.Event()

    def listen():
        stream = stub.Subscribe(signaling_pb2.SubscribeParams(key=bytes(ours.public_key)))
        for index, envelope in enumerate(stream):
            if index == 0:
                subscribed.set()  # the marker
                continue
            received.put(envelope)

    threading.Thread(target=listen, daemon=True).start()
    if not subscribed.wait(10):
        print(f"{args.name}: no marker envelope within 10 s")
        return 1

    def send(need_creds):
        message = signaling_pb2.Message()
        message.credentials.ufrag = args.name
        message.credentials.pwd = f"{args.name}-pwd"
        message.credentials.need_creds = need_creds
        nonce = random_bytes(24)
        sealed = box.encrypt(message.SerializeToString(), nonce).ciphertext
        stub.Publish(signaling_pb2.Envelope(
            sender=bytes(ours.public_key), recipient=bytes(theirs),
            contents=signaling_pb2.EncryptedMessage(body=sealed, nonce=nonce)), timeout=5)

    got_theirs = they_have_ours = False
    deadline = time.time() + 30
    while time.time() < deadline and not (got_theirs and they_have_ours):
        if not got_theirs:
            send(True)
        try:
            envelope = received.get(timeout=0.2)
        except queue.Empty:
            continue
        if envelope.sender != bytes(theirs) or envelope.recipient != bytes(ours.public_key):
            print(f"{args.name}: envelope between the wrong keys")
            return 1
        message = signaling_pb2.Message()
        message.ParseFromString(box.decrypt(envelope.contents.body, envelope.contents.nonce))
        if message.credentials.ufrag != args.expect:
            print(f"{args.name}: unexpected credentials {message.credentials.ufrag!r}")
            return 1
        got_theirs = True
        if message.credentials.need_creds:
            send(False)
            they_have_ours = True
        else:
            they_have_ours = True
    if got_theirs and they_have_ours:
        print(f"{args.name}: exchanged sealed credentials with {args.expect}")
        return 0
    print(f"{args.name}: timed out (got theirs: {got_theirs}, they have ours: {they_have_ours})")
    return 1


def probe_subscribe(args):
    stub = signaling_pb2_grpc.SignalingStub(grpc.insecure_channel(args.server))
    try:
        stream = stub.Subscribe(signaling_pb2.SubscribeParams(key=base64.b64decode(args.key)), timeout=10)
        next(stream)
        print("SUBSCRIBED")
        stream.cancel()
    except grpc.RpcError as error:
        print(f"REFUSED {error.code().name} {error.details()}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    p = sub.add_parser("peer")
    for option in ["--server", "--key", "--peer", "--name", "--expect"]:
        p.add_argument(option, required=True)
    q = sub.add_parser("probe-subscribe")
    for option in ["--server", "--key"]:
        q.add_argument(option, required=True)
    args = parser.parse_args()
    if args.command == "server":
        serve(args.port)
        return 0
    if args.command == "probe-subscribe":
        return probe_subscribe(args)
    return peer(args)


if __name__ == "__main__":
    sys.exit(main())
