#if canImport(FoundationEssentials)
public import WarrenPrimitives
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import SwiftProtobuf
public import WarrenWire

/// Seals `Message`s into `Envelope`s and opens them, exactly as wire.md's "Envelope sealing" says:
/// the protobuf bytes of the message in a `crypto_box` from sender to recipient under a fresh
/// 24-byte nonce, the box (tag ‖ ciphertext) in `contents.body` and the nonce in `contents.nonce`.
public final class EnvelopeSealer: Sendable {
  private let random: any RandomSource
  private let cache: BoxKeyCache

  public init(random: any RandomSource = SystemRandomSource(), cache: BoxKeyCache = BoxKeyCache()) {
    self.random = random
    self.cache = cache
  }

  /// Seals `message` from `keys.ours` to `keys.theirs` under a fresh random nonce.
  public func seal(_ message: Cunicu_Signaling_Message, keys: KeyPair) throws(WarrenCryptoError) -> Cunicu_Signaling_Envelope {
    try seal(message, keys: keys, nonce: random.bytes(SecretBox.nonceCount))
  }

  /// Seals under a given nonce; for test vectors. A nonce must never repeat for a key pair.
  public func seal(
    _ message: Cunicu_Signaling_Message, keys: KeyPair, nonce: [UInt8]
  ) throws(WarrenCryptoError) -> Cunicu_Signaling_Envelope {
    let plaintext: [UInt8]
    do {
      plaintext = try message.serializedBytes()
    } catch {
      throw WarrenCryptoError(.undecodablePlaintext, "the message does not serialize: \(error)")
    }
    let body = try cache.box(ours: keys.ours, theirs: keys.theirs).seal(plaintext, nonce: nonce)
    var envelope = Cunicu_Signaling_Envelope()
    envelope.sender = Data(keys.ours.publicKey.bytes)
    envelope.recipient = Data(keys.theirs.bytes)
    envelope.contents.body = Data(body)
    envelope.contents.nonce = Data(nonce)
    return envelope
  }

  /// Checks and opens an envelope addressed to `ours`: sender and recipient must be 32-byte keys,
  /// the recipient must be `ours`, the nonce 24 bytes, the tag must verify and the plaintext must
  /// be a `Message`. Any failure throws a specific error and yields nothing.
  public func open(_ envelope: Cunicu_Signaling_Envelope, as ours: PrivateKey) throws(WarrenCryptoError) -> OpenedEnvelope {
    let sender = try Self.key(envelope.sender, field: "sender")
    guard sender.isCanonicalPublicKey else {
      throw WarrenCryptoError(.invalidPublicKey, "envelope sender \(sender) is not a canonical X25519 public key")
    }
    let recipient = try Self.key(envelope.recipient, field: "recipient")
    guard recipient == ours.publicKey else {
      throw WarrenCryptoError(
        .recipientMismatch, "the envelope is for \(recipient), not for us (\(ours.publicKey))")
    }
    let plaintext = try cache.box(ours: ours, theirs: sender)
      .open(envelope.contents.body, nonce: envelope.contents.nonce)
    do {
      return OpenedEnvelope(
        sender: sender, recipient: recipient, message: try Cunicu_Signaling_Message(serializedBytes: plaintext),
        nonce: Array(envelope.contents.nonce))
    } catch {
      throw WarrenCryptoError(
        .undecodablePlaintext, "the envelope from \(sender) opened but is not a Message: \(error)")
    }
  }

  private static func key(_ bytes: Data, field: String) throws(WarrenCryptoError) -> Key {
    do {
      return try Key(bytes: bytes)
    } catch {
      throw WarrenCryptoError(.invalidKeyLength, "envelope \(field) is \(bytes.count) bytes, not a 32-byte key")
    }
  }
}
