public import WarrenArgon2
public import WarrenCrypto

/// A peer-discovery community's key (shared/spec/wire.md, "Community key"): a *private* X25519 key
/// every member derives from the shared passphrase, Argon2id with cunicu's fixed salt and
/// parameters, then clamped. Members seal their announcements to its public key and receive with
/// the private key.
public enum CommunityKey {
  /// cunicu's salt: the 21 ASCII bytes `w1c3c0nn3cts3veryb0dy`.
  public static let salt = Array("w1c3c0nn3cts3veryb0dy".utf8)
  public static let iterations: UInt32 = 1
  /// 64 MiB.
  public static let memoryKiB: UInt32 = 65536
  public static let parallelism: UInt32 = 4

  /// Derives the community's private key from `passphrase` (its UTF-8 bytes, as given). Slow on
  /// purpose (64 MiB, tens of milliseconds): once per start, off any event loop; nothing is cached
  /// on disk.
  public static func derive(passphrase: String) throws(Argon2Error) -> PrivateKey {
    var key = try Argon2id.hash(
      password: Array(passphrase.utf8), salt: salt, iterations: iterations, memoryKiB: memoryKiB,
      parallelism: parallelism, length: Key.byteCount)
    key[0] &= 248
    key[31] &= 127
    key[31] |= 64
    return PrivateKey(try! Key(bytes: key))
  }
}
