/// How the controlling agent chooses the pair to nominate (RFC 8445 §8.1.1), as a type of its
/// own: the agent tells it which pairs became valid and asks it what to nominate, and what it
/// nominates goes out as a check with USE-CANDIDATE. Another strategy (relay first, then
/// renomination of a better pair) is another type given to ``ICEAgent/init(role:localCredentials:configuration:nomination:seed:)``.
/// The controlled side needs none: it selects what the peer nominates (§7.3.1.5).
public protocol NominationPolicy: Sendable {
  /// A pair's check succeeded for the first time: the pair is valid.
  mutating func pairSucceeded(_ pair: CandidatePair, now: ContinuousClock.Instant)

  /// The pair to nominate now, if any. `checklist` is every pair, best first; `selected` the
  /// selected pair, if there is one.
  func pairToNominate(checklist: [CandidatePair], selected: CandidatePair?, now: ContinuousClock.Instant) -> CandidatePair.ID?

  /// When ``pairToNominate(checklist:selected:now:)`` may answer differently without any other
  /// input (a grace period that ends), if ever. `pairs` are in no particular order.
  func deadline(pairs: [CandidatePair], selected: CandidatePair?) -> ContinuousClock.Instant?

  /// The agent restarted (RFC 8445 §9): forget every pair.
  mutating func reset()
}
