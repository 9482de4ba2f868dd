/// Regular nomination (RFC 8445 §8.1.1) with a preference for direct paths: once a pair is
/// valid, nominate the best valid one. A relayed pair waits `relayGracePeriod` after the first
/// relayed pair became valid, while direct pairs are still being checked; a direct pair that
/// becomes valid after a relayed one was selected is nominated in its place. One nomination at a
/// time.
public struct RegularNomination: NominationPolicy {
  public typealias Instant = ContinuousClock.Instant

  /// How long a relayed pair waits for a direct one (``ICEConfiguration/relayNominationDelay``).
  public var relayGracePeriod: Duration
  private var firstRelaySuccess: Instant?

  public init(relayGracePeriod: Duration) {
    self.relayGracePeriod = relayGracePeriod
  }

  public mutating func pairSucceeded(_ pair: CandidatePair, now: Instant) {
    if pair.isRelayed, firstRelaySuccess == nil { firstRelaySuccess = now }
  }

  public func pairToNominate(checklist: [CandidatePair], selected: CandidatePair?, now: Instant) -> CandidatePair.ID? {
    let valid = checklist.filter { $0.state == .succeeded }
    guard let best = valid.first(where: { !$0.isRelayed }) ?? valid.first else { return nil }
    // Only a direct pair replaces a selected one, and only a selected relayed one.
    if let selected, !(selected.isRelayed && !best.isRelayed) { return nil }
    // One nomination in flight at a time.
    if checklist.contains(where: { $0.nominated && $0.state != .failed && $0.id != selected?.id }) { return nil }
    if best.isRelayed {
      let directPending = checklist.contains { !$0.isRelayed && ($0.state == .waiting || $0.state == .inProgress) }
      if directPending, let first = firstRelaySuccess, now - first < relayGracePeriod { return nil }
    }
    return best.id
  }

  public func deadline(pairs: [CandidatePair], selected: CandidatePair?) -> Instant? {
    guard let first = firstRelaySuccess, selected == nil, !pairs.contains(where: \.nominated),
      pairs.contains(where: { $0.isRelayed && $0.state == .succeeded })
    else { return nil }
    return first + relayGracePeriod
  }

  public mutating func reset() {
    firstRelaySuccess = nil
  }
}
