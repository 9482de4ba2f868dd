public import WarrenPrimitives

/// Why an announcement was not acted on: one log line and one count per refusal, never a crash
/// and never a partial change.
public struct DiscoveryRefusal: CodedError, Equatable {
  public enum Reason: String, CaseIterable, Sendable {
    /// The announced key is not the key that sealed the announcement.
    case senderMismatch = "sender_mismatch"
    /// ADD or REMOVE with `public_key_new`.
    case keyChangeWithoutUpdate = "key_change_without_update"
    /// A key, address or field that does not parse.
    case malformed
    /// An `allowed_ips` entry that is not address/length.
    case malformedAllowedIP = "malformed_allowed_ip"
    /// A name, list or map beyond ``Announcement/Limits``.
    case oversized
    /// A key on the deny list, or not on a non-empty accept list.
    case notAccepted = "not_accepted"
    /// As many peers learned as `max_peers` allows.
    case tooManyPeers = "too_many_peers"
    /// A key configured by hand on the interface: discovery never touches it.
    case configuredByHand = "configured_by_hand"
    /// REMOVE or UPDATE of a key this node did not learn.
    case unknownPeer = "unknown_peer"
  }

  public let reason: Reason
  public let message: String

  public init(_ reason: Reason, _ message: String) {
    self.reason = reason
    self.message = message
  }

  /// The reason as the error's code (its raw value: the label it is counted under).
  public var code: ErrorCode<DiscoveryRefusal> { ErrorCode(reason.rawValue) }
}
