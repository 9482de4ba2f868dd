#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, Fuzz/corpus/TARGET/NAME: a few valid inputs per target, from
the spec's libsodium vectors, RFC 5769's STUN vectors, recorded rtnetlink datagrams (the netlink
tests' recording) and the shapes the unit tests use. The files are committed; run this again
after changing what a target reads. Every seed must be accepted by its target
(Tests/WarrenFuzzTests checks it). Standard library only."""
import base64
import json
import pathlib
import re
import struct
import sys

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "Fuzz" / "corpus"
vectors = json.loads((root / ".." / "shared" / "spec" / "vectors" / "nacl_box.json").read_text()) \
    if (root / ".." / "shared").exists() else \
    json.loads((root / "Tests" / "WarrenCryptoTests" / "Vectors" / "nacl_box.json").read_text())

written = {}


def seed(target, name, data):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    written[target] = written.get(target, 0) + 1


# --- protobuf, by hand (field numbers from Protos/) ---
def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def candidate(kind, network, address, port, related=None):
    message = field(1, kind) + field(2, network) + field(4, "1234567890") + field(5, 1) + \
        field(6, 2130706431 if kind == 1 else 1694498815) + field(7, address) + field(8, port)
    if related:
        message += field(9, field(1, related[0]) + field(2, related[1]))
    return message


def script(*steps):
    """FuzzScript steps: (control byte, chunk), the chunk at most 255 bytes."""
    out = bytearray()
    for control, chunk in steps:
        assert len(chunk) <= 255
        out += bytes([control, len(chunk)]) + chunk
    return bytes(out)


# --- STUN, by hand (RFC 8489) ---
def stun(kind, tid, attributes):
    body = b""
    for number, value in attributes:
        body += struct.pack(">HH", number, len(value)) + value + b"\0" * (-len(value) % 4)
    return struct.pack(">HHI", kind, len(body), 0x2112A442) + tid + body


def xor_address(ip, port, tid=None):
    packed = bytes(int(part) for part in ip.split("."))
    cookie = struct.pack(">I", 0x2112A442)
    return struct.pack(">BBH", 0, 1, port ^ 0x2112) + bytes(a ^ b for a, b in zip(packed, cookie))


def rfc5769(text):
    return bytes.fromhex(re.sub(r"\s", "", text))


sample_request = rfc5769("""
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 22 00 10 53 54 55 4e 20 74 65 73
  74 20 63 6c 69 65 6e 74 00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36 00 06 00 09
  65 76 74 6a 3a 68 36 76 59 20 20 20 00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49
  c1 b5 71 a2 80 28 00 04 e5 7a 3b cf""")
sample_ipv4_response = rfc5769("""
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 22 00 0b 74 65 73 74 20 76 65 63
  74 6f 72 20 00 20 00 08 00 01 a1 47 e1 12 a6 43 00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9
  2a f9 ba 53 f0 6b e7 d7 80 28 00 04 c0 7d 4c 96""")
sample_ipv6_response = rfc5769("""
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 80 22 00 0b 74 65 73 74 20 76 65 63
  74 6f 72 20 00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9 00 08 00 14
  a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41 80 28 00 04 c8 fb 0b 4c""")
seed("stun", "rfc5769-request", sample_request)
seed("stun", "rfc5769-ipv4-response", sample_ipv4_response)
seed("stun", "rfc5769-ipv6-response", sample_ipv6_response)

tid = bytes(range(1, 13))
USERNAME, PRIORITY, ICE_CONTROLLING, ICE_CONTROLLED, USE_CANDIDATE = 0x0006, 0x0024, 0x802A, 0x8029, 0x0025
XOR_MAPPED, ERROR_CODE, REALM, NONCE, LIFETIME, XOR_RELAYED = 0x0020, 0x0009, 0x0014, 0x0015, 0x000D, 0x0016
check = stun(0x0001, tid, [(USERNAME, b"lfrg:rfrg"), (PRIORITY, struct.pack(">I", 1853824767)),
                           (ICE_CONTROLLING, bytes(8)), (USE_CANDIDATE, b"")])
answer = stun(0x0101, tid, [(XOR_MAPPED, xor_address("10.0.0.1", 5000))])
# The remote's nominated check (signed by the target), then an answer to the agent's own check.
seed("ice-agent", "controlled-check-and-answer", bytes([0]) + script((1, check), (3, answer)))
seed("ice-agent", "controlling-answer", bytes([4]) + script((3, answer), (1 | 8 * 5, b"")))

unauthorized = stun(0x0113, tid, [(ERROR_CODE, struct.pack(">HBB", 0, 4, 1) + b"Unauthorized"),
                                  (REALM, b"fuzz-realm"), (NONCE, b"nonce-0123")])
allocated = stun(0x0103, tid, [(XOR_RELAYED, xor_address("203.0.113.1", 49152)),
                               (XOR_MAPPED, xor_address("198.51.100.2", 40000)), (LIFETIME, struct.pack(">I", 600))])
permitted = stun(0x0108, tid, [])
bound = stun(0x0109, tid, [])
seed("turn", "allocate-401-then-success", script((2, unauthorized), (3, allocated)))
seed("turn", "allocate-permission-channel", script((2, unauthorized), (3 | 4, allocated), (3, permitted), (3, bound),
                                                   (0, bytes.fromhex("40000003010203"))))
seed("channel-data", "five-bytes", bytes.fromhex("400100050102030405"))
seed("channel-data", "padded", bytes.fromhex("4fff0003aabbcc00"))

seed("candidate", "host-ipv4", candidate(1, 1, "192.0.2.10", 51820))
seed("candidate", "srflx-ipv4", candidate(2, 1, "198.51.100.7", 40000, ("10.0.0.2", 51820)))
seed("candidate", "relay-ipv6", candidate(4, 2, "2001:db8::7", 3478, ("2001:db8::1", 60000)) + field(10, 1))

for index, vector in enumerate(vectors["envelopes"]):
    if vector["recipient_private"] == "eKJCuMtFNFEJ/YAOJQ9EbRu/Iuj7PA/QUn9CWK6LhHQ=" and \
            vector["sender_public"] == "rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=":
        seed("envelope", f"vector-{index}", bytes.fromhex(vector["envelope_hex"]))
        message = bytes.fromhex(vector["message_hex"])
        if len(message) <= 255:
            seed("message", f"vector-{index}-controlled", bytes([0]) + script((0, message)))
            seed("message", f"vector-{index}-controlling", bytes([1]) + script((0, message)))
credentials = field(1, field(1, "rfrgrfrgrfrgrfrg") + field(2, "remote-password-0123456789ab") + field(3, 1))
trickled = field(2, candidate(1, 1, "10.0.0.2", 6000))
seed("message", "credentials-candidate-connected", bytes([0]) + script((0, credentials), (1 | 8, trickled), (2, b"\0")))

public_key = base64.b64decode("rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=")  # the target's sender
seed("announcement", "add", field(1, 0) + field(2, "alpha") + field(3, public_key) + field(5, "10.9.0.2/32")
     + field(5, "fd00::2/128"))
seed("announcement", "update-with-host", field(1, 2) + field(2, "beta") + field(3, public_key) + field(5, "10.9.0.3/32")
     + field(7, field(1, "beta.lan") + field(2, field(1, field(1, bytes([10, 9, 0, 3]))))))
seed("announcement", "remove", field(1, 1) + field(3, public_key))

seed("bus-frame", "inline", "w1 00000000000000ab 1796205847000001 CiD/")
seed("bus-frame", "spilled", "w1 ffffffffffffffff -5 @9000000000")
seed("control-request", "status", '{"command":"status"}')
seed("control-request", "ping", '{"command":"ping","peer":"alpha","count":3,"interval_ms":200,"timeout_ms":1000}')
envelope_b64 = "rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4="
seed("watch-event", "added", json.dumps({"type": "ADDED", "object": {
    "apiVersion": "cunicu.li/v1", "kind": "SignalingEnvelope",
    "metadata": {"name": "cunicu-x1", "namespace": "cunicu", "uid": "u1", "resourceVersion": "7"},
    "sender": envelope_b64, "recipient": envelope_b64, "contents": {"body": "AAEC", "nonce": "AAAA"}}}))
seed("watch-event", "bookmark", '{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}')
seed("watch-event", "error", '{"type":"ERROR","object":{"kind":"Status","status":"Failure","reason":"Expired","code":410}}')
seed("watch-event", "deleted", '{"type":"DELETED","object":{"metadata":{"name":"cunicu-x1","resourceVersion":"9"}}}')

seed("daemon-config", "debian-default", (root / "deploy" / "debian" / "warren.yaml").read_text())
seed("daemon-config", "two-backends", """wireguard:
  interfaces: [ wg0, wg1 ]
backends: [ "grpc://127.0.0.1:8080?insecure=true", "k8s:///etc/kubeconfig?namespace=cunicu" ]
ice:
  urls: [ "stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp" ]
  username: user
  password: secret
  candidate_types: [ host, srflx, relay ]
""")
seed("kubeconfig", "token", """apiVersion: v1
kind: Config
current-context: fuzz
clusters:
- name: fuzz
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
users:
- name: fuzz
  user:
    token: abc.def
contexts:
- name: fuzz
  context:
    cluster: fuzz
    user: fuzz
    namespace: cunicu
""")
seed("allowed-keys", "two-keys", "# alice\nrhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=\n98Xk81bU6FxnoD8E25PgEvgkZiUubGAPPTr2k0zZESQ=  # bob\n")
for index, url in enumerate(["grpc://signal.example.net:8080", "grpc://127.0.0.1:8080?insecure=true",
                             "k8s:///etc/kubeconfig?namespace=cunicu", "inprocess:", "multicast://239.0.0.1:9999",
                             "postgres://warren@127.0.0.1:5432/warren", "stun:127.0.0.1:3478",
                             "turns:[2001:db8::1]:5349?transport=tcp"]):
    seed("urls", f"url-{index}", url)

notifications = re.findall(r'"([0-9a-f]+)"', (root / "Tests" / "WarrenNetlinkTests" / "RecordedNotifications.swift").read_text())
for index in (0, 5, 10, 17):
    seed("netlink", f"recorded-{index}", bytes.fromhex(notifications[index]))
seed("uapi", "get", "\0private_key=e82c4ff93b9575fa534fc90aa9c5e4a64676e52a1b73c23bdaf3abcdcfafc743\nlisten_port=51820\n"
     "public_key=f7c5e4f356d4e85c67a03f04db93e012f82466252e6c600f3d3af6934cd91124\nendpoint=127.0.0.1:51821\n"
     "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=148\nrx_bytes=0\npersistent_keepalive_interval=25\n"
     "allowed_ip=10.9.0.2/32\nerrno=0\n\n")
seed("uapi", "set", "\1errno=0\n\n")
seed("uapi", "dump", "\2" + "6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\trhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=\t51820\toff\n"
     "98Xk81bU6FxnoD8E25PgEvgkZiUubGAPPTr2k0zZESQ=\t(none)\t127.0.0.1:51821\t10.9.0.2/32\t0\t0\t0\t25\n")

for target, count in sorted(written.items()):
    print(f"{target}: {count} seeds")
