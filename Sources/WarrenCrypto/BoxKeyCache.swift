public import WarrenPrimitives

/// Precomputed `crypto_box` keys per (our public key, their public key).
///
/// Sealing or opening with a cached key skips both X25519 multiplications, which cost about twenty
/// times the symmetric part for signaling-sized messages. The cache is bounded: when full, an
/// arbitrary entry makes room, so memory stays flat however many peers come and go.
public final class BoxKeyCache: Sendable {
  private struct PairID: Hashable {
    let ours: Key
    let theirs: Key
  }

  private let capacity: Int
  private let boxes: Locked<[PairID: SecretBox]>

  /// A cache holding at most `capacity` keys.
  public init(capacity: Int = 1024) {
    precondition(capacity > 0, "a BoxKeyCache holds at least one key")
    self.capacity = capacity
    boxes = Locked([:])
  }

  /// The box for `ours` → `theirs` (and back), computed on first use.
  public func box(ours: PrivateKey, theirs: Key) throws(WarrenCryptoError) -> SecretBox {
    let id = PairID(ours: ours.publicKey, theirs: theirs)
    if let box = boxes.withLock({ $0[id] }) { return box }
    // Computed outside the lock: two racing callers compute the same value, which is harmless.
    let box = try CryptoBox.precompute(ours: ours, theirs: theirs)
    boxes.withLock { boxes in
      if boxes.count >= capacity, let victim = boxes.keys.first { boxes[victim] = nil }
      boxes[id] = box
    }
    return box
  }

  /// The number of cached keys.
  public var count: Int { boxes.withLock { $0.count } }
}
