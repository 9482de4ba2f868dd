internal import WarrenCrypto
internal import WarrenICE
internal import WarrenPrimitives
internal import WarrenSession

/// What a ``PeerLink`` knows and decides, without I/O: the ``PeerSession``, and the link's own
/// record of its agents (which one is current, whether it selected a pair yet, how often traffic
/// moved, whether the peer follows renominations). Inputs go in with the time; the actions that
/// come out are for the link to carry out, in order. The link is its only writer.
struct PeerLinkStateMachine: Sendable {
  typealias Instant = ContinuousClock.Instant

  enum Input: Sendable {
    case start(unixNanoseconds: UInt64)
    case message(OpenedEnvelope)
    case localCandidate(Candidate)
    /// An event of the agent the link made `driverSerial`-th (see ``agentCreated()``).
    case agentEvent(ICEEvent, driverSerial: Int)
    /// The session's deadline (``PeerSession/pollTimeout()``) has passed.
    case timeout
  }

  enum Action: Hashable, Sendable {
    /// Carry out the session's action.
    case session(PeerSession.Action)
    /// The current agent selected `pair` (hand it to the data path); `switched` when that agent
    /// had selected another pair before.
    case selected(CandidatePair, switched: Bool)
    /// The first sign that the peer does not follow renominations: it kept `kept`.
    case peerIgnoresRenomination(kept: CandidatePair)
  }

  private(set) var session: PeerSession
  /// Counts the agents made, so that a replaced agent's late events are told apart: not the
  /// session's agent generation, which is the wire's.
  private(set) var driverSerial = 0
  /// Whether the current agent has selected a pair yet (its next selection is a switch).
  private var selectedInAgent = false
  private(set) var pathSwitches = 0
  private(set) var lastSwitch: Instant?
  /// When the last signaling message from the peer arrived (whatever became of it).
  private(set) var lastSignal: Instant?
  /// The peer kept its first pair when our agent nominated another (it does not follow
  /// renominations): later agents wait for a direct pair before they nominate a relay.
  private(set) var peerIgnoresRenomination = false

  init(session: PeerSession) {
    self.session = session
  }

  /// Whether the agent should hand a dying path to its standby: a Warren peer follows a
  /// renomination; toward others (cunicu's pion/ice switches only to a pair of higher priority)
  /// the agent fails at once instead, and both sides restart without waiting for consent to run out.
  var peerFollowsRenomination: Bool { session.peerSendsFreshness && !peerIgnoresRenomination }

  mutating func handle(_ input: Input, now: Instant) -> [Action] {
    var actions: [Action] = []
    switch input {
    case .start(let unixNanoseconds): session.start(now: now, unixNanoseconds: unixNanoseconds)
    case .message(let message):
      lastSignal = now
      session.receive(message.message, nonce: message.nonce, now: now)
    case .localCandidate(let candidate): session.localCandidate(candidate, now: now)
    case .agentEvent(let event, let serial):
      guard serial == driverSerial else { break }  // a replaced agent's
      switch event {
      case .stateChanged(let agentState): session.agentStateChanged(agentState, now: now)
      case .selectedPairChanged(let pair):
        let switched = selectedInAgent
        selectedInAgent = true
        if switched {
          pathSwitches += 1
          lastSwitch = now
        }
        actions.append(.selected(pair, switched: switched))
      case .renominationIgnored(let kept):
        if !peerIgnoresRenomination {
          peerIgnoresRenomination = true
          actions.append(.peerIgnoresRenomination(kept: kept))
        }
      default: break
      }
    case .timeout: session.handleTimeout(now: now)
    }
    while let action = session.pollAction() { actions.append(.session(action)) }
    return actions
  }

  /// The link made the agent the session asked for (`.createAgent`): its events carry the
  /// serial returned.
  mutating func agentCreated() -> Int {
    driverSerial += 1
    selectedInAgent = false
    return driverSerial
  }
}
