internal import WarrenSTUN
internal import WarrenPrimitives

/// Nomination (RFC 8445 §8.1): the controlling side nominates the pair its ``NominationPolicy``
/// names; a nominated pair whose check succeeded becomes the selected pair.

extension ICEAgent {
  /// Controlling side (§8.1.1): nominates what the policy names, with a check that carries
  /// USE-CANDIDATE; the pair is selected when that check succeeds.
  /// While the selected pair's consent lapses (Disconnected), the policy sees neither it nor a
  /// selection: it names the best other valid pair, the failover.
  mutating func nominateIfReady(now: Instant) {
    guard role == .controlling, remoteCredentials != nil else { return }
    let lapsing = state == .disconnected ? selectedPair : nil
    let pairs = lapsing.map { lapsed in checklist.filter { $0.id != lapsed } } ?? checklist
    let selected = lapsing == nil ? selectedPair.flatMap { checkList[$0] } : nil
    guard let id = nomination.pairToNominate(checklist: pairs, selected: selected, now: now) else { return }
    checkList[id]?.nominated = true
    // A failover's candidate was valid once but may share the lapsed pair's fate: it gets a few
    // seconds (4 transmissions), not the half minute of an ordinary check, before the next one.
    sendCheck(on: id, useCandidate: true, now: now, maxTransmissions: lapsing == nil ? nil : Self.failoverTransmissions)
  }

  /// Transmissions of a failover's nominating check (250 ms + 500 ms + 1 s + 2 s with the
  /// default initial RTO).
  static let failoverTransmissions = 4

  /// The selected pair's consent began to lapse (RFC 7675 §5.1: Disconnected): before the session
  /// gives up on the agent, another pair may carry the traffic — typically the relay when a NAT
  /// dropped the direct path. Earlier nominations are forgotten so that a pair nominated before
  /// (a relay first used, then replaced) can be nominated again, and failed relayed pairs are
  /// checked again. The controlling side then nominates the best other valid pair
  /// (``nominateIfReady(now:)``); the controlled side follows the peer's nomination as always.
  mutating func prepareFailover(now: Instant) {
    for pair in checkList.all where pair.id != selectedPair && pair.nominated {
      checkList[pair.id]?.nominated = false
    }
    if checkList.rearmFailed(where: \.isRelayed) > 0, nextCheck == nil { nextCheck = now }
  }

  mutating func select(_ id: CandidatePair.ID, now: Instant) {
    guard selectedPair != id, let pair = checkList[id] else { return }
    if let previous = selectedPair {
      // The pair left is no longer nominated (it may be nominated again later), and if its
      // consent lapsed it is no longer valid (RFC 7675 §5.1): the direct recheck tries it again.
      checkList[previous]?.nominated = false
      if state == .disconnected { checkList[previous]?.state = .failed }
    }
    selectedPair = id
    consent.began(now: now, firstCheck: jittered(consentCadence))
    // On a relay, keep looking for a direct path; on a direct path, stop.
    nextDirectRecheck = pair.isRelayed ? configuration.directRecheckInterval.map { now + $0 } : nil
    events.append(.selectedPairChanged(pair))
    setState(role == .controlling ? .completed : .connected)
  }

  /// While a relayed pair is selected, failed direct pairs are checked again every
  /// `directRecheckInterval`: a NAT that opens later, or a path that heals, then gives a valid
  /// direct pair, which the controlling side nominates in the relay's place (both sides re-check,
  /// so that the controlled side's check opens the way for a triggered check from the other).
  mutating func recheckDirectPairsIfDue(now: Instant) {
    guard let due = nextDirectRecheck, now >= due else { return }
    guard let id = selectedPair, checkList[id]?.isRelayed == true, let interval = configuration.directRecheckInterval,
      state != .failed, state != .closed
    else {
      nextDirectRecheck = nil
      return
    }
    nextDirectRecheck = now + interval
    if checkList.rearmFailed(where: { !$0.isRelayed }) > 0, nextCheck == nil { nextCheck = now }
  }
}
