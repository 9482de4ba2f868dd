internal import WarrenSTUN
public import WarrenPrimitives

/// A sans-IO ICE agent for one data stream with one component (RFC 8445, with trickle per
/// RFC 8838 and consent freshness per RFC 7675).
///
/// It owns no socket and reads no clock: the owner feeds it datagrams (`handleReceive`), remote
/// candidates and the current time (`handleTimeout`), and drains what to send (`pollTransmit`),
/// what happened (`pollEvent`) and when to call again (`pollTimeout`). Gathering happens outside:
/// the owner adds local candidates as it finds them.
public struct ICEAgent: Sendable {
  public typealias Instant = ContinuousClock.Instant

  public let configuration: ICEConfiguration
  public internal(set) var role: ICERole
  public let tieBreaker: UInt64
  public internal(set) var localCredentials: ICECredentials
  public internal(set) var remoteCredentials: ICECredentials?
  public internal(set) var state: ICEConnectionState = .new
  public internal(set) var localCandidates: [Candidate] = []
  public internal(set) var remoteCandidates: [Candidate] = []
  public internal(set) var selectedPair: CandidatePair.ID?

  /// The pairs and the triggered-check queue (RFC 8445 §6.1.2).
  var checkList = CheckList()
  var transactions: [STUNTransactionID: Transaction] = [:]
  var transmits: [Transmit] = []
  var events: [ICEEvent] = []
  var random: SplitMix64

  var nextCheck: Instant?
  var checkingSince: Instant?
  /// When failed direct pairs are checked again while a relayed pair is selected.
  var nextDirectRecheck: Instant?
  /// After this side nominated a second pair: whether the peer followed, not yet decided.
  var renominationFollowUp: RenominationFollowUp?
  /// Whether the peer follows renominations: seen after this side's last one, or told by the
  /// owner beforehand (`nil`: not known). When it does not, a selected pair that dies under
  /// traffic fails the agent at once rather than handing over to the standby (path survival).
  public var peerFollowsRenomination: Bool?
  /// Which pair the controlling side nominates (RFC 8445 §8.1.1).
  var nomination: any NominationPolicy
  /// Consent freshness and keepalives on the selected pair (RFC 7675).
  var consent = ConsentFreshness()
  /// Fast checks while traffic flows, and the standby pair (path survival).
  var liveness = PathLiveness()
  /// Traffic started while the owner's timer was armed for a later deadline (``takeWakeRequest()``).
  var wakeRequested = false

  /// - Parameters:
  ///   - nomination: how the controlling side nominates (``RegularNomination`` with the
  ///     configuration's relay grace period when `nil`).
  ///   - seed: seeds transaction ids and jitter (pass a random one in production).
  public init(
    role: ICERole, localCredentials: ICECredentials, configuration: ICEConfiguration = ICEConfiguration(),
    nomination: (any NominationPolicy)? = nil, seed: UInt64
  ) {
    self.role = role
    self.localCredentials = localCredentials
    self.configuration = configuration
    self.nomination = nomination ?? RegularNomination(relayGracePeriod: configuration.relayNominationDelay)
    var random = SplitMix64(seed: seed)
    tieBreaker = random.next()
    self.random = random
  }

  // MARK: - Inputs

  /// Sets the remote credentials (from signaling). Checks can start once they and a pair exist.
  public mutating func setRemoteCredentials(_ credentials: ICECredentials, now: Instant) {
    remoteCredentials = credentials
    startChecking(now: now)
  }

  /// Adds a local candidate the owner gathered. Host and relayed candidates are paired; a
  /// server-reflexive one is only signaled, its base (a host candidate) carries its checks
  /// (RFC 8445 §6.1.2.4).
  public mutating func addLocalCandidate(_ candidate: Candidate, now: Instant) {
    guard !localCandidates.contains(where: { $0.address == candidate.address && $0.base == candidate.base }) else { return }
    localCandidates.append(candidate)
    guard pairsFrom(candidate) else { return }
    for remote in remoteCandidates { addPair(local: candidate, remote: remote) }
    startChecking(now: now)
    watch(now: now)
  }

  /// Adds a remote candidate (trickled at any time, before, during or after checks).
  public mutating func addRemoteCandidate(_ candidate: Candidate, now: Instant) {
    if let index = remoteCandidates.firstIndex(where: { $0.address == candidate.address }) {
      // A signaled candidate replaces the peer-reflexive one learned from a check.
      if remoteCandidates[index].type == .peerReflexive && candidate.type != .peerReflexive {
        remoteCandidates[index] = candidate
        checkList.replaceRemote(with: candidate)
      }
      return
    }
    remoteCandidates.append(candidate)
    for local in localCandidates where pairsFrom(local) {
      addPair(local: local, remote: candidate)
    }
    startChecking(now: now)
    // A candidate after the selection: the peer's network may have changed.
    watch(now: now)
  }

