internal import WarrenSTUN
internal import WarrenPrimitives

/// Nomination (RFC 8445 §8.1): the controlling side nominates the pair its ``NominationPolicy``
/// names; a nominated pair whose check succeeded becomes the selected pair.

extension ICEAgent {
  /// Controlling side (§8.1.1): nominates what the policy names, with a check that carries
  /// USE-CANDIDATE; the pair is selected when that check succeeds.
  mutating func nominateIfReady(now: Instant) {
    guard role == .controlling, remoteCredentials != nil else { return }
    guard let id = nomination.pairToNominate(checklist: orderedPairs, selected: selectedPair.flatMap { checkList[$0] }, now: now)
    else { return }
    checkList[id]?.nominated = true
    sendCheck(on: id, useCandidate: true, now: now)
  }

  mutating func select(_ id: CandidatePair.ID, now: Instant) {
    guard selectedPair != id, let pair = checkList[id] else { return }
    // The pair left is no longer nominated: it may be nominated again later, and meanwhile it
    // must not count as a nomination in flight.
    if let previous = selectedPair {
      checkList[previous]?.nominated = false
      followUpRenomination(left: previous, taken: id, now: now)
    }
    selectedPair = id
    consent.began(now: now, firstCheck: jittered(consentCadence))
    liveness.selected(now: now, roundTripTime: pair.statistics.currentRoundTripTime)
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
