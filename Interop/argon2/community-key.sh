#!/usr/bin/env bash
# Community keys against an independent Argon2id: argon2-cffi (PyPI) derives each passphrase's key
# with cunicu's salt and parameters, clamps it, and PyNaCl computes the public key; `warren
# community-key` must print the same, for the empty passphrase, ASCII, UTF-8 and random ones.
# Usage: community-key.sh PYTHON WARREN_BINARY   (PYTHON has argon2-cffi and PyNaCl)
set -uo pipefail
python=$1
warren=$2
passed=0 failed=0
while IFS= read -r -d '' passphrase && IFS= read -r -d '' expected; do
  got=$(printf '%s\n' "$passphrase" | "$warren" community-key 2>&1)
  if [ "$got" = "$expected" ]; then passed=$((passed + 1))
  else failed=$((failed + 1)); echo "FAIL: passphrase '$passphrase': warren $got, argon2-cffi $expected"; fi
done < <("$python" - <<'PY'
import base64, random, sys
from argon2.low_level import hash_secret_raw, Type
from nacl.public import PrivateKey

def community_public_key(passphrase):
    key = bytearray(hash_secret_raw(passphrase.encode(), b"w1c3c0nn3cts3veryb0dy", time_cost=1,
                                    memory_cost=65536, parallelism=4, hash_len=32, type=Type.ID))
    key[0] &= 248; key[31] &= 127; key[31] |= 64
    return base64.b64encode(bytes(PrivateKey(bytes(key)).public_key)).decode()

rng = random.Random(20261202)
alphabet = "abcXYZ019 -_.,;:!?#äöüßéñ日本語世界🌐🔑"
passphrases = ["", "a", "correct horse battery staple", "Grüße, 世界 🌐", " leading and trailing ", "tab\there"]
passphrases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64))) for _ in range(24)]
for passphrase in passphrases:
    sys.stdout.write(passphrase + "\0" + community_public_key(passphrase) + "\0")
PY
)
echo "community-key: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -ge 30 ]
