/// The agent's timers and limits. Every RFC timer is a named value here.
public struct ICEConfiguration: Sendable {
  /// Ta, the pacing of new checks (RFC 8445 §14.2).
  public var checkInterval: Duration = .milliseconds(50)
  /// First retransmission timeout of a check; doubles each time (RFC 8489 §6.2.1).
  public var initialRTO: Duration = .milliseconds(250)
  /// Transmissions of one check before its pair fails (cunicu: 7).
  public var maxTransmissions = 7
  /// A relayed pair is nominated only after this long without a direct pair succeeding.
  public var relayNominationDelay: Duration = .zero
  /// While a relayed pair is selected, direct pairs whose checks failed are checked again this
  /// often, so that a direct path that starts working later (a NAT that opens, a network that
  /// changes) replaces the relay; `nil` never checks again.
  public var directRecheckInterval: Duration? = .seconds(5)
  /// How long after a renomination the agent looks at which pair the peer's datagrams arrive
  /// on, to tell whether the peer followed (``ICEEvent/renominationIgnored(kept:)``).
  public var renominationFollowUp: Duration = .seconds(2)
  /// Checking with no valid pair for this long fails the agent.
  public var checkingTimeout: Duration = .seconds(30)
  /// Consent checks on the selected pair, about this often (RFC 7675 §5.1: 5 s, ±20 %), but at
  /// most 40 % of `disconnectedTimeout` (2 s ± 20 % with the defaults), so that a healthy path
  /// never looks disconnected.
  public var consentInterval: Duration = .seconds(5)
  /// No consent for this long: Disconnected.
  public var disconnectedTimeout: Duration = .seconds(5)
  /// No consent for this long: Failed (RFC 7675 §5.1 says 30 s).
  public var failedTimeout: Duration = .seconds(30)
  /// Binding indications keep NAT bindings open when nothing else was sent for this long.
  public var keepaliveInterval: Duration = .seconds(2)
  /// Application data sent over the selected pair counts as traffic flowing for this long: while
  /// it flows the pair is checked fast (``PathLiveness``) and a standby pair is kept validated. At
  /// least 1.5 times the interval at which an owner reports traffic it does not carry itself (the
  /// daemon reads WireGuard's counters every 2 s).
  public var trafficWindow: Duration = .seconds(3)
  /// Fast checks of the selected pair while traffic flows: every two round-trip times, but no
  /// more often than the minimum and no less often than the maximum.
  public var livenessMinimumInterval: Duration = .milliseconds(100)
  public var livenessMaximumInterval: Duration = .seconds(1)
  /// How long a fast check waits for its answer (RFC 6298's SRTT + 4·RTTVAR, within these
  /// bounds; the maximum before any round trip was measured).
  public var livenessMinimumTimeout: Duration = .milliseconds(150)
  public var livenessMaximumTimeout: Duration = .seconds(1)
  /// Fast checks in a row without an answer after which the selected pair is dead: traffic moves
  /// to the standby pair at once.
  public var livenessMisses = 3
  /// While traffic flows, the standby pair (the best valid pair of another kind) is checked this
  /// often, so that it is known to work when it is needed.
  public var standbyCheckInterval: Duration = .seconds(1)
  /// While a relayed pair carries traffic that a direct pair carried until it died, the failed
  /// direct pairs are checked this often (once each, not retransmitted), so that traffic returns
  /// to the direct path soon after it heals.
  public var healCheckInterval: Duration = .seconds(1)
  /// A timeout handled this long after it was due means this host did not run meanwhile (the
  /// machine slept, the process was stopped): ``ICEEvent/resumed(after:)``. After more than
  /// `disconnectedTimeout` the agent fails at once (the NATs may have forgotten the path, and the
  /// peer has given up on it), so that its owner starts over without waiting for consent.
  public var suspensionThreshold: Duration = .seconds(3)
  /// Only relayed local candidates form pairs and answer checks (WebRTC's `relay` transport
  /// policy): the peer never learns a host or server-reflexive address.
  public var relayOnly = false
  /// SOFTWARE attribute on requests; empty leaves it out.
  public var software = "warren"

  public init() {}
}
