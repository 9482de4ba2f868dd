public import WarrenICE
public import WarrenWire
internal import WarrenPrimitives

/// One remote peer's session as a pure state machine (session.md): it takes signaling messages,
/// the ICE agent's state and the time, and returns actions for its owner to carry out. It owns no
/// agent, socket or clock, so every transition can be tested in virtual time.
///
/// ```
/// Unknown → Idle → New → Connecting → Checking → Connected/Completed → Disconnected/Failed
///   → Closed → Idle (new agent) → …
/// ```
///
/// Restarts converge (docs/session.md, "Restarts that converge"): late or replayed credentials
/// never replace newer ones, answering the peer's restart keeps our credentials (so it is not a
/// restart the peer could see), and restarts in quick succession are paced with back-off.
public struct PeerSession: Sendable {
  public typealias Instant = ContinuousClock.Instant

  /// What the owner must do, in order.
  public enum Action: Hashable, Sendable {
    /// Create a fresh ICE agent with these local credentials and role (closing any earlier one).
    case createAgent(ICECredentials, ICERole)
    /// Close the current agent.
    case closeAgent
    /// Seal and publish this message to the peer.
    case send(Cunicu_Signaling_Message)
    /// Hand the peer's credentials to the agent.
    case setRemoteCredentials(ICECredentials)
    /// Start gathering local candidates (each is to be passed to ``localCandidate(_:now:)``).
    case startGathering
    /// Add a remote candidate to the agent (which ignores a transport address it already has).
    case addRemoteCandidate(Candidate)
    /// The state changed; log it with the peer's name and the reason.
    case transition(from: SessionState, to: SessionState, reason: String)
    /// A message from the peer was dropped; count it (and log it at debug level).
    case dropped(DroppedMessageReason)
  }

  public let role: ICERole
  public let configuration: SessionConfiguration
  public private(set) var state: SessionState = .unknown
  public private(set) var localCredentials: ICECredentials?
  /// The generation of our current agent, sent with every message (``Warren_Freshness``).
  public private(set) var agentGeneration: UInt64 = 0
  /// Restarts so far, by cause.
  public private(set) var restartCounts: [RestartCause: Int] = [:]
  /// Messages from the peer dropped so far, by reason.
  public private(set) var droppedCounts: [DroppedMessageReason: Int] = [:]
  /// When the state last changed.
  public private(set) var stateSince: Instant?
  /// The peer's credentials and agents as far as we know them.
  public private(set) var peer: RemotePeerCredentials
  /// Recognises copies of the peer's messages.
  public private(set) var replayGuard: ReplayGuard

  private var random: SplitMix64
  private var actions: [Action] = []
  /// The wall clock when the session started, for agent generations and `sent_at`.
  private var clock: (instant: Instant, unixNanoseconds: UInt64)?
  /// The `sent_at` of our last message.
  private var lastSentAt: UInt64 = 0
  private var pacer = RestartPacer()
  /// A restart the pacer holds back: the session is Closed until `due`.
  private var pendingRestart: (cause: RestartCause, due: Instant)?
  private var nextCredentials: Instant?
  private var credentialsInterval: Duration
  private var disconnectedSince: Instant?
  private var establishDeadline: Instant?
  private var hasLocalCandidate = false
  private var hasRemoteCandidate = false
  /// Our current agent's candidates, as trickled: sent again with the answer to a request that
  /// repeats our current credentials (the peer missed them: they left while its subscription was
  /// being made again).
  private var trickled: [Candidate] = []
  /// In New without a remote candidate: when the peer is asked again (need_creds), and how long
  /// the next wait is.
  private var candidatesRetryAt: Instant?
  private var candidatesRetryInterval: Duration = .zero
  /// Candidates that overtook the credentials they belong with (signaling may reorder), with
  /// their agent generation.
  private var earlyCandidates: [(candidate: Candidate, generation: UInt64?)] = []

  /// - Parameter seed: seeds credentials and back-off jitter (a random one in production).
  public init(role: ICERole, configuration: SessionConfiguration = SessionConfiguration(), seed: UInt64) {
    self.role = role
    self.configuration = configuration
    random = SplitMix64(seed: seed)
    credentialsInterval = configuration.credentialsInitialInterval
    peer = RemotePeerCredentials(capacity: configuration.credentialsMemory)
    replayGuard = ReplayGuard(configuration: configuration.replay)
  }

  /// The peer's current credentials, once known.
  public var remoteCredentials: ICECredentials? { peer.current }

