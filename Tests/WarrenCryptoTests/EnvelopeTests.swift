import WarrenPrimitives
import Foundation
import SwiftProtobuf
import Testing
import WarrenCrypto
import WarrenWire

@Suite("Envelopes")
struct EnvelopeTests {
  let sealer = EnvelopeSealer(random: SeededRandom(seed: 7))

  @Test("sealing with the vector's nonce gives libsodium's serialized envelope, byte for byte",
        arguments: NaClVectors.shared.envelopes)
  func sealMatchesVector(vector: NaClVectors.EnvelopeVector) throws {
    let sender = try PrivateKey(base64: vector.sender_private)
    let recipient = try PrivateKey(base64: vector.recipient_private)
    let message = try Cunicu_Signaling_Message(serializedBytes: [UInt8](hex: vector.message_hex))
    let envelope = try sealer.seal(
      message, keys: KeyPair(ours: sender, theirs: recipient.publicKey), nonce: [UInt8](hex: vector.nonce_hex))
    let bytes: [UInt8] = try envelope.serializedBytes()
    #expect(bytes.hex == vector.envelope_hex)
  }

  @Test("the vector's envelope opens to the vector's message", arguments: NaClVectors.shared.envelopes)
  func openMatchesVector(vector: NaClVectors.EnvelopeVector) throws {
    let recipient = try PrivateKey(base64: vector.recipient_private)
    let envelope = try Cunicu_Signaling_Envelope(serializedBytes: [UInt8](hex: vector.envelope_hex))
    let opened = try sealer.open(envelope, as: recipient)
    #expect(opened.sender.base64 == vector.sender_public)
    let bytes: [UInt8] = try opened.message.serializedBytes()
    #expect(bytes.hex == vector.message_hex)
  }

  @Test("flipping any single bit of sender, recipient, nonce or body fails with the right error")
  func everyBitFlip() throws {
    let vector = NaClVectors.shared.envelopes[0]
    let recipient = try PrivateKey(base64: vector.recipient_private)
    let original = try Cunicu_Signaling_Envelope(serializedBytes: [UInt8](hex: vector.envelope_hex))

    func flips(
      _ field: WritableKeyPath<Cunicu_Signaling_Envelope, Data>,
      expect code: WarrenCryptoError.Code,
      bits: Range<Int>? = nil
    ) {
      let count = original[keyPath: field].count
      for bit in bits ?? 0..<(count * 8) {
        var envelope = original
        var bytes = [UInt8](envelope[keyPath: field])
        bytes[bit / 8] ^= 1 << (bit % 8)
        envelope[keyPath: field] = Data(bytes)
        do {
          _ = try sealer.open(envelope, as: recipient)
          Issue.record("flipping bit \(bit) of \(field) still opened")
        } catch {
          #expect(error.code == code, "bit \(bit): \(error)")
        }
      }
    }
    // A different sender key means a different box key: the tag no longer verifies. Bit 255 is
    // ignored by X25519, so a key with it set is refused as non-canonical before that.
    flips(\.sender, expect: .authenticationFailed, bits: 0..<255)
    flips(\.sender, expect: .invalidPublicKey, bits: 255..<256)
    flips(\.recipient, expect: .recipientMismatch)
    flips(\.contents.nonce, expect: .authenticationFailed)
    flips(\.contents.body, expect: .authenticationFailed)
  }

  @Test("wrong key lengths, nonce lengths and undecodable plaintexts have their own errors")
  func distinctErrors() throws {
    let alice = PrivateKey.generate(using: SeededRandom(seed: 1))
    let bob = PrivateKey.generate(using: SeededRandom(seed: 2))
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    var message = Cunicu_Signaling_Message()
    message.credentials.ufrag = "ufrag"
    let good = try sealer.seal(message, keys: keys)
    #expect(try sealer.open(good, as: bob).message == message)
    #expect(try sealer.open(good, as: bob).sender == alice.publicKey)

    func code(_ envelope: Cunicu_Signaling_Envelope) -> WarrenCryptoError.Code? {
      do { _ = try sealer.open(envelope, as: bob); return nil } catch { return error.code }
    }
    var shortSender = good
    shortSender.sender = Data(repeating: 1, count: 31)
    #expect(code(shortSender) == .invalidKeyLength)
    var longRecipient = good
    longRecipient.recipient = Data(repeating: 1, count: 33)
    #expect(code(longRecipient) == .invalidKeyLength)
    #expect(code(Cunicu_Signaling_Envelope()) == .invalidKeyLength)
    #expect(code(good) == nil)
    do {
      _ = try sealer.open(good, as: alice)
      Issue.record("opened an envelope addressed to someone else")
    } catch {
      #expect(error.code == .recipientMismatch)
    }
    var shortNonce = good
    shortNonce.contents.nonce = Data(repeating: 0, count: 12)
    #expect(code(shortNonce) == .invalidNonceLength)

    // A well-sealed box whose plaintext is not a protobuf Message.
    let garbage: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0x0f]
    let nonce = [UInt8](repeating: 3, count: 24)
    var undecodable = good
    undecodable.contents.body = Data(try CryptoBox.seal(garbage, nonce: nonce, ours: alice, theirs: bob.publicKey))
    undecodable.contents.nonce = Data(nonce)
    #expect(code(undecodable) == .undecodablePlaintext)
  }

  @Test("unknown fields of a Message survive sealing and opening (cunicu's pske field)")
  func unknownFieldsPreserved() throws {
    // credentials{ufrag: "a"}, peer{change: REMOVE}, then field 4 (cunicu's pske, unknown to Warren).
    let bytes: [UInt8] = [0x0a, 0x03, 0x0a, 0x01, 0x61, 0x1a, 0x02, 0x08, 0x01, 0x22, 0x02, 0x08, 0x01]
    let message = try Cunicu_Signaling_Message(serializedBytes: bytes)
    #expect(message.peer.change == .remove && !message.unknownFields.data.isEmpty)
    let alice = PrivateKey.generate(using: SeededRandom(seed: 3))
    let bob = PrivateKey.generate(using: SeededRandom(seed: 4))
    let envelope = try sealer.seal(message, keys: KeyPair(ours: alice, theirs: bob.publicKey))
    let reopened: [UInt8] = try sealer.open(envelope, as: bob).message.serializedBytes()
    #expect(reopened == bytes)
  }
}
