public import WarrenICE
internal import WarrenSTUN
public import WarrenWire

/// One remote peer's session as a pure state machine (session.md): it takes signaling messages,
/// the ICE agent's state and the time, and returns actions for its owner to carry out. It owns no
/// agent, socket or clock, so every transition can be tested in virtual time.
///
/// ```
/// Unknown → Idle → New → Connecting → Checking → Connected/Completed → Disconnected/Failed
///   → Closed → Idle (new agent, new credentials)
/// ```
public struct PeerSession: Sendable {
  public typealias Instant = ContinuousClock.Instant

  /// What the owner must do, in order.
  public enum Action: Hashable, Sendable {
    /// Create a fresh ICE agent with these local credentials and role.
    case createAgent(ICECredentials, ICERole)
    /// Close the current agent.
    case closeAgent
    /// Seal and publish this message to the peer.
    case send(Cunicu_Signaling_Message)
    /// Hand the peer's credentials to the agent.
    case setRemoteCredentials(ICECredentials)
    /// Start gathering local candidates (each is to be passed to ``localCandidate(_:now:)``).
    case startGathering
    /// Add a remote candidate to the agent.
    case addRemoteCandidate(Cunicu_Epdisc_Candidate)
    /// The state changed; log it with the peer's name and the reason.
    case transition(from: SessionState, to: SessionState, reason: String)
  }

  public let role: ICERole
  public let configuration: SessionConfiguration
  public private(set) var state: SessionState = .unknown
  public private(set) var localCredentials: ICECredentials?
  public private(set) var remoteCredentials: ICECredentials?
  /// How many times the session restarted (either side).
  public private(set) var restarts = 0
  /// When the state last changed.
  public private(set) var stateSince: Instant?

  private var random: SplitMix64
  private var actions: [Action] = []
  private var nextCredentials: Instant?
  private var credentialsInterval: Duration
  private var disconnectedSince: Instant?
  private var hasLocalCandidate = false
  private var hasRemoteCandidate = false
  /// Candidates that arrived before the credentials they belong with (signaling may reorder).
  private var earlyCandidates: [Cunicu_Epdisc_Candidate] = []
  private var seenRemoteCandidates: Set<Cunicu_Epdisc_Candidate> = []

  /// - Parameter seed: seeds credentials and back-off jitter (a random one in production).
  public init(role: ICERole, configuration: SessionConfiguration = SessionConfiguration(), seed: UInt64) {
    self.role = role
    self.configuration = configuration
    random = SplitMix64(seed: seed)
    credentialsInterval = configuration.credentialsInitialInterval
  }

  // MARK: - Inputs

  /// Unknown → Idle: a new agent, and our credentials to the peer.
  public mutating func start(now: Instant) {
    guard state == .unknown else { return }
    becomeIdle(now: now, reason: "session started")
  }

  /// A message from the peer (already opened and authenticated). Duplicates do no harm.
  public mutating func receive(_ message: Cunicu_Signaling_Message, now: Instant) {
    guard state != .unknown else { return }
    if message.hasCredentials { receiveCredentials(message.credentials, now: now) }
    if message.hasCandidate { receiveCandidate(message.candidate, now: now) }
  }

  /// A local candidate the agent gathered: trickled to the peer as its own message.
  public mutating func localCandidate(_ candidate: Cunicu_Epdisc_Candidate, now: Instant) {
    guard state != .unknown, state != .idle, state != .closed else { return }
    var message = Cunicu_Signaling_Message()
    message.candidate = candidate
    actions.append(.send(message))
    hasLocalCandidate = true
    connectIfReady(now: now)
  }

  /// The agent's connection state changed.
  public mutating func agentStateChanged(_ agentState: ICEConnectionState, now: Instant) {
    switch agentState {
    case .checking where state == .connecting || state == .new:
      transition(to: .checking, now: now, reason: "connectivity checks started")
    case .connected, .completed:
      disconnectedSince = nil
      let target: SessionState = agentState == .connected ? .connected : .completed
      if state != target { transition(to: target, now: now, reason: "a candidate pair was selected") }
    case .disconnected where state == .connected || state == .completed:
      disconnectedSince = now
      transition(to: .disconnected, now: now, reason: "consent lost on the selected pair")
    case .failed where state != .closed && state != .idle:
      transition(to: .failed, now: now, reason: "ICE failed")
      restart(now: now, reason: "the agent failed")
    default:
      break
    }
  }