  /// Whether the peer is a Warren peer: its credentials came with an agent generation
  /// (``Warren_Freshness``). cunicu peers send none.
  public var peerSendsFreshness: Bool { peer.newestGeneration != nil }

  /// How many times the session restarted (every cause).
  public var restarts: Int { restartCounts.values.reduce(0, +) }

  // MARK: - Inputs

  /// Unknown → Idle: a new agent, and our credentials to the peer.
  /// - Parameter unixNanoseconds: the wall clock at `now` (nanoseconds since the Unix epoch). Agent
  ///   generations count from it, so they keep growing across restarts of the process.
  public mutating func start(now: Instant, unixNanoseconds: UInt64) {
    guard state == .unknown else { return }
    clock = (now, unixNanoseconds)
    agentGeneration = unixNanoseconds
    becomeIdle(now: now, reason: "session started")
  }

  /// A message from the peer (already opened and authenticated). Duplicates, late copies and
  /// replays change nothing: copies are recognised by the envelope's `nonce` and the message's
  /// `sent_at` first (``ReplayGuard``), then by the credentials and agent generation they carry.
  public mutating func receive(_ message: Cunicu_Signaling_Message, nonce: [UInt8]? = nil, now: Instant) {
    guard state != .unknown else { return }
    let sentAt = message.hasFreshness && message.freshness.sentAt != 0 ? message.freshness.sentAt : nil
    if let reason = replayGuard.admit(nonce: nonce, sentAt: sentAt, now: now, wallClock: wallClock(at: now)) {
      drop(reason)
      return
    }
    let generation = message.hasFreshness ? message.freshness.agentGeneration : nil
    if peer.isStale(generation: generation) {
      drop(.staleAgent)
      return
    }
    if message.hasCredentials, !receiveCredentials(message.credentials, generation: generation, now: now) { return }
    guard message.hasCandidate else { return }
    guard let candidate = Candidate(message.candidate) else {
      drop(.unusableCandidate)
      return
    }
    receiveCandidate(candidate, generation: generation, now: now)
  }

  /// A local candidate the agent gathered: trickled to the peer as its own message.
  public mutating func localCandidate(_ candidate: Candidate, now: Instant) {
    guard state != .unknown, state != .idle, state != .closed else { return }
    var message = Cunicu_Signaling_Message()
    message.candidate = Cunicu_Epdisc_Candidate(candidate)
    send(message, now: now)
    trickled.append(candidate)
    hasLocalCandidate = true
    connectIfReady(now: now)
  }

  /// The agent's connection state changed.
  public mutating func agentStateChanged(_ agentState: ICEConnectionState, now: Instant) {
    switch agentState {
    case .checking where state == .connecting || state == .new:
      establishDeadline = nil
      transition(to: .checking, now: now, reason: "connectivity checks started")
    case .connected, .completed:
      disconnectedSince = nil
      establishDeadline = nil
      let target: SessionState = agentState == .connected ? .connected : .completed
      if state != target { transition(to: target, now: now, reason: "a candidate pair was selected") }
    case .disconnected where state == .connected || state == .completed:
      disconnectedSince = now
      transition(to: .disconnected, now: now, reason: "consent lost on the selected pair")
    case .failed where state != .closed && state != .idle:
      transition(to: .failed, now: now, reason: "ICE failed")
      restart(.agentFailed, now: now, reason: "the agent failed")
    default:
      break
    }
  }

  /// Runs the timers due at `now`.
  public mutating func handleTimeout(now: Instant) {
    if let pending = pendingRestart, now >= pending.due {
      runRestart(pending.cause, now: now)
    }
    if state == .idle, let due = nextCredentials, now >= due {
      sendCredentials(needCreds: true, now: now)
      credentialsInterval = min(credentialsInterval * configuration.credentialsMultiplier, configuration.credentialsMaxInterval)
      nextCredentials = now + jittered(credentialsInterval)
    }
    if state == .disconnected, let since = disconnectedSince, now - since >= configuration.restartTimeout {
      restart(.disconnected, now: now, reason: "disconnected for \(configuration.restartTimeout)")
    }
    if state == .new, !hasRemoteCandidate, let due = candidatesRetryAt, now >= due {
      // The peer's credentials came, its candidates did not (lost while our subscription was
      // being made again, say): ask again, which a Warren peer answers with its candidates too.
      sendCredentials(needCreds: true, now: now)
      candidatesRetryInterval = candidatesRetryInterval * 2
      candidatesRetryAt = now + candidatesRetryInterval
    }
    if state == .new || state == .connecting, let deadline = establishDeadline, now >= deadline {
      restart(.stalled, now: now, reason: "no connectivity checks \(configuration.establishTimeout) after the peer's credentials")
    }
  }

