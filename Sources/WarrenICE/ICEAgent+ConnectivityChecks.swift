internal import WarrenSTUN
internal import WarrenPrimitives

/// Connectivity checks (RFC 8445 §7): pacing, sending and retransmitting Binding requests,
/// answering the peer's, learning peer-reflexive candidates, and resolving role conflicts.

extension ICEAgent {
  struct Transaction: Sendable {
    enum Kind: Equatable {
      case check
      case consent
      /// A `probe(_:timeout:now:)`: sent once, never retransmitted, answered or lost.
      case probe(UInt64)
      /// A fast check while traffic flows (``PathLiveness``): sent once; past its timeout it
      /// counts as missed, and an answer that comes later (before `deadline`) still counts.
      case liveness
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
    /// A liveness check past its timeout, kept a while for a late answer.
    var missed = false
  }


  mutating func startChecking(now: Instant) {
    guard remoteCredentials != nil, !checkList.isEmpty, state != .closed, state != .failed else { return }
    if state == .new {
      setState(.checking)
      checkingSince = now
    }
    if nextCheck == nil { nextCheck = now }
  }

  /// Sends one check: a triggered one first, else the best waiting pair (RFC 8445 §6.1.4.2).
  mutating func sendNextCheck(now: Instant) -> Bool {
    guard remoteCredentials != nil else { return false }
    if let id = checkList.nextTriggered() {
      sendCheck(on: id, useCandidate: wantsNomination(id), now: now)
      return true
    }
    if let next = checkList.nextWaiting(controlling: role == .controlling) {
      sendCheck(on: next.id, useCandidate: false, now: now)
      return true
    }
    return false
  }

  func wantsNomination(_ id: CandidatePair.ID) -> Bool {
    role == .controlling && checkList[id]?.nominated == true
  }

  mutating func sendCheck(
    on id: CandidatePair.ID, useCandidate: Bool, now: Instant, kind: Transaction.Kind = .check, timeout: Duration? = nil
  ) {
    guard let remote = remoteCredentials, let pair = checkList[id] else { return }
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
    if kind == .check, checkList[id]?.state != .succeeded { checkList[id]?.state = .inProgress }
    checkList[id]?.statistics.requestsSent += 1
    transmit(Transmit(from: id.local, to: id.remote, bytes: bytes), now: now)
  }

  mutating func retransmit(now: Instant) {
    var missed: [CandidatePair.ID] = []
    defer {
      // After the loop: a verdict on a pair may drop every transaction.
      for pair in missed { livenessCheckMissed(on: pair, now: now) }
    }
    for (transactionID, transaction) in transactions where transaction.deadline <= now {
      if transaction.kind == .liveness {
        if transaction.missed {
          transactions[transactionID] = nil
        } else {
          // Kept for a late answer, which still proves the pair alive and measures its delay.
          var kept = transaction
          kept.missed = true
          kept.deadline = transaction.firstSent + configuration.livenessMaximumTimeout * 2
          transactions[transactionID] = kept
          missed.append(transaction.pair)
        }
        continue
      }
      if case .probe(let token) = transaction.kind {
        transactions[transactionID] = nil
        events.append(.probeLost(token: token))
        continue
      }
      if transaction.sent >= configuration.maxTransmissions {
        transactions[transactionID] = nil
        // A nomination that was never answered fails its pair even if an earlier check had
        // succeeded: otherwise the pair would count as a nomination in flight for ever.
        if transaction.kind == .check, checkList[transaction.pair]?.state == .inProgress || transaction.useCandidate {
          checkList[transaction.pair]?.state = .failed
        }
        continue
      }
      var updated = transaction
      updated.sent += 1
      updated.deadline = now + configuration.initialRTO * (1 << min(updated.sent - 1, 6))
      transactions[transactionID] = updated
      checkList[transaction.pair]?.statistics.requestsSent += 1
      transmit(Transmit(from: transaction.pair.local, to: transaction.pair.remote, bytes: transaction.bytes), now: now)
    }
  }

  mutating func handleRequest(_ request: STUNMessage, from remote: TransportAddress, to local: TransportAddress, now: Instant) {
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
      // Checks from an address the peer never signaled, after the selection: it moved.
      watch(now: now)
      // The peer's new address is a candidate like a signaled one: paired with this side's other
      // candidates too (as pion and libnice do), not only the base it reached. A peer behind a
      // NAT that rebooted reaches only this side's relay at first (this side's NAT filters its
      // new mapping); this side's host socket answering from the new pair opens the direct path.
      for other in localCandidates where other.base != local && pairsFrom(other) { addPair(local: other, remote: learned) }
    }
    let id = CandidatePair.ID(local: local, remote: remote)
    if checkList[id] == nil { checkList[id] = CandidatePair(local: localCandidate, remote: remoteCandidate!) }
    checkList[id]?.statistics.requestsReceived += 1
    respond(to: request, from: local, to: remote, error: nil, now: now)

