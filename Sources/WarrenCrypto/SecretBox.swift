#if canImport(FoundationEssentials)
public import WarrenPrimitives
public import FoundationEssentials
#else
public import Foundation
#endif

/// XSalsa20-Poly1305, NaCl's `crypto_secretbox`: encrypt with the XSalsa20 keystream after its
/// first 32 bytes, and authenticate the ciphertext with Poly1305 keyed by those 32 bytes.
///
/// A box is the 16-byte tag followed by the ciphertext (libsodium's "easy" layout, without the
/// nonce); it is `plaintext.count + 16` bytes long.
public struct SecretBox: Sendable {
  /// The number of bytes a box adds to its plaintext.
  public static let overhead = 16
  /// The nonce length.
  public static let nonceCount = 24
  /// The key length.
  public static let keyCount = 32

  let key: Salsa20.Key

  /// A secretbox under a 32-byte key.
  public init(key bytes: some Collection<UInt8>) throws(WarrenCryptoError) {
    guard bytes.count == SecretBox.keyCount else {
      throw WarrenCryptoError(.invalidKeyLength, "a secretbox key is 32 bytes, got \(bytes.count)")
    }
    key = Array(bytes).withUnsafeBytes { Salsa20.Key($0) }
  }

  init(key: Salsa20.Key) { self.key = key }

  /// The raw 32-byte key (`crypto_box_beforenm`'s output when this box came from ``CryptoBox``).
  public var keyBytes: [UInt8] { key.bytes }

  /// Encrypts and authenticates `plaintext` under a 24-byte `nonce` that must never repeat for
  /// this key.
  public func seal(_ plaintext: some ContiguousBytes, nonce: some ContiguousBytes) throws(WarrenCryptoError) -> [UInt8] {
    let result: Result<[UInt8], WarrenCryptoError> = nonce.withUnsafeBytes { nonce in
      guard nonce.count == SecretBox.nonceCount else {
        return .failure(SecretBox.nonceError(nonce.count))
      }
      return .success(plaintext.withUnsafeBytes { plaintext in
        [UInt8](unsafeUninitializedCapacity: plaintext.count + SecretBox.overhead) { out, count in
          let box = UnsafeMutableRawBufferPointer(out)
          var stream = Salsa20.Stream(xsalsa20Key: key, nonce: nonce)
          var first = stream.next().lanes
          withUnsafeBytes(of: &first) { block in
            // Bytes 0..<32 of block 0 key Poly1305; 32..<64 encrypt the first 32 plaintext bytes.
            let head = min(32, plaintext.count)
            for index in 0..<head {
              box[SecretBox.overhead + index] = plaintext[index] ^ block[32 + index]
            }
            if plaintext.count > head {
              stream.xor(
                UnsafeRawBufferPointer(rebasing: plaintext[head...]),
                into: UnsafeMutableRawBufferPointer(rebasing: box[(SecretBox.overhead + head)...]))
            }
            let ciphertext = UnsafeRawBufferPointer(rebasing: box[SecretBox.overhead...])
            Poly1305.authenticate(ciphertext, key: UnsafeRawBufferPointer(rebasing: block[0..<32]))
              .store(into: UnsafeMutableRawBufferPointer(rebasing: box[0..<16]))
          }
          first = (0, 0, 0, 0, 0, 0, 0, 0)
          count = plaintext.count + SecretBox.overhead
        }
      })
    }
    return try result.get()
  }

  /// Verifies and decrypts a box. Nothing is decrypted unless the tag verifies.
  public func open(_ box: some ContiguousBytes, nonce: some ContiguousBytes) throws(WarrenCryptoError) -> [UInt8] {
    let result: Result<[UInt8], WarrenCryptoError> = nonce.withUnsafeBytes { nonce in
      guard nonce.count == SecretBox.nonceCount else {
        return .failure(SecretBox.nonceError(nonce.count))
      }
      return box.withUnsafeBytes { box in
        guard box.count >= SecretBox.overhead else {
          return .failure(WarrenCryptoError(
            .authenticationFailed, "a box is at least \(SecretBox.overhead) bytes, got \(box.count)"))
        }
        var stream = Salsa20.Stream(xsalsa20Key: key, nonce: nonce)
        var first = stream.next().lanes
        defer { first = (0, 0, 0, 0, 0, 0, 0, 0) }
        return withUnsafeBytes(of: &first) { block in
          let ciphertext = UnsafeRawBufferPointer(rebasing: box[SecretBox.overhead...])
          let expected = Poly1305.authenticate(ciphertext, key: UnsafeRawBufferPointer(rebasing: block[0..<32]))
          guard expected.constantTimeEquals(Poly1305.Tag(UnsafeRawBufferPointer(rebasing: box[0..<16]))) else {
            return .failure(WarrenCryptoError(.authenticationFailed, "the box's Poly1305 tag does not verify"))
          }
          return .success([UInt8](unsafeUninitializedCapacity: ciphertext.count) { out, count in
            let plaintext = UnsafeMutableRawBufferPointer(out)
            let head = min(32, ciphertext.count)
            for index in 0..<head {
              plaintext[index] = ciphertext[index] ^ block[32 + index]
            }
            if ciphertext.count > head {
              stream.xor(
                UnsafeRawBufferPointer(rebasing: ciphertext[head...]),
                into: UnsafeMutableRawBufferPointer(rebasing: plaintext[head...]))
            }
            count = ciphertext.count
          })
        }
      }
    }
    return try result.get()
  }

  private static func nonceError(_ count: Int) -> WarrenCryptoError {
    WarrenCryptoError(.invalidNonceLength, "a nonce is \(nonceCount) bytes, got \(count)")
  }
}
