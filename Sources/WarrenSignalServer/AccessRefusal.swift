public import WarrenPrimitives
public import GRPCCore

/// Why the signal server refused a call, as the gRPC status it answers with and the label it is
/// counted under on `/metrics` (`warren_signal_refusals_total{method, reason}`).
public struct AccessRefusal: CodedError {
  public enum Reason: String, CaseIterable, Sendable {
    case proofMissing = "proof_missing"
    case proofMalformed = "proof_malformed"
    case proofWrongKey = "proof_wrong_key"
    case proofExpired = "proof_expired"
    case proofFromTheFuture = "proof_from_the_future"
    case proofReplayed = "proof_replayed"
    case proofCapacity = "proof_capacity"
    case keyNotAllowed = "key_not_allowed"
    case rateLimited = "rate_limited"

    /// The gRPC status: a proof problem is `UNAUTHENTICATED`, a key outside `--allow-keys`
    /// `PERMISSION_DENIED`, too many calls `RESOURCE_EXHAUSTED`.
    public var code: RPCError.Code {
      switch self {
      case .keyNotAllowed: .permissionDenied
      case .rateLimited, .proofCapacity: .resourceExhausted
      default: .unauthenticated
      }
    }
  }

  public let reason: Reason
  public let message: String

  public init(_ reason: Reason, _ message: String) {
    self.reason = reason
    self.message = message
  }

  /// The reason as the error's code (its raw value: the label it is counted under).
  public var code: ErrorCode<AccessRefusal> { ErrorCode(reason.rawValue) }
}
