public import WarrenPrimitives

/// What the agent tells its owner.
public enum ICEEvent: Hashable, Sendable {
  case stateChanged(ICEConnectionState)
  case selectedPairChanged(CandidatePair)
  case roleChanged(ICERole)
  /// An application datagram arrived over a valid pair.
  case data([UInt8], from: TransportAddress)
  /// The answer to `probe(_:timeout:now:)` with this token arrived over `pair`.
  case probeAnswered(token: UInt64, roundTripTime: Duration, pair: CandidatePair.ID)
  /// The probe with this token got no answer in time (or an error answer).
  case probeLost(token: UInt64)
  /// After this (controlling) side nominated another pair, the peer's datagrams kept arriving
  /// over `kept` and none over the new one: the peer does not follow renominations.
  case renominationIgnored(kept: CandidatePair)
  /// The selected pair stopped answering while traffic flowed over it (``PathLiveness``); a
  /// `.selectedPairChanged` follows when another pair takes over at once, Disconnected when none
  /// can, or Failed toward a peer that does not follow renominations.
  case pathLost(CandidatePair)
  /// The pair kept validated to take over if the selected one dies changed (`nil`: none). A
  /// driver readies a relayed one (its TURN channel) in advance.
  case standbyChanged(CandidatePair?)
  /// A timeout was handled this long after it was due: this host did not run meanwhile
  /// (``ICEConfiguration/suspensionThreshold``). Connections of the owner's (signaling) may be
  /// gone with the NATs' memory of them.
  case resumed(after: Duration)
}
