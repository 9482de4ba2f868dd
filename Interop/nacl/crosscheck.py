#!/usr/bin/env python3
"""Randomized crypto_box cross-check between Warren and libsodium (through PyNaCl).

  crosscheck.py generate CASES.json [--count N] [--seed S]
      random key pairs, nonces and messages (0-4096 bytes), each boxed by libsodium
  crosscheck.py verify CASES.json WARREN.json
      opens with libsodium every box that Warren sealed (written by the Swift test
      `NaClCrossCheck`), and checks that Warren opened every libsodium box

Prints a summary line "nacl-crosscheck: N passed, M failed" and exits non-zero on any failure.
"""
import argparse
import base64
import json
import random
import sys

from nacl.public import Box, PrivateKey, PublicKey


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def generate(path: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        sender = PrivateKey(bytes(rng.getrandbits(8) for _ in range(32)))
        recipient = PrivateKey(bytes(rng.getrandbits(8) for _ in range(32)))
        length = rng.choice([0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 4096]) if index < 24 else rng.randrange(0, 4097)
        message = bytes(rng.getrandbits(8) for _ in range(length))
        nonce = bytes(rng.getrandbits(8) for _ in range(24))
        box = Box(sender, recipient.public_key).encrypt(message, nonce).ciphertext
        cases.append({
            "sender_private": b64(bytes(sender)),
            "sender_public": b64(bytes(sender.public_key)),
            "recipient_private": b64(bytes(recipient)),
            "recipient_public": b64(bytes(recipient.public_key)),
            "nonce": b64(nonce),
            "message": b64(message),
            "libsodium_box": b64(box),
        })
    with open(path, "w") as f:
        json.dump({"cases": cases}, f)
    print(f"nacl-crosscheck: generated {count} libsodium boxes (seed {seed})")


def verify(cases_path: str, warren_path: str) -> int:
    with open(cases_path) as f:
        cases = json.load(f)["cases"]
    with open(warren_path) as f:
        warren = json.load(f)
    results = warren["results"]
    passed = failed = 0
    if len(results) != len(cases):
        print(f"Warren answered {len(results)} of {len(cases)} cases")
        failed += abs(len(cases) - len(results))
    for index, (case, result) in enumerate(zip(cases, results)):
        # Warren opened libsodium's box to the right message (checked on the Swift side too).
        if not result.get("opened_libsodium_box"):
            print(f"case {index}: Warren did not open libsodium's box")
            failed += 1
            continue
        # libsodium opens Warren's box (Warren chose its own nonce).
        recipient = PrivateKey(base64.b64decode(case["recipient_private"]))
        sender_public = PublicKey(base64.b64decode(case["sender_public"]))
        try:
            plaintext = Box(recipient, sender_public).decrypt(
                base64.b64decode(result["warren_box"]), base64.b64decode(result["warren_nonce"]))
        except Exception as error:  # noqa: BLE001 - report every failure
            print(f"case {index}: libsodium could not open Warren's box: {error}")
            failed += 1
            continue
        if plaintext != base64.b64decode(case["message"]):
            print(f"case {index}: libsodium opened Warren's box to a different message")
            failed += 1
            continue
        passed += 1
    print(f"nacl-crosscheck: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("cases")
    g.add_argument("--count", type=int, default=1000)
    g.add_argument("--seed", type=int, default=20261126)
    v = sub.add_parser("verify")
    v.add_argument("cases")
    v.add_argument("warren")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.cases, args.count, args.seed)
        return 0
    return verify(args.cases, args.warren)


if __name__ == "__main__":
    sys.exit(main())