  /// ICE restart (RFC 8445 §9): new local credentials; remote credentials, candidates and pairs
  /// are forgotten, local candidates kept; the agent is New again.
  public mutating func restart(localCredentials: ICECredentials, now: Instant) {
    self.localCredentials = localCredentials
    remoteCredentials = nil
    remoteCandidates = []
    checkList.removeAll()
    transactions = [:]
    selectedPair = nil
    nextCheck = nil
    checkingSince = nil
    nextDirectRecheck = nil
    nomination.reset()
    consent.forget()
    liveness.forget()
    localCandidates.removeAll { $0.type == .peerReflexive }
    setState(.new)
  }

  /// Sends one probe over the selected pair: a Binding request like a consent check (RFC 7675
  /// §5.1), which any ICE agent answers. `.probeAnswered` reports its round-trip time, or
  /// `.probeLost` once `timeout` passed without an answer. Never retransmitted, so a lost probe is
  /// a lost datagram. Returns false when no pair is selected.
  public mutating func probe(_ token: UInt64, timeout: Duration, now: Instant) -> Bool {
    guard let id = selectedPair, state != .failed, state != .closed else { return false }
    sendCheck(on: id, useCandidate: false, now: now, kind: .probe(token), timeout: timeout)
    return true
  }

  /// Closes the agent: nothing more is sent.
  public mutating func close() {
    transactions = [:]
    checkList.clearTriggered()
    nextCheck = nil
    nextDirectRecheck = nil
    consent.stopChecks()
    liveness.forget()
    setState(.closed)
  }

  /// Feeds a datagram that arrived at local base `local` from `remote`.
  public mutating func handleReceive(_ datagram: [UInt8], from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    guard state != .closed else { return }
    guard STUNMessage.isSTUN(datagram) else {
      receiveData(datagram, from: remote, to: local, now: now)
      return
    }
    guard let message = try? STUNMessage(parsing: datagram), message.fingerprintMatches != false else { return }
    switch message.messageClass {
    case .request where message.method == .binding:
      handleRequest(message, from: remote, to: local, now: now)
    case .successResponse, .errorResponse:
      handleResponse(message, from: remote, to: local, now: now)
    default:
      break  // Binding indications are keepalives; nothing to do.
    }
  }

  /// Runs every timer that is due at `now`.
  public mutating func handleTimeout(now: Instant) {
    guard state != .closed && state != .failed else { return }
    if let due = pollTimeout(), now - due >= configuration.suspensionThreshold {
      resumed(after: now - due, now: now)
      if state == .failed { return }
    }
    retransmit(now: now)
    // A dead path toward a peer that cannot follow a renomination fails the agent right there.
    guard state != .failed else { return }
    if state == .checking || state == .new, let since = checkingSince, selectedPair == nil,
      now - since >= configuration.checkingTimeout, !checkList.anySucceeded
    {
      setState(.failed)
      return
    }
    if let due = nextCheck, now >= due {
      if sendNextCheck(now: now) {
        nextCheck = now + configuration.checkInterval
      } else {
        nextCheck = nil
      }
    }
    nominateIfReady(now: now)
    if selectedPair != nil {
      maintainConsent(now: now)
      if state == .failed { return }
      maintainLiveness(now: now)
    }
    recheckDirectPairsIfDue(now: now)
    checkRenominationFollowUpIfDue(now: now)
  }

  /// The pair an application datagram of `byteCount` bytes goes over (counted as sent on it),
  /// for drivers that write it themselves without handing the bytes over; `nil` before a pair
  /// is selected.
  public mutating func route(byteCount: Int, now: Instant) -> CandidatePair.ID? {
    guard let id = selectedPair, state == .connected || state == .completed || state == .disconnected else { return nil }
    checkList.countSent(byteCount: byteCount, on: id)
    consent.sent(now: now)
    if liveness.noteTraffic(now: now, window: configuration.trafficWindow) { wakeRequested = true }
    return id
  }

  /// Application traffic to the peer that the owner carries without the agent (WireGuard on the
  /// kernel data path, read from its counters): the selected pair is checked fast while it flows,
  /// as for data sent through ``route(byteCount:now:)``.
  public mutating func noteTraffic(now: Instant) {
    guard selectedPair != nil else { return }
    if liveness.noteTraffic(now: now, window: configuration.trafficWindow) { wakeRequested = true }
  }

