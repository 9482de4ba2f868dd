#!/usr/bin/env python3
"""Peer-discovery announcements against an independent implementation (Python protobuf stubs from
the repository's .proto files, PyNaCl, argon2-cffi), written from shared/spec/wire.md:

  wire.py generate CASES.json     Python's envelopes: ADD with a hosts map, UPDATE with
                                  public_key_new (sealed with the new key), REMOVE, and three bad
                                  ones (a key that is not the sender, ADD with public_key_new, a
                                  malformed allowed IP), each sealed to the community key
  wire.py verify CASES.json WARREN.json
                                  opens Warren's envelopes with the community private key and
                                  parses them; prints "pdisc-wire: N passed, M failed"
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.join(HERE, "..", "..", "Protos")
out = tempfile.mkdtemp(prefix="warren-pdisc-")
protos = [os.path.relpath(os.path.join(d, f), PROTOS) for d, _, files in os.walk(PROTOS) for f in files if f.endswith(".proto")]
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"--python_out={out}", *protos], check=True)
for package in ["cunicu", "cunicu/signaling", "cunicu/epdisc", "cunicu/pdisc", "cunicu/core", "warren"]:
    os.makedirs(os.path.join(out, package), exist_ok=True)
    open(os.path.join(out, package, "__init__.py"), "a").close()
sys.path.insert(0, out)

from argon2.low_level import Type, hash_secret_raw  # noqa: E402
from nacl.public import Box, PrivateKey  # noqa: E402
from nacl.utils import random as random_bytes  # noqa: E402
from cunicu.pdisc import pdisc_pb2  # noqa: E402
from cunicu.signaling import signaling_pb2  # noqa: E402

PASSPHRASE = "independent implementations agree"
b64 = lambda b: base64.b64encode(bytes(b)).decode()  # noqa: E731


def community():
    key = bytearray(hash_secret_raw(PASSPHRASE.encode(), b"w1c3c0nn3cts3veryb0dy", time_cost=1, memory_cost=65536,
                                    parallelism=4, hash_len=32, type=Type.ID))
    key[0] &= 248; key[31] &= 127; key[31] |= 64
    return PrivateKey(bytes(key))


def seal(description, sender, community_public):
    message = signaling_pb2.Message(peer=description)
    nonce = random_bytes(24)
    body = Box(sender, community_public).encrypt(message.SerializeToString(), nonce).ciphertext
    envelope = signaling_pb2.Envelope(sender=bytes(sender.public_key), recipient=bytes(community_public),
                                      contents=signaling_pb2.EncryptedMessage(body=body, nonce=nonce))
    return b64(envelope.SerializeToString())


def generate(path):
    c = community()
    alice, bob, bob_new = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
    hosts = {"alice.mesh": pdisc_pb2.PeerAddresses(addresses=[{"addr": bytes([10, 99, 0, 1])},
                                                              {"addr": bytes.fromhex("fd00" + "00" * 13 + "01")}])}
    add = pdisc_pb2.PeerDescription(change=pdisc_pb2.ADD, name="alice", public_key=bytes(alice.public_key),
                                    allowed_ips=["10.99.0.1/32", "fd00::1/128"], hosts=hosts)
    update = pdisc_pb2.PeerDescription(change=pdisc_pb2.UPDATE, name="bob", public_key=bytes(bob.public_key),
                                       public_key_new=bytes(bob_new.public_key), allowed_ips=["10.99.0.2/32"])
    remove = pdisc_pb2.PeerDescription(change=pdisc_pb2.REMOVE, name="alice", public_key=bytes(alice.public_key))
    wrong_sender = pdisc_pb2.PeerDescription(change=pdisc_pb2.ADD, public_key=bytes(bob.public_key), allowed_ips=["10.99.0.9/32"])
    add_with_new = pdisc_pb2.PeerDescription(change=pdisc_pb2.ADD, public_key=bytes(alice.public_key),
                                             public_key_new=bytes(bob_new.public_key))
    bad_cidr = pdisc_pb2.PeerDescription(change=pdisc_pb2.ADD, public_key=bytes(alice.public_key), allowed_ips=["10.99.0.1/33"])
    cases = [
        {"envelope": seal(add, alice, c.public_key), "expect": "accepted", "change": "add", "name": "alice",
         "key": b64(alice.public_key), "allowed_ips": ["10.99.0.1/32", "fd00::1/128"],
         "hosts": {"alice.mesh": ["10.99.0.1", "fd00::1"]}},
        {"envelope": seal(update, bob_new, c.public_key), "expect": "accepted", "change": "update", "name": "bob",
         "key": b64(bob.public_key), "new_key": b64(bob_new.public_key), "allowed_ips": ["10.99.0.2/32"], "hosts": {}},
        {"envelope": seal(remove, alice, c.public_key), "expect": "accepted", "change": "remove", "name": "alice",
         "key": b64(alice.public_key), "allowed_ips": [], "hosts": {}},
        {"envelope": seal(wrong_sender, alice, c.public_key), "expect": "sender_mismatch"},
        {"envelope": seal(add_with_new, alice, c.public_key), "expect": "key_change_without_update"},
        {"envelope": seal(bad_cidr, alice, c.public_key), "expect": "malformed_allowed_ip"},
    ]
    json.dump({"passphrase": PASSPHRASE, "community_public": b64(c.public_key), "cases": cases}, open(path, "w"), indent=1)


def verify(cases_path, warren_path):
    c = community()
    warren = json.load(open(warren_path))
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL: {what}")

    check(warren["community_public"] == b64(c.public_key), f"community key: warren {warren['community_public']}")
    for case in warren["cases"]:
        envelope = signaling_pb2.Envelope()
        envelope.ParseFromString(base64.b64decode(case["envelope"]))
        from nacl.public import PublicKey
        message = signaling_pb2.Message()
        message.ParseFromString(Box(c, PublicKey(envelope.sender)).decrypt(envelope.contents.body, envelope.contents.nonce))
        d = message.peer
        hosts = {name: [a.addr.hex() for a in addresses.addresses] for name, addresses in d.hosts.items()}
        got = {"change": pdisc_pb2.PeerDescriptionChange.Name(d.change).lower(), "name": d.name, "key": b64(d.public_key),
               "new_key": b64(d.public_key_new) if d.public_key_new else None, "allowed_ips": list(d.allowed_ips),
               "hosts": hosts, "sender": b64(envelope.sender), "build_version": d.build_info.version}
        want = case["expect"]
        ok = all(got[k] == want[k] for k in want)
        check(ok, f"Warren's {case['label']}: got {got}, want {want}")
        if ok:
            print(f"PASS: Warren's {case['label']} parsed by Python: {got['change']} {got['name']} {got['allowed_ips']} {got['hosts']}")
    for result in warren["python_cases"]:
        check(result["ok"], f"Python's case {result['index']}: {result['detail']}")
        if result["ok"]:
            print(f"PASS: Python's case {result['index']} in Warren: {result['detail']}")
    print(f"pdisc-wire: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed >= 10 else 1


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2])
    else:
        sys.exit(verify(sys.argv[2], sys.argv[3]))
