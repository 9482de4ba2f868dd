import WarrenPrimitives
import Testing
import WarrenCrypto
import WarrenSignalServer
import WarrenTestSupport

@Suite("Proof verification, allowed keys and rate limits, on an injected clock")
struct AccessControlTests {
  let server = testKey(500)
  let client = testKey(501)
  static let now: UInt64 = 1_796_083_200_000

  /// A wall clock the test sets, in Unix milliseconds.
  final class TestClock: Sendable {
    private let value: Locked<UInt64>
    init(_ value: UInt64) { self.value = Locked(value) }
    var now: UInt64 {
      get { value.withLock { $0 } }
      set { value.withLock { $0 = newValue } }
    }
  }

  /// A verifier on `clock`.
  func verifier(_ clock: TestClock, capacity: Int = 1000) -> ProofVerifier {
    ProofVerifier(serverKey: server, window: .seconds(60), capacity: capacity) { clock.now }
  }

  func proof(at time: UInt64, purpose: KeyPossessionProof.Purpose = .subscribe, by key: PrivateKey? = nil) throws -> [UInt8] {
    try KeyPossessionProof.make(client: key ?? client, server: server.publicKey, purpose: purpose, unixMilliseconds: time)
  }

  /// Why `verifier` refuses `bytes` as the client's proof, or `nil`.
  func refusal(_ verifier: ProofVerifier, _ bytes: [UInt8]?, purpose: KeyPossessionProof.Purpose = .subscribe) -> AccessRefusal.Reason? {
    do {
      try verifier.verify(bytes, claimed: client.publicKey, purpose: purpose)
      return nil
    } catch {
      return error.reason
    }
  }

  @Test("a proof is accepted within ±60 s of the server's clock, once")
  func window() throws {
    let clock = TestClock(Self.now)
    let verifier = verifier(clock)
    #expect(refusal(verifier, try proof(at: Self.now - 60_000)) == nil)
    #expect(refusal(verifier, try proof(at: Self.now + 60_000)) == nil)
    #expect(refusal(verifier, try proof(at: Self.now - 60_001)) == .proofExpired)
    #expect(refusal(verifier, try proof(at: Self.now + 60_001)) == .proofFromTheFuture)
    let once = try proof(at: Self.now)
    #expect(refusal(verifier, once) == nil)
    #expect(refusal(verifier, once) == .proofReplayed)
    // Two minutes on the copy is forgotten, and refused as expired instead.
    clock.now = Self.now + 120_001
    #expect(refusal(verifier, once) == .proofExpired)
    #expect(verifier.remembered == 0)
  }

  @Test("no proof, a proof by another key, a malformed one, one for GetRelays: each its own reason")
  func reasons() throws {
    let verifier = verifier(TestClock(Self.now))
    #expect(refusal(verifier, nil) == .proofMissing)
    let strangers = try proof(at: Self.now, by: testKey(502))
    #expect(refusal(verifier, strangers) == .proofWrongKey)
    #expect(refusal(verifier, [1, 2, 3]) == .proofMalformed)
    let forRelays = try proof(at: Self.now, purpose: .getRelays)
    #expect(refusal(verifier, forRelays) == .proofMalformed)
    #expect(refusal(verifier, forRelays, purpose: .getRelays) == nil)
  }

  @Test("the record of used proofs is bounded: when full, new proofs wait rather than old ones being forgotten")
  func capacity() throws {
    let clock = TestClock(Self.now)
    let verifier = verifier(clock, capacity: 3)
    let proofs = try (0..<4).map { _ in try proof(at: Self.now) }
    for index in 0..<3 { #expect(refusal(verifier, proofs[index]) == nil) }
    #expect(refusal(verifier, proofs[3]) == .proofCapacity)
    #expect(refusal(verifier, proofs[0]) == .proofReplayed)
    clock.now = Self.now + 120_000
    #expect(refusal(verifier, try proof(at: Self.now + 120_000)) == nil)
  }

  @Test("the allowed keys file: one key per line, comments and blanks skipped, a bad line named")
  func allowedKeys() throws {
    let text = "# the mesh\n\(testKey(1).publicKey.base64)\n\n  \(testKey(2).publicKey.base64)  # bob\n"
    let keys = try AllowedKeys(parsing: text, file: "keys")
    #expect(keys.keys == [testKey(1).publicKey, testKey(2).publicKey])
    #expect(throws: AllowedKeysError.self) { try AllowedKeys(parsing: "\(testKey(1).publicKey.base64)\nnot-a-key\n", file: "keys") }
    do {
      _ = try AllowedKeys(parsing: "\(testKey(1).publicKey.base64)\nnot-a-key\n", file: "keys")
    } catch {
      #expect(error.code == .invalidKey && error.message.hasPrefix("keys:2: 'not-a-key' is not a base64 public key"))
    }
  }

  @Test("a connection may burst, then makes `rate` calls per second; connections are apart")
  func rateLimit() {
    let limiter = ConnectionRateLimiter(rate: 10, burst: 5)
    let start = ContinuousClock.now
    #expect((0..<7).map { _ in limiter.allow("a", now: start) } == [true, true, true, true, true, false, false])
    #expect(limiter.allow("b", now: start))
    #expect(limiter.allow("a", now: start + .milliseconds(100)))
    #expect(!limiter.allow("a", now: start + .milliseconds(150)))
    #expect(ConnectionRateLimiter(rate: 0, burst: 1).allow("a", now: start))
  }
}
