public import WarrenPrimitives

/// A client's proof that it holds the private key of the public key it subscribes to, or asks
/// relay credentials for (docs/signal-server.md, "Proof of key possession").
///
/// ```
/// proof = nonce (24 random bytes) ‖ crypto_box(client key → server key, nonce, plaintext)
/// plaintext = version (1) ‖ purpose (1) ‖ Unix time in milliseconds (8, big-endian)
/// ```
///
/// Only the holder of the claimed key's private key can make a box the server opens with that
/// public key, only the server can open it, and the time and the nonce let the server refuse
/// old proofs and copies of recent ones. 50 bytes in all; sent as the gRPC metadata
/// ``metadataKey``.
public struct KeyPossessionProof: Sendable, Equatable {
  /// What a proof is for: a proof for one cannot be used for the other.
  public enum Purpose: UInt8, Sendable, CustomStringConvertible {
    case subscribe = 1
    case getRelays = 2

    public var description: String { self == .subscribe ? "Subscribe" : "GetRelays" }
  }

  /// Binary gRPC metadata (the `-bin` suffix: base64 on the wire, bytes to both ends).
  public static let metadataKey = "warren-proof-bin"
  /// The server's public key, in the metadata of its `GetBuildInfo` answer and of its refusals.
  public static let serverKeyMetadataKey = "warren-server-key"
  public static let version: UInt8 = 1
  /// The encoded length: nonce, tag, plaintext.
  public static let byteCount = SecretBox.nonceCount + 16 + 10

  public let purpose: Purpose
  /// When the client made it, in milliseconds since the Unix epoch (its clock).
  public let unixMilliseconds: UInt64
  /// The box's nonce: unique per proof, so a copy of a proof is recognised by it.
  public let nonce: [UInt8]

  /// Makes the proof bytes for `client`'s key, sealed to the server's key.
  public static func make(
    client: PrivateKey, server: Key, purpose: Purpose, unixMilliseconds: UInt64,
    random: some RandomSource = SystemRandomSource()
  ) throws(WarrenCryptoError) -> [UInt8] {
    let nonce = random.bytes(SecretBox.nonceCount)
    var plaintext: [UInt8] = [version, purpose.rawValue]
    for shift in stride(from: 56, through: 0, by: -8) { plaintext.append(UInt8(truncatingIfNeeded: unixMilliseconds >> UInt64(shift))) }
    return nonce + (try CryptoBox.seal(plaintext, nonce: nonce, ours: client, theirs: server))
  }

  /// Opens proof bytes that claim `claimed`'s key, with the server's private key. Says exactly
  /// what is wrong: a wrong length, a box that does not open (made with another key, or for
  /// another server), an unknown version, or a proof for the other purpose.
  public static func open(
    _ bytes: [UInt8], claimed: Key, server: PrivateKey, purpose: Purpose
  ) throws(WarrenCryptoError) -> KeyPossessionProof {
    guard bytes.count == byteCount else {
      throw WarrenCryptoError(.malformedProof, "the proof is \(bytes.count) bytes, not \(byteCount)")
    }
    let nonce = Array(bytes[..<SecretBox.nonceCount])
    let plaintext: [UInt8]
    do {
      plaintext = try CryptoBox.open(Array(bytes[SecretBox.nonceCount...]), nonce: nonce, ours: server, theirs: claimed)
    } catch {
      throw WarrenCryptoError(
        .authenticationFailed,
        "the proof does not open: it was not made with the private key of \(claimed), or not for this server's key \(server.publicKey)")
    }
    guard plaintext[0] == version else {
      throw WarrenCryptoError(.malformedProof, "the proof has version \(plaintext[0]); this server reads version \(version)")
    }
    guard plaintext[1] == purpose.rawValue else {
      let made = Purpose(rawValue: plaintext[1]).map { "\($0)" } ?? "purpose \(plaintext[1])"
      throw WarrenCryptoError(.malformedProof, "the proof was made for \(made), not for \(purpose)")
    }
    let milliseconds = plaintext[2...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    return KeyPossessionProof(purpose: purpose, unixMilliseconds: milliseconds, nonce: nonce)
  }
}