  // MARK: - Outputs

  public mutating func pollAction() -> Action? {
    actions.isEmpty ? nil : actions.removeFirst()
  }

  public func pollTimeout() -> Instant? {
    if let pendingRestart { return pendingRestart.due }
    switch state {
    case .idle: return nextCredentials
    case .disconnected: return disconnectedSince.map { $0 + configuration.restartTimeout }
    case .new where !hasRemoteCandidate: return [establishDeadline, candidatesRetryAt].compactMap { $0 }.min()
    case .new, .connecting: return establishDeadline
    default: return nil
    }
  }

  // MARK: - Credentials

  /// Returns false when the message was dropped (its candidate, if any, goes with it).
  private mutating func receiveCredentials(_ credentials: Cunicu_Epdisc_Credentials, generation: UInt64?, now: Instant) -> Bool {
    let theirs = ICECredentials(ufrag: credentials.ufrag, pwd: credentials.pwd)
    guard !theirs.ufrag.isEmpty, !theirs.pwd.isEmpty else { return true }
    let verdict = peer.judge(theirs, needCreds: credentials.needCreds, generation: generation)
    // While a restart waits for the pacer there is no agent: remember what arrived, answer later.
    if pendingRestart != nil {
      switch verdict {
      case .drop(let reason):
        drop(reason)
        return false
      case .current(renewed: true): peer.renew(generation: generation)
      case .current(renewed: false): break
      case .adopt, .peerRestarted: peer.take(theirs, generation: generation)
      }
      return true
    }
    switch verdict {
    case .drop(let reason):
      drop(reason)
      return false
    case .current(let renewed):
      if renewed {
        peer.renew(generation: generation)
        flushEarlyCandidates(now: now)
      }
      if credentials.needCreds {
        sendCredentials(needCreds: false, now: now)
        // Asked again for what it has: it may have missed our candidates too. Sent again, in
        // order; a receiver adds each candidate once.
        for candidate in trickled {
          var message = Cunicu_Signaling_Message()
          message.candidate = Cunicu_Epdisc_Candidate(candidate)
          send(message, now: now)
        }
      }
    case .adopt:
      peer.take(theirs, generation: generation)
      actions.append(.setRemoteCredentials(theirs))
      nextCredentials = nil
      // Answered before the candidates, so the peer can take them at once.
      if credentials.needCreds { sendCredentials(needCreds: false, now: now) }
      beginEstablishing(now: now, reason: "received the peer's credentials")
    case .peerRestarted:
      peer.take(theirs, generation: generation)
      restart(.peerRestarted, now: now, reason: "the peer restarted with new credentials")
    }
    return true
  }

  // MARK: - Candidates

  private mutating func receiveCandidate(_ candidate: Candidate, generation: UInt64?, now: Instant) {
    guard pendingRestart == nil, peer.current != nil, !peer.isAhead(generation: generation) else {
      keepEarly(candidate, generation: generation)
      return
    }
    actions.append(.addRemoteCandidate(candidate))
    hasRemoteCandidate = true
    candidatesRetryAt = nil
    connectIfReady(now: now)
  }

  private mutating func keepEarly(_ candidate: Candidate, generation: UInt64?) {
    guard !earlyCandidates.contains(where: { $0.candidate == candidate && $0.generation == generation }) else { return }
    if earlyCandidates.count >= configuration.earlyCandidatesLimit {
      earlyCandidates.removeFirst()
      drop(.tooManyEarlyCandidates)
    }
    earlyCandidates.append((candidate, generation))
  }

  /// Adds the kept candidates of the peer's current agent, forgets those of older agents.
  private mutating func flushEarlyCandidates(now: Instant) {
    let early = earlyCandidates
    earlyCandidates = []
    for (candidate, generation) in early where !peer.isStale(generation: generation) {
      receiveCandidate(candidate, generation: generation, now: now)
    }
  }

  /// New → Connecting once a remote candidate exists (the controlling side dials, the controlled
  /// side accepts; both need their first local and remote candidate).
  private mutating func connectIfReady(now: Instant) {
    guard state == .new, hasRemoteCandidate, hasLocalCandidate else { return }
    transition(to: .connecting, now: now, reason: role == .controlling ? "dialing the peer" : "accepting the peer")
  }

  // MARK: - Restarts

