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
  public private(set) var role: ICERole
  public let tieBreaker: UInt64
  public private(set) var localCredentials: ICECredentials
  public private(set) var remoteCredentials: ICECredentials?
  public private(set) var state: ICEConnectionState = .new
  public private(set) var localCandidates: [Candidate] = []
  public private(set) var remoteCandidates: [Candidate] = []
  public private(set) var selectedPair: CandidatePair.ID?

  private var pairs: [CandidatePair.ID: CandidatePair] = [:]
  private var triggered: [CandidatePair.ID] = []
  private var transactions: [STUNTransactionID: Transaction] = [:]
  private var transmits: [Transmit] = []
  private var events: [ICEEvent] = []
  private var random: SplitMix64

  private var nextCheck: Instant?
  private var checkingSince: Instant?
  /// Which pair the controlling side nominates (RFC 8445 §8.1.1).
  private var nomination: any NominationPolicy
  private var nextConsent: Instant?
  private var lastConsent: Instant?
  private var lastSent: Instant?

  private struct Transaction: Sendable {
    enum Kind: Equatable {
      case check
      case consent
      /// A `probe(_:timeout:now:)`: sent once, never retransmitted, answered or lost.
      case probe(UInt64)
    }
    let kind: Kind
    let pair: CandidatePair.ID
    let bytes: [UInt8]
    let useCandidate: Bool
    let role: ICERole
    let priority: UInt32
    let firstSent: Instant
    var sent: Int
    var deadline: Instant
  }

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
  }

  /// Adds a remote candidate (trickled at any time, before, during or after checks).
  public mutating func addRemoteCandidate(_ candidate: Candidate, now: Instant) {
    if let index = remoteCandidates.firstIndex(where: { $0.address == candidate.address }) {
      // A signaled candidate replaces the peer-reflexive one learned from a check.
      if remoteCandidates[index].type == .peerReflexive && candidate.type != .peerReflexive {
        remoteCandidates[index] = candidate
        for id in pairs.keys where id.remote == candidate.address { pairs[id]?.remote = candidate }
      }
      return
    }
    remoteCandidates.append(candidate)
    for local in localCandidates where pairsFrom(local) {
      addPair(local: local, remote: candidate)
    }
    startChecking(now: now)
  }

  /// ICE restart (RFC 8445 §9): new local credentials; remote credentials, candidates and pairs
  /// are forgotten, local candidates kept; the agent is New again.
  public mutating func restart(localCredentials: ICECredentials, now: Instant) {
    self.localCredentials = localCredentials
    remoteCredentials = nil
    remoteCandidates = []
    pairs = [:]
    triggered = []
    transactions = [:]
    selectedPair = nil
    nextCheck = nil
    checkingSince = nil
    nomination.reset()
    nextConsent = nil
    lastConsent = nil
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
    triggered = []
    nextCheck = nil
    nextConsent = nil
    setState(.closed)
  }

  /// Feeds a datagram that arrived at local base `local` from `remote`.
  public mutating func handleReceive(_ datagram: [UInt8], from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    guard state != .closed else { return }
    guard STUNMessage.isSTUN(datagram) else {
      receiveData(datagram, from: remote, to: local)
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
    retransmit(now: now)
    if state == .checking || state == .new, let since = checkingSince, selectedPair == nil,
      now - since >= configuration.checkingTimeout, !pairs.values.contains(where: { $0.state == .succeeded })
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
    if selectedPair != nil { maintainConsent(now: now) }
  }

  /// Sends an application datagram over the selected pair; `nil` before a pair is selected.
  public mutating func send(_ data: [UInt8], now: Instant) -> Transmit? {
    guard let id = selectedPair, state == .connected || state == .completed || state == .disconnected else { return nil }
    pairs[id]?.statistics.packetsSent += 1
    pairs[id]?.statistics.bytesSent += data.count
    lastSent = now
    return Transmit(from: id.local, to: id.remote, bytes: data)
  }

  /// Puts a transmit on the queue `pollTransmit` drains (for drivers that send application
  /// data from `send` along with everything else).
  public mutating func requeue(_ transmit: Transmit) {
    transmits.append(transmit)
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
    var deadlines: [Instant] = transactions.values.map(\.deadline)
    if let nextCheck { deadlines.append(nextCheck) }
    // Each deadline below is listed only while handleTimeout would act on it, so a deadline in
    // the past never makes the owner spin.
    let anySucceeded = pairs.values.contains { $0.state == .succeeded }
    if let since = checkingSince, selectedPair == nil, !anySucceeded {
      deadlines.append(since + configuration.checkingTimeout)
    }
    if role == .controlling, let due = nomination.deadline(pairs: Array(pairs.values), selected: selectedPair.flatMap { pairs[$0] }) {
      deadlines.append(due)
    }
    if selectedPair != nil {
      if let nextConsent { deadlines.append(nextConsent) }
      if let lastConsent {
        if state == .connected || state == .completed { deadlines.append(lastConsent + configuration.disconnectedTimeout) }
        deadlines.append(lastConsent + configuration.failedTimeout)
      }
      if let lastSent { deadlines.append(lastSent + configuration.keepaliveInterval) }
    }
    return deadlines.min()
  }

  /// Every pair, best first.
  public var checklist: [CandidatePair] {
    pairs.values.sorted { $0.priority(controlling: role == .controlling) > $1.priority(controlling: role == .controlling) }
  }

  public func pair(_ id: CandidatePair.ID) -> CandidatePair? { pairs[id] }

  // MARK: - Checks

  private mutating func addPair(local: Candidate, remote: Candidate) {
    guard local.address.ip.isIPv4 == remote.address.ip.isIPv4 else { return }
    let pair = CandidatePair(local: local, remote: remote)
    guard pairs[pair.id] == nil else { return }
    pairs[pair.id] = pair
    // Keep the checklist to 100 pairs (RFC 8445 §6.1.2.5): drop the lowest-priority waiting one.
    if pairs.count > 100, let worst = checklist.last(where: { $0.state == .waiting }) { pairs[worst.id] = nil }
  }

  private mutating func startChecking(now: Instant) {
    guard remoteCredentials != nil, !pairs.isEmpty, state != .closed, state != .failed else { return }
    if state == .new {
      setState(.checking)
      checkingSince = now
    }
    if nextCheck == nil { nextCheck = now }
  }

  /// Sends one check: a triggered one first, else the best waiting pair (RFC 8445 §6.1.4.2).
  private mutating func sendNextCheck(now: Instant) -> Bool {
    guard remoteCredentials != nil else { return false }
    while !triggered.isEmpty {
      let id = triggered.removeFirst()
      if let pair = pairs[id], pair.state != .failed || pair.nominated {
        sendCheck(on: id, useCandidate: wantsNomination(id), now: now)
        return true
      }
    }
    if let next = checklist.first(where: { $0.state == .waiting }) {
      sendCheck(on: next.id, useCandidate: false, now: now)
      return true
    }
    return false
  }

  private func wantsNomination(_ id: CandidatePair.ID) -> Bool {
    role == .controlling && pairs[id]?.nominated == true
  }

  private mutating func sendCheck(
    on id: CandidatePair.ID, useCandidate: Bool, now: Instant, kind: Transaction.Kind = .check, timeout: Duration? = nil
  ) {
    guard let remote = remoteCredentials, let pair = pairs[id] else { return }
    let transactionID = STUNTransactionID.random(using: &random)
    var request = STUNMessage(type: .init(.binding, .request), transactionID: transactionID)
    request.append(.username, text: "\(remote.ufrag):\(localCredentials.ufrag)")
    // PRIORITY is what a peer-reflexive candidate learned from this check would have (§7.1.1).
    let priority = Candidate.priority(type: .peerReflexive, localPreference: (pair.local.priority >> 8) & 0xffff, component: pair.local.component)
    request.append(.priority, uint32: priority)
    request.append(role == .controlling ? .iceControlling : .iceControlled, uint64: tieBreaker)
    if useCandidate { request.append(.useCandidate, []) }
    if !configuration.software.isEmpty { request.append(.software, text: configuration.software) }
    let bytes = request.encoded(integrity: .sha1(key: Array(remote.pwd.utf8)), fingerprint: true)
    transactions[transactionID] = Transaction(
      kind: kind, pair: id, bytes: bytes, useCandidate: useCandidate, role: role, priority: priority,
      firstSent: now, sent: 1, deadline: now + (timeout ?? configuration.initialRTO))
    if kind == .check, pairs[id]?.state != .succeeded { pairs[id]?.state = .inProgress }
    pairs[id]?.statistics.requestsSent += 1
    transmit(Transmit(from: id.local, to: id.remote, bytes: bytes), now: now)
  }

  private mutating func retransmit(now: Instant) {
    for (transactionID, transaction) in transactions where transaction.deadline <= now {
      if case .probe(let token) = transaction.kind {
        transactions[transactionID] = nil
        events.append(.probeLost(token: token))
        continue
      }
      if transaction.sent >= configuration.maxTransmissions {
        transactions[transactionID] = nil
        if transaction.kind == .check, pairs[transaction.pair]?.state == .inProgress {
          pairs[transaction.pair]?.state = .failed
        }
        continue
      }
      var updated = transaction
      updated.sent += 1
      updated.deadline = now + configuration.initialRTO * (1 << min(updated.sent - 1, 6))
      transactions[transactionID] = updated
      pairs[transaction.pair]?.statistics.requestsSent += 1
      transmit(Transmit(from: transaction.pair.local, to: transaction.pair.remote, bytes: transaction.bytes), now: now)
    }
  }

  private mutating func handleRequest(_ request: STUNMessage, from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    // USERNAME is "<our ufrag>:<their ufrag>"; integrity uses our password (RFC 8445 §7.3).
    guard let username = try? request.username, let colon = username.firstIndex(of: ":"),
      username[..<colon] == localCredentials.ufrag,
      request.verifyIntegrity(key: Array(localCredentials.pwd.utf8))
    else { return }
    let theirUfrag = username[username.index(after: colon)...]
    if let credentials = remoteCredentials, credentials.ufrag != theirUfrag { return }
    guard let localCandidate = localCandidates.first(where: { $0.base == local && pairsFrom($0) })
    else { return }

    // Role conflict (RFC 8445 §7.3.1.1).
    if role == .controlling, let theirs = try? request.iceControlling {
      if tieBreaker >= theirs {
        respond(to: request, from: local, to: remote, error: 487, now: now)
        return
      }
      switchRole(to: .controlled)
    } else if role == .controlled, let theirs = try? request.iceControlled {
      if tieBreaker >= theirs {
        switchRole(to: .controlling)
      } else {
        respond(to: request, from: local, to: remote, error: 487, now: now)
        return
      }
    }

    // A source we have not been told about is a peer-reflexive candidate (§7.3.1.3).
    var remoteCandidate = remoteCandidates.first { $0.address == remote }
    if remoteCandidate == nil {
      let priority = (try? request.priority) ?? Candidate.priority(type: .peerReflexive, localPreference: 65535, component: 1)
      let learned = Candidate(type: .peerReflexive, address: remote, priority: priority, foundation: "prflx-\(remote.ip)")
      remoteCandidates.append(learned)
      remoteCandidate = learned
    }
    let id = CandidatePair.ID(local: local, remote: remote)
    if pairs[id] == nil { pairs[id] = CandidatePair(local: localCandidate, remote: remoteCandidate!) }
    pairs[id]?.statistics.requestsReceived += 1
    respond(to: request, from: local, to: remote, error: nil, now: now)

    // Triggered check (§7.3.1.4), unless the pair already works.
    if pairs[id]?.state != .succeeded {
      if pairs[id]?.state != .inProgress { pairs[id]?.state = .waiting }
      if !triggered.contains(id) { triggered.append(id) }
      startChecking(now: now)
      if nextCheck == nil { nextCheck = now }
    }
    // Nomination by the controlling peer (§7.3.1.5).
    if role == .controlled && request.useCandidate {
      pairs[id]?.nominated = true
      if pairs[id]?.state == .succeeded { select(id, now: now) }
    }
  }

  private mutating func respond(to request: STUNMessage, from local: TransportAddress, to remote: TransportAddress, error: Int?, now: Instant) {
    var response = STUNMessage(
      type: .init(.binding, error == nil ? .successResponse : .errorResponse), transactionID: request.transactionID)
    if let error {
      try? response.appendErrorCode(error, reason: error == 487 ? "Role Conflict" : "Bad Request")
    } else {
      response.append(.xorMappedAddress, address: remote, xor: true)
    }
    let bytes = response.encoded(integrity: .sha1(key: Array(localCredentials.pwd.utf8)), fingerprint: true)
    pairs[CandidatePair.ID(local: local, remote: remote)]?.statistics.responsesSent += 1
    transmit(Transmit(from: local, to: remote, bytes: bytes), now: now)
  }

  private mutating func handleResponse(_ response: STUNMessage, from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    guard let transaction = transactions[response.transactionID], let credentials = remoteCredentials,
      response.verifyIntegrity(key: Array(credentials.pwd.utf8))
    else { return }
    transactions[response.transactionID] = nil
    let id = transaction.pair
    // Responses must come back along the path the request took (§7.2.5.2.1).
    guard remote == id.remote, local == id.local else {
      if transaction.kind == .check { pairs[id]?.state = .failed }
      if case .probe(let token) = transaction.kind { events.append(.probeLost(token: token)) }
      return
    }
    pairs[id]?.statistics.responsesReceived += 1
    let rtt = now - transaction.firstSent
    pairs[id]?.statistics.currentRoundTripTime = rtt
    pairs[id]?.statistics.totalRoundTripTime += rtt

    if case .probe(let token) = transaction.kind {
      let answered = ICEEvent.probeAnswered(token: token, roundTripTime: rtt, pair: id)
      events.append(response.messageClass == .errorResponse ? .probeLost(token: token) : answered)
    }
    if response.messageClass == .errorResponse {
      if (try? response.errorCode)??.code == 487 {
        // Role conflict (§7.2.5.1): switch, unless we already did, and check again.
        if transaction.role == role { switchRole(to: role == .controlling ? .controlled : .controlling) }
        pairs[id]?.state = .waiting
        if !triggered.contains(id) { triggered.append(id) }
        if nextCheck == nil { nextCheck = now }
      } else if transaction.kind == .check {
        pairs[id]?.state = .failed
      }
      return
    }

    if transaction.kind != .check || selectedPair == id { lastConsent = now }
    if let mapped = try? response.xorMappedAddress, !localCandidates.contains(where: { $0.address == mapped }) {
      // A peer-reflexive local candidate (§7.2.5.3.1); its base is the pair's local base.
      localCandidates.append(Candidate(type: .peerReflexive, address: mapped, base: id.local, priority: transaction.priority))
    }
    let wasSucceeded = pairs[id]?.state == .succeeded
    pairs[id]?.state = .succeeded
    if !wasSucceeded, let pair = pairs[id] { nomination.pairSucceeded(pair, now: now) }
    if !wasSucceeded, role == .controlled, pairs[id]?.nominated == true { select(id, now: now) }
    if transaction.useCandidate && role == .controlling { select(id, now: now) }
    // Nominate as soon as a pair works rather than at the next pacing tick: the nominating check
    // goes out now (a direct pair at once, a relayed one after its grace period).
    if !wasSucceeded, role == .controlling { nominateIfReady(now: now) }
  }

  /// Controlling side (§8.1.1): nominates what the policy names, with a check that carries
  /// USE-CANDIDATE; the pair is selected when that check succeeds.
  private mutating func nominateIfReady(now: Instant) {
    guard role == .controlling, remoteCredentials != nil else { return }
    guard let id = nomination.pairToNominate(checklist: checklist, selected: selectedPair.flatMap { pairs[$0] }, now: now)
    else { return }
    pairs[id]?.nominated = true
    sendCheck(on: id, useCandidate: true, now: now)
  }

  private mutating func select(_ id: CandidatePair.ID, now: Instant) {
    guard selectedPair != id, let pair = pairs[id] else { return }
    selectedPair = id
    lastConsent = now
    nextConsent = now + jittered(consentCadence)
    events.append(.selectedPairChanged(pair))
    setState(role == .controlling ? .completed : .connected)
  }

  /// Consent freshness (RFC 7675 §5.1) and keepalives on the selected pair.
  private mutating func maintainConsent(now: Instant) {
    guard let id = selectedPair else { return }
    if let due = nextConsent, now >= due {
      sendCheck(on: id, useCandidate: false, now: now, kind: .consent)
      nextConsent = now + jittered(consentCadence)
    }
    if let last = lastConsent {
      if now - last >= configuration.failedTimeout {
        setState(.failed)
        transactions = [:]
        return
      }
      if now - last >= configuration.disconnectedTimeout {
        setState(.disconnected)
      } else if state == .disconnected {
        setState(role == .controlling ? .completed : .connected)
      }
    }
    if let sent = lastSent, now - sent >= configuration.keepaliveInterval {
      let indication = STUNMessage(type: .init(.binding, .indication), transactionID: .random(using: &random))
      transmit(Transmit(from: id.local, to: id.remote, bytes: indication.encoded(fingerprint: true)), now: now)
    }
  }

  private mutating func receiveData(_ datagram: [UInt8], from remote: TransportAddress, to local: TransportAddress) {
    if acceptData(count: datagram.count, from: remote, to: local) { events.append(.data(datagram, from: remote)) }
  }

  /// For drivers that hand application data on directly rather than as `.data` events: whether a
  /// datagram that is not STUN (see `STUNMessage.isSTUN`), of `count` bytes from `remote` at
  /// `local`, came over a valid pair and should be delivered. It is counted if so.
  public mutating func acceptData(count: Int, from remote: TransportAddress, to local: TransportAddress) -> Bool {
    guard state != .closed else { return false }
    let id = CandidatePair.ID(local: local, remote: remote)
    guard pairs[id]?.state == .succeeded || selectedPair == id else { return false }
    pairs[id]?.statistics.packetsReceived += 1
    pairs[id]?.statistics.bytesReceived += count
    return true
  }

  private mutating func transmit(_ transmit: Transmit, now: Instant) {
    transmits.append(transmit)
    if transmit.from == selectedPair?.local && transmit.to == selectedPair?.remote { lastSent = now }
  }

  private mutating func switchRole(to newRole: ICERole) {
    guard role != newRole else { return }
    role = newRole
    events.append(.roleChanged(newRole))
  }

  private mutating func setState(_ newState: ICEConnectionState) {
    guard state != newState else { return }
    state = newState
    events.append(.stateChanged(newState))
  }

  /// Whether checks go out from this local candidate: host and relayed ones (a server-reflexive
  /// candidate's checks leave from its host base, RFC 8445 §6.1.2.4), relayed ones only under
  /// `relayOnly`.
  private func pairsFrom(_ candidate: Candidate) -> Bool {
    candidate.type == .relay || (candidate.type == .host && !configuration.relayOnly)
  }

  /// How often consent checks go out: the configured interval, but at most 40 % of the
  /// disconnected timeout, so that jitter (up to +20 %) or one lost answer never leaves the
  /// selected pair without a fresh answer for that long on a healthy path.
  private var consentCadence: Duration {
    min(configuration.consentInterval, configuration.disconnectedTimeout * 0.4)
  }

  /// `interval` ± 20 % (RFC 7675 §5.1).
  private mutating func jittered(_ interval: Duration) -> Duration {
    let factor = 0.8 + 0.4 * Double(random.next() % 1_000_001) / 1_000_000
    return interval * factor
  }
}