  /// Runs the timers due at `now`.
  public mutating func handleTimeout(now: Instant) {
    if state == .idle, let due = nextCredentials, now >= due {
      sendCredentials(needCreds: true)
      credentialsInterval = min(credentialsInterval * configuration.credentialsMultiplier, configuration.credentialsMaxInterval)
      nextCredentials = now + jittered(credentialsInterval)
    }
    if state == .disconnected, let since = disconnectedSince, now - since >= configuration.restartTimeout {
      restart(now: now, reason: "disconnected for \(configuration.restartTimeout)")
    }
  }

  // MARK: - Outputs

  public mutating func pollAction() -> Action? {
    actions.isEmpty ? nil : actions.removeFirst()
  }

  public func pollTimeout() -> Instant? {
    switch state {
    case .idle: nextCredentials
    case .disconnected: disconnectedSince.map { $0 + configuration.restartTimeout }
    default: nil
    }
  }

  // MARK: - Transitions

  private mutating func receiveCredentials(_ credentials: Cunicu_Epdisc_Credentials, now: Instant) {
    let theirs = ICECredentials(ufrag: credentials.ufrag, pwd: credentials.pwd)
    guard !theirs.ufrag.isEmpty, !theirs.pwd.isEmpty else { return }
    if let known = remoteCredentials, known != theirs {
      // Different credentials: the peer restarted (session.md, "Restart").
      restart(now: now, reason: "the peer restarted with new credentials")
    }
    if credentials.needCreds { sendCredentials(needCreds: false) }
    guard remoteCredentials == nil else { return }  // the same credentials again: nothing to do
    remoteCredentials = theirs
    actions.append(.setRemoteCredentials(theirs))
    nextCredentials = nil
    transition(to: .new, now: now, reason: "received the peer's credentials")
    actions.append(.startGathering)
    let early = earlyCandidates
    earlyCandidates = []
    for candidate in early { receiveCandidate(candidate, now: now) }
  }

  private mutating func receiveCandidate(_ candidate: Cunicu_Epdisc_Candidate, now: Instant) {
    guard remoteCredentials != nil else {
      if !earlyCandidates.contains(candidate) { earlyCandidates.append(candidate) }
      return
    }
    guard seenRemoteCandidates.insert(candidate).inserted else { return }
    actions.append(.addRemoteCandidate(candidate))
    hasRemoteCandidate = true
    connectIfReady(now: now)
  }

  /// New → Connecting once a remote candidate exists (the controlling side dials, the controlled
  /// side accepts; both need their first local and remote candidate).
  private mutating func connectIfReady(now: Instant) {
    guard state == .new, hasRemoteCandidate, hasLocalCandidate else { return }
    transition(to: .connecting, now: now, reason: role == .controlling ? "dialing the peer" : "accepting the peer")
  }

  private mutating func restart(now: Instant, reason: String) {
    actions.append(.closeAgent)
    transition(to: .closed, now: now, reason: reason)
    restarts += 1
    becomeIdle(now: now, reason: "restart: new agent and credentials")
  }

  private mutating func becomeIdle(now: Instant, reason: String) {
    let credentials = ICECredentials.random(using: &random)
    localCredentials = credentials
    remoteCredentials = nil
    earlyCandidates = []
    seenRemoteCandidates = []
    hasLocalCandidate = false
    hasRemoteCandidate = false
    disconnectedSince = nil
    actions.append(.createAgent(credentials, role))
    transition(to: .idle, now: now, reason: reason)
    sendCredentials(needCreds: true)
    credentialsInterval = configuration.credentialsInitialInterval
    nextCredentials = now + jittered(credentialsInterval)
  }

  private mutating func sendCredentials(needCreds: Bool) {
    guard let local = localCredentials else { return }
    var message = Cunicu_Signaling_Message()
    message.credentials.ufrag = local.ufrag
    message.credentials.pwd = local.pwd
    message.credentials.needCreds = needCreds
    actions.append(.send(message))
  }

  private mutating func transition(to newState: SessionState, now: Instant, reason: String) {
    guard newState != state else { return }
    actions.append(.transition(from: state, to: newState, reason: reason))
    state = newState
    stateSince = now
  }

  /// `interval` ± `credentialsRandomization` (session.md: ±50 %).
  private mutating func jittered(_ interval: Duration) -> Duration {
    let spread = configuration.credentialsRandomization
    let factor = 1 - spread + 2 * spread * Double(random.next() % 1_000_001) / 1_000_000
    return interval * factor
  }
}