  /// Closes the agent and starts over, at once or when the pacer allows.
  private mutating func restart(_ cause: RestartCause, now: Instant, reason: String) {
    actions.append(.closeAgent)
    disconnectedSince = nil
    establishDeadline = nil
    nextCredentials = nil
    let due = pacer.earliest(after: now, configuration: configuration)
    if due > now {
      pendingRestart = (cause, due)
      transition(to: .closed, now: now, reason: "\(reason); restarting in \(due - now) (restart back-off)")
    } else {
      transition(to: .closed, now: now, reason: reason)
      runRestart(cause, now: now)
    }
  }

  private mutating func runRestart(_ cause: RestartCause, now: Instant) {
    pendingRestart = nil
    restartCounts[cause, default: 0] += 1
    pacer.record(now: now, configuration: configuration)
    agentGeneration = nextGeneration(at: now)
    if cause == .peerRestarted, let theirs = peer.current, let local = localCredentials {
      // The peer restarted: a new agent for its new credentials, with our credentials unchanged,
      // so the peer sees our answer as the credentials it already may have, not as a restart.
      resetAgentState()
      actions.append(.createAgent(local, role))
      transition(to: .idle, now: now, reason: "restart: new agent, same credentials")
      actions.append(.setRemoteCredentials(theirs))
      // Always answered: the peer may have taken a late copy of older credentials of ours.
      sendCredentials(needCreds: false, now: now)
      beginEstablishing(now: now, reason: "took the peer's new credentials")
    } else {
      earlyCandidates = []
      peer.forgetCurrent()
      becomeIdle(now: now, reason: "restart: new agent and credentials")
    }
  }

  /// Idle → New: gather, and add the candidates that came early.
  private mutating func beginEstablishing(now: Instant, reason: String) {
    transition(to: .new, now: now, reason: reason)
    establishDeadline = now + configuration.establishTimeout
    candidatesRetryInterval = configuration.candidatesRetryInterval
    candidatesRetryAt = now + candidatesRetryInterval
    actions.append(.startGathering)
    flushEarlyCandidates(now: now)
  }

  private mutating func becomeIdle(now: Instant, reason: String) {
    localCredentials = ICECredentials.random(using: &random)
    resetAgentState()
    actions.append(.createAgent(localCredentials!, role))
    transition(to: .idle, now: now, reason: reason)
    sendCredentials(needCreds: true, now: now)
    credentialsInterval = configuration.credentialsInitialInterval
    nextCredentials = now + jittered(credentialsInterval)
  }

  private mutating func resetAgentState() {
    hasLocalCandidate = false
    hasRemoteCandidate = false
    trickled = []
    candidatesRetryAt = nil
    disconnectedSince = nil
    establishDeadline = nil
  }

  /// The wall clock at `now`, and always more than the last generation.
  private func nextGeneration(at now: Instant) -> UInt64 {
    guard clock != nil else { return agentGeneration + 1 }
    return max(wallClock(at: now), agentGeneration + 1)
  }

  /// The wall clock at `now`, in nanoseconds since the Unix epoch (counted from `start`).
  private func wallClock(at now: Instant) -> UInt64 {
    guard let clock else { return 0 }
    let elapsed = (now - clock.instant).components
    let nanoseconds = max(0, elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    return clock.unixNanoseconds &+ UInt64(nanoseconds)
  }

  // MARK: - Sending

  private mutating func sendCredentials(needCreds: Bool, now: Instant) {
    guard let local = localCredentials else { return }
    var message = Cunicu_Signaling_Message()
    message.credentials.ufrag = local.ufrag
    message.credentials.pwd = local.pwd
    message.credentials.needCreds = needCreds
    send(message, now: now)
  }

  /// Every message carries our agent's generation and when it was sent, strictly increasing (a
  /// field cunicu skips).
  private mutating func send(_ message: Cunicu_Signaling_Message, now: Instant) {
    var message = message
    lastSentAt = max(wallClock(at: now), lastSentAt + 1)
    message.freshness.agentGeneration = agentGeneration
    message.freshness.sentAt = lastSentAt
    actions.append(.send(message))
  }

  private mutating func drop(_ reason: DroppedMessageReason) {
    droppedCounts[reason, default: 0] += 1
    actions.append(.dropped(reason))
  }

  private mutating func transition(to newState: SessionState, now: Instant, reason: String) {
    guard newState != state else { return }
    actions.append(.transition(from: state, to: newState, reason: reason))
    state = newState
    stateSince = now
  }

  /// `interval` ± `credentialsRandomization` (session.md: ±50 %).
  private mutating func jittered(_ interval: Duration) -> Duration {
    interval.jittered(by: configuration.credentialsRandomization, using: &random)
  }
}
