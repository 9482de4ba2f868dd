/// Why a session started over with a new agent (counted per cause in `warren status`, so that an
/// operator can tell a peer that keeps restarting from a path that keeps failing).
public enum RestartCause: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
  /// The peer's new credentials arrived: it restarted, so our agent must start over with it. Our
  /// own credentials stay, so answering this is not a restart the peer could see.
  case peerRestarted = "peer_restarted"
  /// Our ICE agent failed (no pair worked, or consent was lost for good).
  case agentFailed = "agent_failed"
  /// The selected pair stayed disconnected for the restart timeout.
  case disconnected
  /// No connectivity checks began within the establish timeout after the peer's credentials
  /// (no candidate came, or none could be paired).
  case stalled

  public var description: String { rawValue }
}
