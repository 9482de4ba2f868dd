import Foundation
import Testing
import WarrenCrypto

/// The libsodium vectors of `shared/spec/vectors/nacl_box.json`, copied into the test bundle.
struct NaClVectors: Decodable {
  struct KeyVector: Decodable {
    let `private`: String
    let `public`: String
  }

  struct X25519Vector: Decodable {
    let a_private: String
    let b_public: String
    let shared_secret_hex: String
    let box_beforenm_hex: String
  }

  struct BoxVector: Decodable, CustomTestStringConvertible {
    let sender_private: String
    let sender_public: String
    let recipient_private: String
    let recipient_public: String
    let nonce_hex: String
    let plaintext_hex: String
    let ciphertext_hex: String
    var testDescription: String { "\(plaintext_hex.count / 2)-byte box" }
  }

  struct EnvelopeVector: Decodable, CustomTestStringConvertible {
    let description: String
    let sender_private: String
    let sender_public: String
    let recipient_private: String
    let recipient_public: String
    let message_hex: String
    let nonce_hex: String
    let envelope_hex: String
    var testDescription: String { description }
  }

  struct ControllingVector: Decodable {
    let keys: [String]
    let controlling_public: String
  }

  let keys: [KeyVector]
  let x25519: X25519Vector
  let box: [BoxVector]
  let envelopes: [EnvelopeVector]
  let controlling: ControllingVector

  static let shared: NaClVectors = {
    let url = Bundle.module.url(forResource: "nacl_box", withExtension: "json", subdirectory: "Vectors")!
    return try! JSONDecoder().decode(NaClVectors.self, from: Data(contentsOf: url))
  }()
}

extension Array where Element == UInt8 {
  init(hex: String) {
    var bytes = [UInt8]()
    var index = hex.startIndex
    while index < hex.endIndex {
      let next = hex.index(index, offsetBy: 2)
      bytes.append(UInt8(hex[index..<next], radix: 16)!)
      index = next
    }
    self = bytes
  }

  var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// A reproducible random source for tests (SplitMix64).
struct SeededRandom: RandomSource, @unchecked Sendable {
  // @unchecked: the state lives in a class that only one test uses at a time.
  private final class State { var value: UInt64; init(_ v: UInt64) { value = v } }
  private let state: State

  init(seed: UInt64) { state = State(seed) }

  func next() -> UInt64 {
    state.value &+= 0x9e37_79b9_7f4a_7c15
    var z = state.value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }

  func fill(_ buffer: UnsafeMutableRawBufferPointer) {
    for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: next()) }
  }
}
