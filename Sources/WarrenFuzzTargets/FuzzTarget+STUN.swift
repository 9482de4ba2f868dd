internal import WarrenICE
internal import WarrenPrimitives
internal import WarrenSTUN

extension FuzzTarget {
  /// A STUN message (RFC 8489): parsed, every attribute read the way the agent and the TURN
  /// client read it, integrity and fingerprint checked; what parsed must encode and parse again
  /// to the same message.
  static let stun = FuzzTarget(name: "stun", summary: "one STUN message as a datagram brings it") { bytes in
    guard let message = try? STUNMessage(parsing: bytes) else { return .refused }
    _ = message.verifyIntegrity(key: Array("fuzz-password".utf8))
    _ = message.fingerprintMatches
    _ = try? message.xorMappedAddress
    _ = try? message.mappedAddress
    _ = try? message.xorRelayedAddress
    _ = try? message.xorPeerAddress
    _ = try? message.username
    _ = try? message.realm
    _ = try? message.nonce
    _ = try? message.software
    _ = try? message.priority
    _ = try? message.lifetime
    _ = try? message.iceControlling
    _ = try? message.iceControlled
    _ = try? message.errorCode
    _ = try? message.unknownAttributes
    _ = message.unknownComprehensionRequired(known: [.username, .messageIntegrity, .fingerprint])
    let again: STUNMessage
    do { again = try STUNMessage(parsing: message.encoded()) } catch {
      preconditionFailure("a parsed STUN message does not parse once encoded again: \(error)")
    }
    precondition(
      again.type == message.type && again.transactionID == message.transactionID && again.attributes == message.attributes,
      "a parsed STUN message changed when encoded and parsed again")
    return .accepted
  }

  /// Datagrams from a remote ICE agent, to an agent whose checks have started (RFC 8445 §7): each
  /// step is a control byte and one datagram. The first byte picks the role (bit 4: controlling).
  /// Control bits: 1 signs the datagram (when it parses) as the peer would, a request with the
  /// local password and an answer with the remote one, and adds a FINGERPRINT; 2 gives it the
  /// transaction id of the agent's latest request (to answer it); the high five bits advance the
  /// clock by that many 100 ms first.
  static let iceAgent = FuzzTarget(name: "ice-agent", summary: "STUN checks and data from a remote ICE agent") { bytes in
    var script = FuzzScript(bytes)
    let local = TransportAddress(ip: TransportAddress.IP("10.0.0.1")!, port: 5000)
    let remote = TransportAddress(ip: TransportAddress.IP("10.0.0.2")!, port: 6000)
    let ours = ICECredentials(ufrag: "lfrg", pwd: "local-password-0123456789")
    let theirs = ICECredentials(ufrag: "rfrg", pwd: "remote-password-0123456789")
    let controlling = (script.byte() ?? 0) & 4 != 0
    var agent = ICEAgent(role: controlling ? .controlling : .controlled, localCredentials: ours, seed: 1)
    var now = ContinuousClock.now
    agent.addLocalCandidate(Candidate(type: .host, address: local), now: now)
    agent.addRemoteCandidate(Candidate(type: .host, address: remote), now: now)
    agent.setRemoteCredentials(theirs, now: now)
    var latestRequest: STUNTransactionID?
    var outcome = Outcome.refused
    func drain() {
      while let transmit = agent.pollTransmit() {
        if let sent = try? STUNMessage(parsing: transmit.bytes), sent.messageClass == .request {
          latestRequest = sent.transactionID
        }
      }
      while agent.pollEvent() != nil {}
    }
    drain()
    while let control = script.byte() {
      now = now.advanced(by: .milliseconds(100 * Int(control >> 3)))
      agent.handleTimeout(now: now)
      var datagram = script.chunk()
      if var message = try? STUNMessage(parsing: datagram) {
        outcome = .accepted
        if control & 2 != 0, let latestRequest { message.transactionID = latestRequest }
        if control & 1 != 0 {
          message.attributes.removeAll { $0.type == .messageIntegrity || $0.type == .fingerprint }
          let password = message.messageClass == .request || message.messageClass == .indication ? ours.pwd : theirs.pwd
          datagram = message.encoded(integrity: .sha1(key: Array(password.utf8)), fingerprint: true)
        } else if control & 2 != 0 {
          datagram = message.encoded()
        }
      }
      agent.handleReceive(datagram, from: remote, to: local, now: now)
      drain()
    }
    return outcome
  }
}
