internal import WarrenSTUN
internal import WarrenPrimitives

/// Consent freshness (RFC 7675 §5.1) and keepalives (RFC 8445 §11) on the selected pair.

extension ICEAgent {
  /// Consent freshness (RFC 7675 §5.1) and keepalives on the selected pair.
  mutating func maintainConsent(now: Instant) {
    guard let id = selectedPair else { return }
    if consent.checkDue(now: now) {
      sendCheck(on: id, useCandidate: false, now: now, kind: .consent)
      consent.checkSent(now: now, next: jittered(consentCadence))
    }
    var standing = consent.standing(now: now, configuration: configuration)
    // A pair that stopped answering fast checks is not fresh, whatever consent's slower clock says.
    if standing == .fresh && liveness.isDead(configuration) { standing = .lapsing }
    switch standing {
    case .lost:
      setState(.failed)
      transactions = [:]
      return
    case .lapsing:
      setState(.disconnected)
    case .fresh:
      if state == .disconnected { setState(role == .controlling ? .completed : .connected) }
    }
    if consent.keepaliveDue(now: now, configuration: configuration) {
      let indication = STUNMessage(type: .init(.binding, .indication), transactionID: .random(using: &random))
      transmit(Transmit(from: id.local, to: id.remote, bytes: indication.encoded(fingerprint: true)), now: now)
    }
  }


  /// How often consent checks go out: the configured interval, but at most 40 % of the
  /// disconnected timeout, so that jitter (up to +20 %) or one lost answer never leaves the
  /// selected pair without a fresh answer for that long on a healthy path.
  var consentCadence: Duration {
    min(configuration.consentInterval, configuration.disconnectedTimeout * 0.4)
  }

  /// `interval` ± 20 % (RFC 7675 §5.1).
  mutating func jittered(_ interval: Duration) -> Duration { interval.jittered(by: 0.2, using: &random) }
}
