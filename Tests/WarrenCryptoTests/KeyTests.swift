import WarrenPrimitives
import Testing
import WarrenCrypto

@Suite("Keys")
struct KeyTests {
  @Test("every vector key parses, prints back identically and derives its public key",
        arguments: NaClVectors.shared.keys.map { ($0.private, $0.public) })
  func vectorKeys(privateText: String, publicText: String) throws {
    let privateKey = try PrivateKey(base64: privateText)
    #expect(privateKey.key.base64 == privateText)
    #expect(privateKey.publicKey.base64 == publicText)
    #expect(try Key(base64: publicText).description == publicText)
  }

  @Test("the controlling peer is the one with the smaller public key")
  func controlling() throws {
    let vector = NaClVectors.shared.controlling
    let keys = try vector.keys.map { try Key(base64: $0) }
    #expect(keys.min()!.base64 == vector.controlling_public)
    let a = try PrivateKey(base64: NaClVectors.shared.keys[0].private)
    let b = try PrivateKey(base64: NaClVectors.shared.keys[1].private)
    #expect(KeyPair(ours: a, theirs: b.publicKey).weAreControlling == (a.publicKey.base64 == vector.controlling_public))
    #expect(KeyPair(ours: b, theirs: a.publicKey).weAreControlling == (b.publicKey.base64 == vector.controlling_public))
  }

  @Test("bytes round-trip and wrong lengths are rejected with the length", arguments: [0, 1, 31, 33, 64])
  func wrongLength(count: Int) {
    #expect(throws: WarrenCryptoError.self) { try Key(bytes: [UInt8](repeating: 7, count: count)) }
    do {
      _ = try Key(bytes: [UInt8](repeating: 7, count: count))
    } catch {
      #expect(error.code == .invalidKeyLength)
      #expect(error.message.contains("got \(count)"))
    }
  }

  @Test("malformed base64 names the problem", arguments: [
    ("", "got 0"),
    ("rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4", "got 43"),
    ("rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4==", "got 45"),
    ("rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4A", "must end in '='"),
    ("rhWiSL-tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=", "character 7 of the key is not standard base64: '-'"),
    ("rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh =", "character 43"),
    ("rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh5=", "non-zero padding bits"),
  ])
  func malformedBase64(text: String, expected: String) {
    do {
      _ = try Key(base64: text)
      Issue.record("\(text) parsed")
    } catch {
      #expect(error.code == .invalidKeyEncoding)
      #expect(error.message.contains(expected), "\(error.message)")
    }
  }

  @Test("every 32-byte value survives base64 and back (all byte values in every position)")
  func base64RoundTrip() throws {
    for value in 0...255 {
      for position in [0, 1, 2, 29, 30, 31] {
        var bytes = [UInt8](repeating: UInt8(255 - value), count: 32)
        bytes[position] = UInt8(value)
        let key = try Key(bytes: bytes)
        #expect(try Key(base64: key.base64) == key)
        #expect(key.bytes == bytes)
      }
    }
  }

  @Test("generated private keys are clamped and differ")
  func generatedKeysAreClamped() {
    let random = SeededRandom(seed: 1)
    var seen = Set<Key>()
    for _ in 0..<200 {
      let bytes = PrivateKey.generate(using: random).key.bytes
      #expect(bytes[0] & 7 == 0)
      #expect(bytes[31] & 0x80 == 0)
      #expect(bytes[31] & 0x40 != 0)
      seen.insert(try! Key(bytes: bytes))
    }
    #expect(seen.count == 200)
  }

  @Test("a private key never prints its secret")
  func privateKeyDescription() throws {
    let key = try PrivateKey(base64: NaClVectors.shared.keys[0].private)
    #expect(!key.description.contains(NaClVectors.shared.keys[0].private))
    #expect(key.description.contains(NaClVectors.shared.keys[0].public))
  }
}

@Suite("Canonical public keys")
struct CanonicalKeyTests {
  @Test("u-coordinates at and above 2^255 - 19, or with bit 255 set, are not canonical")
  func canonical() throws {
    func key(low: UInt8, top: UInt8, middle: UInt8 = 0xff) throws -> Key {
      var bytes = [UInt8](repeating: middle, count: 32)
      bytes[0] = low
      bytes[31] = top
      return try Key(bytes: bytes)
    }
    #expect(try key(low: 0xec, top: 0x7f).isCanonicalPublicKey)  // 2^255 - 20
    #expect(try !key(low: 0xed, top: 0x7f).isCanonicalPublicKey)  // p
    #expect(try !key(low: 0xff, top: 0x7f).isCanonicalPublicKey)
    #expect(try key(low: 0xff, top: 0x7f, middle: 0xfe).isCanonicalPublicKey)
    #expect(try !key(low: 0x09, top: 0x80, middle: 0).isCanonicalPublicKey)
    for vector in NaClVectors.shared.keys {
      #expect(try Key(base64: vector.public).isCanonicalPublicKey)
    }
  }
}
