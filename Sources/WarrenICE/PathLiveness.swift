/// Fast failure detection on the selected pair, only while the application sends over it, and
/// the standby pair kept validated meanwhile (docs/ice.md, "Path survival").
///
/// Consent freshness (RFC 7675 §5.1) checks every 2 s and calls a path Disconnected after 5 s
/// without an answer: cheap for an idle peer, but seconds of lost traffic for a busy one. RFC 7675
/// lets the agent check more often; this does, at an interval derived from the pair's round-trip
/// time (RFC 6298's smoothed estimate), and calls the pair dead after a few checks in a row go
/// unanswered — about half a second on a LAN-to-internet path. Idle peers keep the consent schedule.
/// Only the times and counts live here; the agent sends the checks and acts on the verdict.
struct PathLiveness: Sendable {
  typealias Instant = ContinuousClock.Instant

  /// The application sent over the selected pair recently: fast checks run until this time.
  private(set) var trafficUntil: Instant?
  /// The selected pair's round-trip time, smoothed, and its variation (RFC 6298 §2).
  private(set) var smoothedRoundTripTime: Duration?
  private(set) var roundTripTimeVariation: Duration = .zero
  /// Checks of the selected pair in a row that went unanswered past their timeout.
  private(set) var misses = 0
  /// When the next fast check of the selected pair is due (only while traffic flows).
  var nextCheck: Instant?

  /// The standby: the best valid pair of another kind than the selected one, checked while
  /// traffic flows so that it is known to work when the selected pair dies.
  var standby: CandidatePair.ID?
  var standbyMisses = 0
  var nextStandbyCheck: Instant?
  /// While a relayed pair carries the traffic that a direct one carried: when the failed direct
  /// pairs are checked next, to find the direct path again as soon as it heals.
  var nextHealCheck: Instant?
  /// The selected pair died or vanished and no standby could take over: the first pair that
  /// answers a check from now on does.
  var lost = false

  /// Application data went over the selected pair at `now`. True when this starts a period of
  /// traffic (the owner's timer must then be re-armed for the first fast check).
  mutating func noteTraffic(now: Instant, window: Duration) -> Bool {
    let started = !isActive(now: now)
    trafficUntil = now + window
    if started, nextCheck == nil {
      nextCheck = now
      nextStandbyCheck = now
    }
    return started
  }

  func isActive(now: Instant) -> Bool {
    trafficUntil.map { now < $0 } ?? false
  }

  /// Traffic stopped: the consent schedule alone from here on.
  mutating func quiet() {
    trafficUntil = nil
    nextCheck = nil
    nextStandbyCheck = nil
    nextHealCheck = nil
  }

  /// Whether the selected pair went unanswered `misses` times in a row.
  func isDead(_ configuration: ICEConfiguration) -> Bool {
    misses >= configuration.livenessMisses
  }

  /// An answer came on the selected pair after `roundTripTime` (RFC 6298 §2.2–2.3, α = 1/8,
  /// β = 1/4; `nil` for the answer to a retransmitted request, which measures nothing).
  mutating func answered(roundTripTime: Duration?) {
    misses = 0
    guard let rtt = roundTripTime else { return }
    if let smoothed = smoothedRoundTripTime {
      let deviation = smoothed > rtt ? smoothed - rtt : rtt - smoothed
      roundTripTimeVariation = roundTripTimeVariation * 0.75 + deviation * 0.25
      smoothedRoundTripTime = smoothed * 0.875 + rtt * 0.125
    } else {
      smoothedRoundTripTime = rtt
      roundTripTimeVariation = rtt / 2
    }
  }

  /// A check of the selected pair went unanswered past its timeout.
  mutating func missed() {
    misses += 1
  }

  /// Another pair was selected at `now`: its round-trip time is learned anew (starting from
  /// `roundTripTime`, its last measured one), no misses, and no standby chosen yet.
  mutating func selected(now: Instant, roundTripTime: Duration?) {
    misses = 0
    smoothedRoundTripTime = nil
    roundTripTimeVariation = .zero
    answered(roundTripTime: roundTripTime)
    standby = nil
    standbyMisses = 0
    lost = false
    nextCheck = isActive(now: now) ? now : nil
    nextStandbyCheck = nextCheck
    nextHealCheck = nil
  }

  /// How often the selected pair is checked while traffic flows: twice its round-trip time,
  /// within the configured bounds.
  func checkInterval(_ configuration: ICEConfiguration) -> Duration {
    let derived = (smoothedRoundTripTime ?? .zero) * 2
    return min(max(derived, configuration.livenessMinimumInterval), configuration.livenessMaximumInterval)
  }

  /// How long a fast check waits for its answer before it counts as missed: RFC 6298's
  /// retransmission timeout (SRTT + 4·RTTVAR), within the configured bounds.
  func checkTimeout(_ configuration: ICEConfiguration) -> Duration {
    guard let smoothed = smoothedRoundTripTime else { return configuration.livenessMaximumTimeout }
    let derived = smoothed + roundTripTimeVariation * 4
    return min(max(derived, configuration.livenessMinimumTimeout), configuration.livenessMaximumTimeout)
  }

  /// Considers the times at which something is due (only while traffic flows; the agent clears
  /// them when traffic stops).
  func consider(in earliest: inout EarliestDeadline) {
    earliest.consider(nextCheck)
    earliest.consider(nextStandbyCheck)
    earliest.consider(nextHealCheck)
  }

  /// Everything forgotten (ICE restart, close).
  mutating func forget() {
    self = PathLiveness()
  }
}
