/// Why a received signaling message was dropped before it could change the session
/// (docs/session.md, "Restarts that converge").
public enum DroppedMessageReason: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
  /// An envelope whose nonce was accepted before: an exact copy (a replay, or the same envelope
  /// once more through another backend of a multi-backend).
  case seenNonce = "seen_nonce"
  /// A Warren peer's message sent at a time already accepted, or further behind the newest
  /// accepted one than the reordering window (``ReplayGuard``).
  case staleFreshness = "stale_freshness"
  /// A Warren peer's message sent further from our clock than the clock window, while nothing
  /// newer was accepted from it (an old recording, or a clock that is far off), or from our future.
  case outsideClockWindow = "outside_clock_window"
  /// It belongs with an older agent of the peer than the newest one known (Warren peers).
  case staleAgent = "stale_agent"
  /// Credentials the peer used before its current ones (a late or replayed copy).
  case oldCredentials = "old_credentials"
  /// Unknown credentials without `need_creds` while the peer's current ones are known: a peer that
  /// restarts announces its new credentials with `need_creds`, so this is a late answer.
  case unannouncedCredentials = "unannounced_credentials"
  /// Other credentials with the agent generation of the current ones (no honest peer sends this).
  case conflictingCredentials = "conflicting_credentials"
  /// A candidate that arrived while its agent's credentials had not, beyond what is kept.
  case tooManyEarlyCandidates = "too_many_early_candidates"
  /// A candidate this agent cannot use: TCP, an mDNS name, a bad address or port.
  case unusableCandidate = "unusable_candidate"

  public var description: String { rawValue }
}
