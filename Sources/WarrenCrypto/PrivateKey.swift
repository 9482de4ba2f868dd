public import WarrenPrimitives
internal import Crypto

/// A WireGuard private key together with its public key, derived once with X25519.
public struct PrivateKey: Sendable {
  /// The private key's 32 bytes, as given: possibly unclamped, since X25519 clamps when multiplying.
  public let key: Key
  /// `X25519(key, 9)`.
  public let publicKey: Key
  // swift-crypto derives the public key whenever this is built, so it is built once, here.
  private let agreementKey: Curve25519.KeyAgreement.PrivateKey

  /// Derives the public key of `key` (`wg pubkey`).
  public init(_ key: Key) {
    self.key = key
    // 32 bytes is swift-crypto's only precondition, and `Key` guarantees it.
    agreementKey = key.withUnsafeBytes { try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: $0) }
    publicKey = try! Key(bytes: agreementKey.publicKey.rawRepresentation)
  }

  /// Parses the base64 form of a private key.
  public init(base64: some StringProtocol) throws(WarrenCryptoError) {
    self.init(try Key(base64: base64))
  }

  /// A fresh private key from `random`, clamped as `wg genkey` does
  /// (`k[0] &= 248; k[31] &= 127; k[31] |= 64`).
  public static func generate(using random: some RandomSource = SystemRandomSource()) -> PrivateKey {
    var bytes = random.bytes(Key.byteCount)
    defer { for index in bytes.indices { bytes[index] = 0 } }
    bytes[0] &= 248
    bytes[31] &= 127
    bytes[31] |= 64
    return PrivateKey(try! Key(bytes: bytes))
  }

  /// The X25519 shared secret with `peer` (RFC 7748 section 6.1).
  ///
  /// - Throws: `.invalidPublicKey` if the secret is all zeros (`peer` is a low-order point), which
  ///   libsodium's `crypto_box_beforenm` refuses too.
  public func sharedSecret(with peer: Key) throws(WarrenCryptoError) -> [UInt8] {
    let secret: [UInt8]
    do {
      let theirs = try peer.withUnsafeBytes { try Curve25519.KeyAgreement.PublicKey(rawRepresentation: $0) }
      secret = try agreementKey.sharedSecretFromKeyAgreement(with: theirs).withUnsafeBytes { Array($0) }
    } catch {
      throw WarrenCryptoError(.invalidPublicKey, "X25519 with public key \(peer) failed: \(error)")
    }
    var any: UInt8 = 0
    for byte in secret { any |= byte }
    guard any != 0 else {
      throw WarrenCryptoError(
        .invalidPublicKey, "public key \(peer) is a low-order point: the X25519 shared secret is zero")
    }
    return secret
  }
}

extension PrivateKey: Hashable {
  public static func == (lhs: PrivateKey, rhs: PrivateKey) -> Bool { lhs.key == rhs.key }
  public func hash(into hasher: inout Hasher) { hasher.combine(publicKey) }
}

extension PrivateKey: CustomStringConvertible {
  /// Never the private key itself: only the public key it belongs to.
  public var description: String { "PrivateKey(public: \(publicKey))" }
}
