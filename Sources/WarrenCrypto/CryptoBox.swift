/// NaCl's `crypto_box` (curve25519xsalsa20poly1305): X25519 between our private and their public
/// key, HSalsa20 of that shared secret with a zero input as the key (`crypto_box_beforenm`), then
/// ``SecretBox`` with it.
public enum CryptoBox {
  /// The precomputed box for a key pair (`crypto_box_beforenm`): the same for both directions,
  /// since X25519(a, B) = X25519(b, A). Computing it costs two scalar multiplications' worth of
  /// time; ``BoxKeyCache`` keeps it.
  public static func precompute(ours: PrivateKey, theirs: Key) throws(WarrenCryptoError) -> SecretBox {
    var shared = try ours.sharedSecret(with: theirs)
    defer { for index in shared.indices { shared[index] = 0 } }
    let zero = [UInt8](repeating: 0, count: 16)
    let key = shared.withUnsafeBytes { shared in
      zero.withUnsafeBytes { zero in
        Salsa20.hsalsa20(key: Salsa20.Key(shared), input: zero)
      }
    }
    return SecretBox(key: key)
  }

  /// `crypto_box_easy`, without a cache: seals `plaintext` from `ours` to `theirs`.
  public static func seal(
    _ plaintext: [UInt8], nonce: [UInt8], ours: PrivateKey, theirs: Key
  ) throws(WarrenCryptoError) -> [UInt8] {
    try precompute(ours: ours, theirs: theirs).seal(plaintext, nonce: nonce)
  }

  /// `crypto_box_open_easy`, without a cache: opens a box sent by `theirs` to `ours`.
  public static func open(
    _ box: [UInt8], nonce: [UInt8], ours: PrivateKey, theirs: Key
  ) throws(WarrenCryptoError) -> [UInt8] {
    try precompute(ours: ours, theirs: theirs).open(box, nonce: nonce)
  }
}
