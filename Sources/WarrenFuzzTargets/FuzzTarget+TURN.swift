internal import WarrenPrimitives
internal import WarrenSTUN
internal import WarrenTURN

extension FuzzTarget {
  /// Answers from a TURN server (RFC 8656) to a client that has asked for an allocation: each
  /// step is a control byte and one datagram. Control bits: 1 signs the datagram (when it parses)
  /// with the long-term key, as the server would (its realm is the datagram's REALM, else the
  /// last one seen), and adds a FINGERPRINT; 2 gives it the transaction id of the client's latest
  /// request; 4 then asks the client to bind a channel to a peer and send it data; the high five
  /// bits advance the clock by that many 100 ms first.
  static let turn = FuzzTarget(name: "turn", summary: "answers and data from a TURN server") { bytes in
    var script = FuzzScript(bytes)
    let username = "fuzz"
    let password = "fuzz-password"
    let peer = TransportAddress(ip: TransportAddress.IP("203.0.113.7")!, port: 7000)
    var client = TURNClient(configuration: TURNClient.Configuration(username: username, password: password), seed: 1)
    var now = ContinuousClock.now
    client.allocate(now: now)
    var latestRequest: STUNTransactionID?
    var realm = "fuzz-realm"
    var outcome = Outcome.refused
    func drain() {
      while let sent = client.pollTransmit() {
        if let request = try? STUNMessage(parsing: sent), request.messageClass == .request {
          latestRequest = request.transactionID
        }
      }
      while client.pollEvent() != nil {}
    }
    drain()
    while let control = script.byte() {
      now = now.advanced(by: .milliseconds(100 * Int(control >> 3)))
      client.handleTimeout(now: now)
      var datagram = script.chunk()
      if var message = try? STUNMessage(parsing: datagram) {
        outcome = .accepted
        if let announced = try? message.realm { realm = announced }
        if control & 2 != 0, let latestRequest { message.transactionID = latestRequest }
        if control & 1 != 0 {
          message.attributes.removeAll { $0.type == .messageIntegrity || $0.type == .fingerprint }
          let key = STUNMessage.longTermKey(username: username, realm: realm, password: password)
          datagram = message.encoded(integrity: .sha1(key: key), fingerprint: true)
        } else if control & 2 != 0 {
          datagram = message.encoded()
        }
      } else if (try? ChannelData(parsing: datagram)) != nil {
        outcome = .accepted
      }
      _ = client.handleReceive(datagram, now: now)
      if control & 4 != 0 {
        client.bindChannel(to: peer, now: now)
        _ = client.send([1, 2, 3], to: peer, now: now)
      }
      drain()
    }
    return outcome
  }

  /// A ChannelData message (RFC 8656 §12.4) as the data path reads it: the header alone, then the
  /// whole message, which must encode back to the bytes it came from.
  static let channelData = FuzzTarget(name: "channel-data", summary: "one TURN ChannelData message") { bytes in
    let header = try? ChannelData.header(of: bytes)
    guard let message = try? ChannelData(parsing: bytes) else { return .refused }
    precondition(header?.0 == message.channel && header?.1 == message.data.count, "ChannelData's header and body disagree")
    let encoded = message.encoded()
    precondition(Array(bytes.prefix(encoded.count)) == encoded, "a parsed ChannelData message does not encode to its bytes")
    return .accepted
  }
}