  /// Whether traffic started since the last call: the first fast check is due now, earlier than
  /// the deadline the owner's timer is armed for (``route(byteCount:now:)`` moves no timer itself).
  public mutating func takeWakeRequest() -> Bool {
    defer { wakeRequested = false }
    return wakeRequested
  }

  // MARK: - Outputs

  public mutating func pollTransmit() -> Transmit? {
    transmits.isEmpty ? nil : transmits.removeFirst()
  }

  public mutating func pollEvent() -> ICEEvent? {
    events.isEmpty ? nil : events.removeFirst()
  }

  /// When `handleTimeout` must be called next, if anything is pending.
  public func pollTimeout() -> Instant? {
    guard state != .closed && state != .failed else { return nil }
    var earliest = EarliestDeadline()
    for transaction in transactions.values { earliest.consider(transaction.deadline) }
    earliest.consider(nextCheck)
    // Each deadline below is listed only while handleTimeout would act on it, so a deadline in
    // the past never makes the owner spin.
    if state == .checking || state == .new, let since = checkingSince, selectedPair == nil, !checkList.anySucceeded {
      earliest.consider(since + configuration.checkingTimeout)
    }
    // A policy's deadline is about the first nomination (a grace period), never after a selection.
    if role == .controlling, selectedPair == nil {
      earliest.consider(nomination.deadline(pairs: Array(checkList.all), selected: nil))
    }
    earliest.consider(nextDirectRecheck)
    earliest.consider(renominationFollowUp?.due)
    if selectedPair != nil {
      consent.consider(in: &earliest, connected: state == .connected || state == .completed, configuration: configuration)
      liveness.consider(in: &earliest)
    }
    return earliest.value
  }

  /// Every pair, best first.
  public var orderedPairs: [CandidatePair] { checkList.ordered(controlling: role == .controlling) }

  public func pair(_ id: CandidatePair.ID) -> CandidatePair? { checkList[id] }

  // MARK: - Checks

  mutating func addPair(local: Candidate, remote: Candidate) {
    checkList.add(local: local, remote: remote, controlling: role == .controlling, keeping: selectedPair)
  }

  // MARK: - Shared by the parts

  mutating func receiveData(_ datagram: [UInt8], from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    if acceptData(count: datagram.count, from: remote, to: local, now: now) { events.append(.data(datagram, from: remote)) }
  }

  /// For drivers that hand application data on directly rather than as `.data` events: whether a
  /// datagram that is not STUN (see `STUNMessage.isSTUN`), of `count` bytes from `remote` at
  /// `local`, came over a valid pair (or one the peer has checked) and should be delivered. It is
  /// counted if so.
  ///
  /// The peer's data on another pair than the selected one, while the selected pair's last fast
  /// check went unanswered, means the peer moved its traffic (its path died, or its address
  /// vanished): the pair takes over at once (path survival), without waiting for two more missed
  /// checks. The owner then drains events (``takeWakeRequest()`` says so).
  public mutating func acceptData(count: Int, from remote: TransportAddress, to local: TransportAddress, now: Instant) -> Bool {
    guard state != .closed else { return false }
    let id = CandidatePair.ID(local: local, remote: remote)
    // A valid pair, or one the peer checked with our password: a controlling peer that nominates
    // a new pair sends over it at once, before this side's own (triggered) check of it is back.
    let selected = selectedPair == id
    let accepted = checkList.countReceived(byteCount: count, on: id) { pair in
      pair.state == .succeeded || selected || pair.statistics.requestsReceived > 0
    }
    if accepted, !selected, liveness.misses > 0 || liveness.lost { peerMoved(to: id, now: now) }
    return accepted
  }

  mutating func transmit(_ transmit: Transmit, now: Instant) {
    transmits.append(transmit)
    if transmit.from == selectedPair?.local && transmit.to == selectedPair?.remote { consent.sent(now: now) }
  }

  mutating func setState(_ newState: ICEConnectionState) {
    guard state != newState else { return }
    state = newState
    events.append(.stateChanged(newState))
  }

  /// Whether checks go out from this local candidate: host and relayed ones (a server-reflexive
  /// candidate's checks leave from its host base, RFC 8445 §6.1.2.4), relayed ones only under
  /// `relayOnly`.
  func pairsFrom(_ candidate: Candidate) -> Bool {
    candidate.type == .relay || (candidate.type == .host && !configuration.relayOnly)
  }
}