    // Triggered check (§7.3.1.4), unless the pair already works.
    if checkList[id]?.state != .succeeded {
      if checkList[id]?.state != .inProgress { checkList[id]?.state = .waiting }
      checkList.trigger(id)
      startChecking(now: now)
      if nextCheck == nil { nextCheck = now }
    }
    // Nomination by the controlling peer (§7.3.1.5).
    if role == .controlled && request.useCandidate {
      checkList[id]?.nominated = true
      if checkList[id]?.state == .succeeded { select(id, now: now) }
    }
  }

  mutating func respond(to request: STUNMessage, from local: TransportAddress, to remote: TransportAddress, error: Int?, now: Instant) {
    var response = STUNMessage(
      type: .init(.binding, error == nil ? .successResponse : .errorResponse), transactionID: request.transactionID)
    if let error {
      try? response.appendErrorCode(error, reason: error == 487 ? "Role Conflict" : "Bad Request")
    } else {
      response.append(.xorMappedAddress, address: remote, xor: true)
    }
    let bytes = response.encoded(integrity: .sha1(key: Array(localCredentials.pwd.utf8)), fingerprint: true)
    checkList[CandidatePair.ID(local: local, remote: remote)]?.statistics.responsesSent += 1
    transmit(Transmit(from: local, to: remote, bytes: bytes), now: now)
  }

  mutating func handleResponse(_ response: STUNMessage, from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    guard let transaction = transactions[response.transactionID], let credentials = remoteCredentials,
      response.verifyIntegrity(key: Array(credentials.pwd.utf8))
    else { return }
    transactions[response.transactionID] = nil
    let id = transaction.pair
    // Responses must come back along the path the request took (§7.2.5.2.1).
    guard remote == id.remote, local == id.local else {
      if transaction.kind == .check { checkList[id]?.state = .failed }
      if case .probe(let token) = transaction.kind { events.append(.probeLost(token: token)) }
      return
    }
    checkList[id]?.statistics.responsesReceived += 1
    let rtt = now - transaction.firstSent
    // Karn's rule (RFC 6298 §3): an answer to a retransmitted request may answer any of its
    // copies, so it measures nothing — a check retransmitted across an outage would otherwise
    // report the outage as the path's round-trip time.
    let measured = transaction.sent == 1 ? rtt : nil
    if let measured {
      checkList[id]?.statistics.currentRoundTripTime = measured
      checkList[id]?.statistics.totalRoundTripTime += measured
    }

    if case .probe(let token) = transaction.kind {
      let answered = ICEEvent.probeAnswered(token: token, roundTripTime: rtt, pair: id)
      events.append(response.messageClass == .errorResponse ? .probeLost(token: token) : answered)
    }
    if response.messageClass == .errorResponse {
      if (try? response.errorCode)??.code == 487 {
        // Role conflict (§7.2.5.1): switch, unless we already did, and check again.
        if transaction.role == role { switchRole(to: role == .controlling ? .controlled : .controlling) }
        checkList[id]?.state = .waiting
        checkList.trigger(id)
        if nextCheck == nil { nextCheck = now }
      } else if transaction.kind == .check {
        checkList[id]?.state = .failed
      } else if transaction.kind == .liveness, !transaction.missed {
        livenessCheckMissed(on: id, now: now)
      }
      return
    }

    if selectedPair == id { consent.answered(now: now) }
    checkList[id]?.statistics.lastResponseReceived = now
    if let mapped = try? response.xorMappedAddress, !localCandidates.contains(where: { $0.address == mapped }) {
      // A peer-reflexive local candidate (§7.2.5.3.1); its base is the pair's local base.
      localCandidates.append(Candidate(type: .peerReflexive, address: mapped, base: id.local, priority: transaction.priority))
    }
    let wasSucceeded = checkList[id]?.state == .succeeded
    checkList[id]?.state = .succeeded
    if !wasSucceeded, let pair = checkList[id] { nomination.pairSucceeded(pair, now: now) }
    if !wasSucceeded, role == .controlled, checkList[id]?.nominated == true { select(id, now: now) }
    if transaction.useCandidate && role == .controlling { select(id, now: now) }
    livenessAnswered(on: id, roundTripTime: measured, now: now)
    // Nominate as soon as a pair works rather than at the next pacing tick: the nominating check
    // goes out now (a direct pair at once, a relayed one after its grace period).
    if !wasSucceeded, role == .controlling { nominateIfReady(now: now) }
  }

  mutating func switchRole(to newRole: ICERole) {
    guard role != newRole else { return }
    role = newRole
    events.append(.roleChanged(newRole))
  }
}
