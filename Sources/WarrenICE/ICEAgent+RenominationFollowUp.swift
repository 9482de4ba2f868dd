/// Whether the peer followed a renomination. RFC 8445 §8.1.1 nominates once per session; a
/// controlling agent that nominates a second pair (a direct one in place of a relayed one, see
/// ``RegularNomination``) depends on the controlled agent switching too. libnice and Warren do;
/// aioice 0.13 keeps sending on the pair it saw nominated first. Nothing is lost either way (data
/// is accepted on every valid pair), but the peer's direction stays on the old path. A peer that
/// did not follow shows in where its datagrams arrive: after the switch, on the old pair and
/// never on the new one.
///
/// Datagrams still in flight on the old pair at the switch are no sign of anything, nor is silence
/// on the new one when the owner carries its data without the agent (WireGuard's kernel data
/// path): the counts are taken only from `settleTime` after the switch, so a peer that follows
/// shows no datagram on the old pair at all, whatever the new one shows.
struct RenominationFollowUp: Sendable {
  typealias Instant = ContinuousClock.Instant

  /// Datagrams in flight at the switch have arrived by then.
  static let settleTime: Duration = .milliseconds(500)

  let left: CandidatePair.ID
  let taken: CandidatePair.ID
  let switchedAt: Instant
  /// Datagrams received on each pair once the switch settled (`nil` before).
  var leftReceived: Int?
  var takenReceived: Int?
  var due: Instant
}

extension ICEAgent {
  /// After a renomination by this (controlling) side, looks at the peer's datagrams once
  /// `renominationFollowUp` has passed.
  mutating func followUpRenomination(left: CandidatePair.ID, taken: CandidatePair.ID, now: Instant) {
    guard role == .controlling else { return }
    renominationFollowUp = RenominationFollowUp(left: left, taken: taken, switchedAt: now, due: now + RenominationFollowUp.settleTime)
  }

  /// Decides, when due: datagrams on the new pair mean the peer followed; datagrams only on the
  /// old one mean it did not (``ICEEvent/renominationIgnored(kept:)``); none at all, and the
  /// question stays open (asked again each interval, for up to 30 s after the switch).
  mutating func checkRenominationFollowUpIfDue(now: Instant) {
    guard var followUp = renominationFollowUp, now >= followUp.due else { return }
    guard selectedPair == followUp.taken, let left = checkList[followUp.left], let taken = checkList[followUp.taken] else {
      renominationFollowUp = nil
      return
    }
    guard let leftReceived = followUp.leftReceived, let takenReceived = followUp.takenReceived else {
      // The switch has settled: count from here.
      followUp.leftReceived = left.statistics.packetsReceived
      followUp.takenReceived = taken.statistics.packetsReceived
      followUp.due = followUp.switchedAt + configuration.renominationFollowUp
      renominationFollowUp = followUp
      return
    }
    let onLeft = left.statistics.packetsReceived - leftReceived
    let onTaken = taken.statistics.packetsReceived - takenReceived
    if onTaken > 0 {
      peerFollowsRenomination = true
      renominationFollowUp = nil
    } else if onLeft > 0 {
      peerFollowsRenomination = false
      renominationFollowUp = nil
      events.append(.renominationIgnored(kept: left))
    } else if now - followUp.switchedAt < .seconds(30) {
      followUp.due = now + configuration.renominationFollowUp
      renominationFollowUp = followUp
    } else {
      renominationFollowUp = nil
    }
  }
}
