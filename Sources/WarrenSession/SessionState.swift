/// A peer session's connection state (session.md, "Per-peer connection state").
public enum SessionState: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
  /// No agent exists.
  case unknown
  /// Agent created; our credentials are being sent with back-off until the peer's arrive.
  case idle
  /// The peer's credentials arrived; gathering local candidates.
  case new
  /// A remote candidate arrived; the agent connects.
  case connecting
  case checking
  case connected
  case completed
  case disconnected
  case failed
  /// The agent was closed; the next step is Idle with a new agent (a restart).
  case closed

  public var description: String { rawValue }
}
