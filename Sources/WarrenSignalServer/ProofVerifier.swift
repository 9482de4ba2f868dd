public import WarrenCrypto
internal import WarrenPrimitives

/// Checks proofs of key possession (``KeyPossessionProof``) with the server's key: the box must
/// open with the claimed key, its time must lie within `window` of the server's clock, and its
/// nonce must not have been accepted before (docs/signal-server.md, "Proof of key possession").
///
/// Accepted nonces are kept for twice the window (after that any copy is expired anyway), at most
/// `capacity` of them (26 bytes and a deadline each); while that many are live, new proofs are
/// refused rather than letting a flood push out the record of recent ones.
public final class ProofVerifier: Sendable {
  public let serverKey: PrivateKey
  public let window: Duration
  public let capacity: Int
  private let unixMilliseconds: @Sendable () -> UInt64
  /// Accepted nonces, until a copy of their proof would be expired anyway.
  private let seen = Locked(ExpiringSet<[UInt8], UInt64>())

  /// - Parameter unixMilliseconds: the server's wall clock (injected in tests).
  public init(
    serverKey: PrivateKey, window: Duration = .seconds(60), capacity: Int = 262_144,
    unixMilliseconds: @escaping @Sendable () -> UInt64
  ) {
    self.serverKey = serverKey
    self.window = window
    self.capacity = capacity
    self.unixMilliseconds = unixMilliseconds
  }

  /// Accepts `bytes` as proof that the caller holds `claimed`'s private key, for `purpose`, or
  /// says why not.
  public func verify(_ bytes: [UInt8]?, claimed: Key, purpose: KeyPossessionProof.Purpose) throws(AccessRefusal) {
    guard let bytes else {
      throw AccessRefusal(.proofMissing, "\(purpose) of \(claimed) needs a proof of key possession (metadata \(KeyPossessionProof.metadataKey)) on this server")
    }
    let proof: KeyPossessionProof
    do {
      proof = try KeyPossessionProof.open(bytes, claimed: claimed, server: serverKey, purpose: purpose)
    } catch {
      throw AccessRefusal(error.code == .authenticationFailed ? .proofWrongKey : .proofMalformed, "\(purpose): \(error.message)")
    }
    let now = unixMilliseconds()
    seen.withLock { $0.forget(through: now) }
    let windowMilliseconds = UInt64(window.components.seconds) * 1000
    if proof.unixMilliseconds + windowMilliseconds < now {
      throw AccessRefusal(.proofExpired, "\(purpose): the proof is \(now - proof.unixMilliseconds) ms old; this server accepts \(window) (check the client's clock)")
    }
    if proof.unixMilliseconds > now + windowMilliseconds {
      throw AccessRefusal(.proofFromTheFuture, "\(purpose): the proof is \(proof.unixMilliseconds - now) ms ahead of this server's clock; it accepts \(window)")
    }
    try seen.withLock { seen throws(AccessRefusal) in
      if seen.contains(proof.nonce) {
        throw AccessRefusal(.proofReplayed, "\(purpose): this proof was used before; every call needs a fresh one")
      }
      guard seen.count < capacity else {
        throw AccessRefusal(.proofCapacity, "\(purpose): \(capacity) proofs accepted within \(window * 2); try again shortly")
      }
      seen.insert(proof.nonce, forgetAt: now + 2 * windowMilliseconds)
    }
  }

  /// Proofs whose nonces are remembered now.
  public var remembered: Int { seen.withLock { $0.count } }
}
