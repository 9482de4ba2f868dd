import Testing
import WarrenArgon2
import WarrenCrypto
import WarrenDiscovery

@Suite("Community keys: Argon2id of the passphrase, clamped", .enabled(if: Argon2id.isAvailable))
struct CommunityKeyTests {
  /// Computed with argon2-cffi (hash_secret_raw, type ID, time 1, memory 65536, parallelism 4, 32
  /// bytes, salt w1c3c0nn3cts3veryb0dy), clamped, and the public key with PyNaCl.
  static let vectors: [(passphrase: String, privateKey: String, publicKey: String)] = [
    ("", "IKLWMtc1hzMS1lAyfNsXq1MqMQpPkDwGJ8LnFvQn+ng=", "U25ytcofMwGSH/vndbReguTBRLCK70KD01Y8C6XIFmA="),
    ("correct horse battery staple", "iEafRKLm3nBmZObUSFQ4++duDv3nMwklIYanqFHoaXw=", "n3x5rzCNhnzFmgVZAaSWjJDDzohBBHD4mhVLAmVqWhs="),
    ("Grüße, 世界 🌐", "yF6A1YW86EaTdPyAVgctmlk9sv5Fjd61zdHcp5NqOUQ=", "9MDj0GjqaQxG+0CcwTP2Dfhi29N0fy/S7dJACgd1cBU="),
  ]

  @Test("empty, ASCII and UTF-8 passphrases give argon2-cffi's keys, byte for byte", arguments: vectors.indices)
  func derivedKeys(index: Int) throws {
    let vector = Self.vectors[index]
    let key = try CommunityKey.derive(passphrase: vector.passphrase)
    #expect(key.key.base64 == vector.privateKey)
    #expect(key.publicKey.base64 == vector.publicKey)
  }

  @Test("the raw hash is plain Argon2id, version 0x13 (argon2-cffi's figure for the reference implementation's example)")
  func rawHash() throws {
    // argon2-cffi: hash_secret_raw(b"password", b"somesalt", time_cost=2, memory_cost=65536,
    // parallelism=1, hash_len=32, type=Type.ID).
    let hash = try Argon2id.hash(
      password: Array("password".utf8), salt: Array("somesalt".utf8), iterations: 2, memoryKiB: 65536, parallelism: 1,
      length: 32)
    let hex = hash.map { byte in String("0\(String(byte, radix: 16))".suffix(2)) }.joined()
    #expect(hex == "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7")
  }

  @Test("a salt shorter than Argon2 allows is a clear error, not a crash")
  func badParameters() {
    #expect(throws: Argon2Error.self) {
      _ = try Argon2id.hash(password: [], salt: [1, 2, 3], iterations: 1, memoryKiB: 64, parallelism: 1, length: 32)
    }
  }
}
