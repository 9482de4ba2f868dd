/// Consent freshness on the selected pair (RFC 7675 §5.1) and the keepalives that hold NAT
/// bindings open (RFC 8445 §11): when the next consent check is due, how fresh consent is, when a
/// keepalive is due. The agent sends the checks and keepalives; this only keeps the times.
struct ConsentFreshness: Sendable {
  typealias Instant = ContinuousClock.Instant

  /// How consent stands, by the time since the last answer on the selected pair.
  enum Standing {
    case fresh
    /// No answer for `disconnectedTimeout`: the agent reports Disconnected.
    case lapsing
    /// No answer for `failedTimeout`: consent is lost for good (§5.1), the agent fails.
    case lost
  }

  /// When the last answer on the selected pair came.
  private(set) var lastAnswer: Instant?
  /// When the next consent check is due.
  private(set) var nextCheck: Instant?
  /// When anything last left on the selected pair.
  private(set) var lastSent: Instant?

  /// A pair was selected at `now`: consent starts fresh, the first check is due after `firstCheck`.
  mutating func began(now: Instant, firstCheck: Duration) {
    lastAnswer = now
    nextCheck = now + firstCheck
  }

  /// An answer came on the selected pair.
  mutating func answered(now: Instant) {
    lastAnswer = now
  }

  /// Something left on the selected pair (data, a check, a keepalive).
  mutating func sent(now: Instant) {
    lastSent = now
  }

  func checkDue(now: Instant) -> Bool {
    nextCheck.map { now >= $0 } ?? false
  }

  /// A consent check went out; the next is due after `next`.
  mutating func checkSent(now: Instant, next: Duration) {
    nextCheck = now + next
  }

  func standing(now: Instant, configuration: ICEConfiguration) -> Standing {
    guard let lastAnswer else { return .fresh }
    if now - lastAnswer >= configuration.failedTimeout { return .lost }
    if now - lastAnswer >= configuration.disconnectedTimeout { return .lapsing }
    return .fresh
  }

  func keepaliveDue(now: Instant, configuration: ICEConfiguration) -> Bool {
    lastSent.map { now - $0 >= configuration.keepaliveInterval } ?? false
  }

  /// Considers the times at which something is due. `connected`: the Disconnected deadline
  /// counts too.
  func consider(in earliest: inout EarliestDeadline, connected: Bool, configuration: ICEConfiguration) {
    earliest.consider(nextCheck)
    if let lastAnswer {
      if connected { earliest.consider(lastAnswer + configuration.disconnectedTimeout) }
      earliest.consider(lastAnswer + configuration.failedTimeout)
    }
    earliest.consider(lastSent.map { $0 + configuration.keepaliveInterval })
  }

  /// No more checks (the agent closed).
  mutating func stopChecks() {
    nextCheck = nil
  }

  /// The pair is gone (ICE restart): no checks, no consent to keep.
  mutating func forget() {
    nextCheck = nil
    lastAnswer = nil
  }
}
