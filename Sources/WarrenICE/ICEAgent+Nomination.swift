internal import WarrenSTUN
internal import WarrenPrimitives

/// Nomination (RFC 8445 §8.1): the controlling side nominates the pair its ``NominationPolicy``
/// names; a nominated pair whose check succeeded becomes the selected pair.

extension ICEAgent {
  /// Controlling side (§8.1.1): nominates what the policy names, with a check that carries
  /// USE-CANDIDATE; the pair is selected when that check succeeds.
  mutating func nominateIfReady(now: Instant) {
    guard role == .controlling, remoteCredentials != nil else { return }
    guard let id = nomination.pairToNominate(checklist: checklist, selected: selectedPair.flatMap { checkList[$0] }, now: now)
    else { return }
    checkList[id]?.nominated = true
    sendCheck(on: id, useCandidate: true, now: now)
  }

  mutating func select(_ id: CandidatePair.ID, now: Instant) {
    guard selectedPair != id, let pair = checkList[id] else { return }
    selectedPair = id
    consent.began(now: now, firstCheck: jittered(consentCadence))
    events.append(.selectedPairChanged(pair))
    setState(role == .controlling ? .completed : .connected)
  }
}
