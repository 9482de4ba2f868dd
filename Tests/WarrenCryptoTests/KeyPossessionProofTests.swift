import WarrenPrimitives
import Testing
import WarrenCrypto

@Suite("Proofs of key possession: encoding and opening")
struct KeyPossessionProofTests {
  let client = PrivateKey.generate(using: SeededRandom(seed: 1))
  let server = PrivateKey.generate(using: SeededRandom(seed: 2))
  let stranger = PrivateKey.generate(using: SeededRandom(seed: 3))
  static let time: UInt64 = 1_796_083_200_123

  @Test("the bytes are nonce ‖ crypto_box(client → server) of version, purpose and the time in big-endian milliseconds")
  func layout() throws {
    let bytes = try KeyPossessionProof.make(
      client: client, server: server.publicKey, purpose: .getRelays, unixMilliseconds: Self.time, random: SeededRandom(seed: 9))
    #expect(bytes.count == 50 && bytes.count == KeyPossessionProof.byteCount)
    let nonce = Array(bytes[..<24])
    #expect(nonce == SeededRandom(seed: 9).bytes(24))
    // Opened as libsodium's crypto_box_open_easy would, from either side's keys.
    let plaintext = try CryptoBox.open(Array(bytes[24...]), nonce: nonce, ours: server, theirs: client.publicKey)
    #expect(plaintext == [1, 2, 0x00, 0x00, 0x01, 0xa2, 0x2e, 0xe6, 0xb0, 0x7b])
    #expect(try CryptoBox.open(Array(bytes[24...]), nonce: nonce, ours: client, theirs: server.publicKey) == plaintext)
  }

  @Test("it opens with the claimed key and the server's key, and gives back time, purpose and nonce")
  func roundTrip() throws {
    let bytes = try KeyPossessionProof.make(client: client, server: server.publicKey, purpose: .subscribe, unixMilliseconds: Self.time)
    let proof = try KeyPossessionProof.open(bytes, claimed: client.publicKey, server: server, purpose: .subscribe)
    #expect(proof.unixMilliseconds == Self.time && proof.purpose == .subscribe && proof.nonce == Array(bytes[..<24]))
    // Fresh nonces: two proofs of the same moment differ.
    #expect(try KeyPossessionProof.make(client: client, server: server.publicKey, purpose: .subscribe, unixMilliseconds: Self.time) != bytes)
  }

  @Test("claimed by another key, sealed to another server, tampered, cut, or for the other purpose: refused, saying which")
  func refusals() throws {
    let bytes = try KeyPossessionProof.make(client: client, server: server.publicKey, purpose: .subscribe, unixMilliseconds: Self.time)
    func refusal(_ bytes: [UInt8], claimed: Key? = nil, server: PrivateKey? = nil, purpose: KeyPossessionProof.Purpose = .subscribe) -> WarrenCryptoError? {
      do {
        _ = try KeyPossessionProof.open(bytes, claimed: claimed ?? client.publicKey, server: server ?? self.server, purpose: purpose)
        return nil
      } catch {
        return error
      }
    }
    #expect(refusal(bytes, claimed: stranger.publicKey)?.code == .authenticationFailed)
    #expect(refusal(bytes, server: stranger)?.code == .authenticationFailed)
    var tampered = bytes
    tampered[30] ^= 1
    #expect(refusal(tampered)?.code == .authenticationFailed)
    #expect(refusal(Array(bytes.dropLast()))?.message == "the proof is 49 bytes, not 50")
    #expect(refusal([])?.code == .malformedProof)
    #expect(refusal(bytes, purpose: .getRelays)?.message == "the proof was made for Subscribe, not for GetRelays")
    // A version this side does not read.
    let nonce = [UInt8](repeating: 4, count: 24)
    let future = nonce + (try CryptoBox.seal([2, 1, 0, 0, 0, 0, 0, 0, 0, 0], nonce: nonce, ours: client, theirs: server.publicKey))
    #expect(refusal(future)?.message == "the proof has version 2; this server reads version 1")
  }
}
