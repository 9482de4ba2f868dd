import WarrenPrimitives
import Testing
import WarrenCrypto

@Suite("crypto_box against libsodium's vectors")
struct CryptoBoxTests {
  @Test("X25519 shared secret and crypto_box_beforenm")
  func beforenm() throws {
    let vector = NaClVectors.shared.x25519
    let ours = try PrivateKey(base64: vector.a_private)
    let theirs = try Key(base64: vector.b_public)
    #expect(try ours.sharedSecret(with: theirs).hex == vector.shared_secret_hex)
    #expect(try CryptoBox.precompute(ours: ours, theirs: theirs).keyBytes.hex == vector.box_beforenm_hex)
  }

  @Test("each box seals to libsodium's bytes and opens both ways", arguments: NaClVectors.shared.box)
  func box(vector: NaClVectors.BoxVector) throws {
    let sender = try PrivateKey(base64: vector.sender_private)
    let recipient = try PrivateKey(base64: vector.recipient_private)
    #expect(sender.publicKey.base64 == vector.sender_public)
    #expect(recipient.publicKey.base64 == vector.recipient_public)
    let nonce = [UInt8](hex: vector.nonce_hex)
    let plaintext = [UInt8](hex: vector.plaintext_hex)

    let sealed = try CryptoBox.seal(plaintext, nonce: nonce, ours: sender, theirs: recipient.publicKey)
    #expect(sealed.hex == vector.ciphertext_hex)
    let opened = try CryptoBox.open(
      [UInt8](hex: vector.ciphertext_hex), nonce: nonce, ours: recipient, theirs: sender.publicKey)
    #expect(opened == plaintext)
  }

  @Test("low-order public keys are refused, as libsodium refuses them")
  func lowOrderPoint() throws {
    let ours = PrivateKey.generate(using: SeededRandom(seed: 9))
    let zero = try Key(bytes: [UInt8](repeating: 0, count: 32))
    #expect(throws: WarrenCryptoError.self) { try CryptoBox.precompute(ours: ours, theirs: zero) }
  }

  @Test("every length across block boundaries round-trips, and any flipped bit fails to open")
  func roundTripAndTamper() throws {
    let random = SeededRandom(seed: 42)
    let box = try SecretBox(key: random.bytes(32))
    for length in Array(0...130) + [255, 256, 257, 1023, 1024, 1025, 4096] {
      let plaintext = random.bytes(length)
      let nonce = random.bytes(24)
      let sealed = try box.seal(plaintext, nonce: nonce)
      #expect(sealed.count == length + 16)
      #expect(try box.open(sealed, nonce: nonce) == plaintext)
      var tampered = sealed
      let bit = Int(random.next() % UInt64(sealed.count * 8))
      tampered[bit / 8] ^= 1 << (bit % 8)
      #expect(throws: WarrenCryptoError.self) { try box.open(tampered, nonce: nonce) }
    }
  }

  @Test("short boxes and nonces of the wrong length are refused with their own errors")
  func shapeErrors() throws {
    let box = try SecretBox(key: [UInt8](repeating: 1, count: 32))
    for length in [0, 15] {
      do { _ = try box.open([UInt8](repeating: 0, count: length), nonce: [UInt8](repeating: 0, count: 24)) }
      catch { #expect(error.code == .authenticationFailed) }
    }
    for length in [0, 23, 25] {
      do { _ = try box.seal([1, 2, 3], nonce: [UInt8](repeating: 0, count: length)); Issue.record("sealed") }
      catch { #expect(error.code == .invalidNonceLength) }
    }
  }
}
