public import WarrenPrimitives
public import GRPCCore
public import Logging
public import WarrenCrypto

/// Who may do what on a `warren signal` (docs/signal-server.md, "Access"): proofs of key
/// possession (checked whenever sent, required with `--require-proof`), the keys of one mesh
/// (`--allow-keys`, re-read on SIGHUP), and per-connection rate limits. Every refusal is one log
/// line and one count by method and reason; it ends only the refused call.
public final class AccessControl: Sendable {
  public struct Policy: Sendable {
    /// Refuse Subscribe and GetRelays without a valid proof (cunicu clients send none).
    public var requireProof = false
    /// Where the allowed keys come from; every key is served without.
    public var allowedKeysFile: String?
    /// Calls per second per connection (0: unlimited), and how many at once; GetRelays counts
    /// against the Subscribe limit.
    public var publishRate: Double = 1000
    public var publishBurst: Double = 5000
    public var subscribeRate: Double = 100
    public var subscribeBurst: Double = 1000

    public init() {}
  }

  public enum Method: String, CaseIterable, Sendable {
    case subscribe = "Subscribe"
    case publish = "Publish"
    case getRelays = "GetRelays"

    /// The reasons a call of this method can be refused for (Publish carries no proof).
    public var refusalReasons: [AccessRefusal.Reason] {
      self == .publish ? [.keyNotAllowed, .rateLimited] : AccessRefusal.Reason.allCases
    }
  }

  public let policy: Policy
  public let verifier: ProofVerifier
  private let allowed: Locked<AllowedKeys?>
  private let publishLimiter: ConnectionRateLimiter
  private let subscribeLimiter: ConnectionRateLimiter
  private let refusals = Locked<[RefusalKey: Int]>([:])
  private let logger: Logger

  public struct RefusalKey: Hashable, Sendable {
    public let method: Method
    public let reason: AccessRefusal.Reason
  }

  /// Reads the allowed keys (if any); a broken file is an error here, at start.
  public init(policy: Policy, verifier: ProofVerifier, logger: Logger) throws(AllowedKeysError) {
    self.policy = policy
    self.verifier = verifier
    self.logger = logger
    allowed = Locked(try policy.allowedKeysFile.map { path throws(AllowedKeysError) in try AllowedKeys(contentsOf: path) })
    publishLimiter = ConnectionRateLimiter(rate: policy.publishRate, burst: policy.publishBurst)
    subscribeLimiter = ConnectionRateLimiter(rate: policy.subscribeRate, burst: policy.subscribeBurst)
  }

  /// Re-reads `--allow-keys`; a broken file keeps the keys in force (and says so).
  public func reloadAllowedKeys() {
    guard let path = policy.allowedKeysFile else { return }
    do {
      let keys = try AllowedKeys(contentsOf: path)
      allowed.withLock { $0 = keys }
      logger.notice("allowed keys reloaded", metadata: ["file": "\(path)", "keys": "\(keys.keys.count)"])
    } catch {
      logger.error("allowed keys not reloaded; the previous ones stay in force", metadata: ["error": "\(error)"])
    }
  }

  /// Checks a Subscribe of `key`, or a GetRelays for it (`proof`: the metadata's bytes).
  public func admit(_ method: Method, key: Key, proof: [UInt8]?, connection: String) throws(RPCError) {
    try check(method, connection: connection) { () throws(AccessRefusal) in
      // GetRelays shares Subscribe's bucket: both may cost the server an X25519.
      if !subscribeLimiter.allow(connection) {
        throw AccessRefusal(.rateLimited, "more than \(Int(policy.subscribeRate)) Subscribe and GetRelays calls per second on this connection")
      }
      try checkAllowed(key, role: "key")
      let purpose: KeyPossessionProof.Purpose = method == .subscribe ? .subscribe : .getRelays
      if policy.requireProof {
        try verifier.verify(proof, claimed: key, purpose: purpose)
      } else if proof != nil {
        // Unproven calls are served here, so refusing a proof that fails would stop nobody: it
        // would only lock out a client whose learned key is stale (this server restarted with a
        // new key). It is served as unproven, and told the current key in the logs only.
        do throws(AccessRefusal) {
          try verifier.verify(proof, claimed: key, purpose: purpose)
        } catch {
          logger.debug("a proof that does not hold, on a server that does not require one: served unproven", metadata: ["detail": "\(error.message)"])
        }
      }
    }
  }

  /// Checks a Publish from `sender` to `recipient`.
  public func admitPublish(sender: Key, recipient: Key, connection: String) throws(RPCError) {
    try check(.publish, connection: connection) { () throws(AccessRefusal) in
      if !publishLimiter.allow(connection) {
        throw AccessRefusal(.rateLimited, "more than \(Int(policy.publishRate)) Publish calls per second on this connection")
      }
      try checkAllowed(sender, role: "sender")
      try checkAllowed(recipient, role: "recipient")
    }
  }

  /// Refusals so far, by method and reason.
  public var refusalCounts: [RefusalKey: Int] { refusals.withLock { $0 } }

  private func checkAllowed(_ key: Key, role: String) throws(AccessRefusal) {
    guard let allowed = allowed.withLock({ $0 }), !allowed.contains(key) else { return }
    throw AccessRefusal(.keyNotAllowed, "the \(role) \(key) is not among this server's allowed keys")
  }

  private func check(_ method: Method, connection: String, _ body: () throws(AccessRefusal) -> Void) throws(RPCError) {
    do {
      try body()
    } catch {
      refusals.withLock { $0[RefusalKey(method: method, reason: error.reason), default: 0] += 1 }
      // Rate-limited calls come in floods: one line each would be the flood again.
      let level: Logger.Level = error.reason == .rateLimited ? .debug : .notice
      logger.log(
        level: level, "refused \(method.rawValue)",
        metadata: ["reason": "\(error.reason.rawValue)", "connection": "\(connection)", "detail": "\(error.message)"])
      var metadata = Metadata()
      metadata.addString(verifier.serverKey.publicKey.base64, forKey: KeyPossessionProof.serverKeyMetadataKey)
      throw RPCError(code: error.reason.code, message: "\(method.rawValue) refused (\(error.reason.rawValue)): \(error.message)", metadata: metadata)
    }
  }
}
