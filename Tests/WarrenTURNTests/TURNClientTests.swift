import Testing
import WarrenSTUN
import WarrenTURN
import WarrenPrimitives

/// A TURN server reduced to what RFC 8656 asks of it for one client, built on the real codec:
/// long-term credentials with realm and nonce (401, 438), Allocate, Refresh, CreatePermission,
/// ChannelBind, Send indications out and Data indications or ChannelData in.
final class FakeTURNServer {
  let realm = "warren.test"
  var nonce = "nonce-1"
  var password = "secret"
  let relayed = TransportAddress(ip: .init("203.0.113.50")!, port: 50000)
  let mapped = TransportAddress(ip: .init("198.51.100.7")!, port: 40000)
  var grantedLifetime: UInt32 = 600
  /// While true, requests get no answer.
  var silent = false
  var allocated = false
  var permissions: Set<TransportAddress.IP> = []
  var channels: [UInt16: TransportAddress] = [:]
  /// Datagrams the relay sent to peers.
  var relayedToPeers: [(peer: TransportAddress, data: [UInt8])] = []
  var requests: [STUNMethod] = []
  var lifetimes: [UInt32] = []

  /// Answers one datagram from the client.
  func handle(_ bytes: [UInt8]) -> [UInt8]? {
    if ChannelData.looksLikeChannelData(bytes) {
      if let message = try? ChannelData(parsing: bytes), let peer = channels[message.channel] { relayedToPeers.append((peer, message.data)) }
      return nil
    }
    guard let message = try? STUNMessage(parsing: bytes) else { return nil }
    if message.messageClass == .indication, message.method == .send {
      if let peer = try? message.xorPeerAddress, permissions.contains(peer.ip), let data = message.attribute(.data)?.value {
        relayedToPeers.append((peer, data))
      }
      return nil
    }
    guard message.messageClass == .request, !silent else { return nil }
    requests.append(message.method)
    let key = STUNMessage.longTermKey(username: "alice", realm: realm, password: password)
    guard (try? message.username) == "alice", (try? message.realm) == realm else {
      return error(message, 401, "Unauthorized", challenge: true)
    }
    guard message.verifyIntegrity(key: key) else { return error(message, 401, "Unauthorized", challenge: true) }
    guard (try? message.nonce) == nonce else { return error(message, 438, "Stale Nonce", challenge: true) }
    var response = STUNMessage(type: .init(message.method, .successResponse), transactionID: message.transactionID)
    switch message.method {
    case .allocate:
      guard !allocated else { return error(message, 437, "Allocation Mismatch") }
      allocated = true
      response.append(.xorRelayedAddress, address: relayed, xor: true)
      response.append(.xorMappedAddress, address: mapped, xor: true)
      response.append(.lifetime, uint32: grantedLifetime)
    case .refresh:
      guard allocated else { return error(message, 437, "Allocation Mismatch") }
      let asked = (try? message.lifetime) ?? nil ?? 600
      lifetimes.append(asked)
      if asked == 0 { allocated = false }
      response.append(.lifetime, uint32: min(asked, grantedLifetime))
    case .createPermission:
      guard let peer = try? message.xorPeerAddress else { return error(message, 400, "Bad Request") }
      permissions.insert(peer.ip)
    case .channelBind:
      guard let peer = try? message.xorPeerAddress, let value = message.attribute(.channelNumber)?.value, value.count == 4 else {
        return error(message, 400, "Bad Request")
      }
      channels[UInt16(value[0]) << 8 | UInt16(value[1])] = peer
      permissions.insert(peer.ip)
    default:
      return error(message, 400, "Bad Request")
    }
    return response.encoded(integrity: .sha1(key: key), fingerprint: true)
  }

  /// What a peer sending `data` to the relayed address causes the server to send the client.
  func fromPeer(_ peer: TransportAddress, _ data: [UInt8]) -> [UInt8]? {
    guard permissions.contains(peer.ip) else { return nil }
    if let channel = channels.first(where: { $0.value == peer })?.key {
      return ChannelData(channel: channel, data: data).encoded()
    }
    var random = SplitMix64(seed: 5)
    var indication = STUNMessage(type: .init(.data, .indication), transactionID: .random(using: &random))
    indication.append(.xorPeerAddress, address: peer, xor: true)
    indication.append(.data, data)
    return indication.encoded(fingerprint: true)
  }

  private func error(_ request: STUNMessage, _ code: Int, _ reason: String, challenge: Bool = false) -> [UInt8] {
    var response = STUNMessage(type: .init(request.method, .errorResponse), transactionID: request.transactionID)
    try? response.appendErrorCode(code, reason: reason)
    if challenge {
      response.append(.realm, text: realm)
      response.append(.nonce, text: nonce)
    }
    return response.encoded(fingerprint: true)
  }
}

/// A client and the fake server in virtual time: datagrams arrive at once; time moves only when
/// the test says so, straight to the next deadline.
struct Harness {
  var client: TURNClient
  let server = FakeTURNServer()
  var now = ContinuousClock.now
  var events: [TURNClient.Event] = []
  var sent = 0

  init(password: String = "secret", reliable: Bool = false) {
    var configuration = TURNClient.Configuration(username: "alice", password: password)
    configuration.software = ""
    configuration.reliable = reliable
    client = TURNClient(configuration: configuration, seed: 42)
  }

  /// Delivers everything pending until the client has nothing more to send.
  mutating func exchange() {
    while let bytes = client.pollTransmit() {
      sent += 1
      if let answer = server.handle(bytes) { client.handleReceive(answer, now: now) }
    }
    while let event = client.pollEvent() { events.append(event) }
  }

  /// Advances virtual time deadline by deadline until `limit` passed.
  mutating func advance(_ limit: Duration) {
    let end = now + limit
    exchange()
    while let deadline = client.pollTimeout(), deadline <= end {
      now = max(now, deadline)
      client.handleTimeout(now: now)
      exchange()
    }
    now = end
  }

  mutating func deliverFromPeer(_ peer: TransportAddress, _ data: [UInt8]) {
    if let bytes = server.fromPeer(peer, data) { client.handleReceive(bytes, now: now) }
    exchange()
  }
}

@Suite("TURN client in virtual time")
struct TURNClientTests {
  let peer = TransportAddress(ip: .init("198.51.100.20")!, port: 6000)

  @Test("allocate: 401 challenge, then credentials; the relayed and mapped addresses and the lifetime")
  func allocate() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    #expect(harness.server.requests == [.allocate, .allocate])
    #expect(harness.client.state == .allocated)
    #expect(harness.events == [.allocated(relayed: harness.server.relayed, mapped: harness.server.mapped, lifetime: .seconds(600))])
    #expect(harness.client.relayedAddress == harness.server.relayed)
  }

  @Test("data to a peer waits for its permission, then goes as Send indications; the peer's comes back as Data")
  func permissionAndIndications() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    let accepted = [harness.client.send([1, 2, 3], to: peer, now: harness.now), harness.client.send([4], to: peer, now: harness.now)]
    #expect(accepted == [true, true])
    harness.exchange()
    #expect(harness.server.requests.filter { $0 == .createPermission }.count == 1)
    #expect(harness.server.relayedToPeers.map(\.data) == [[1, 2, 3], [4]])
    #expect(harness.server.relayedToPeers.allSatisfy { $0.peer == peer })
    #expect(harness.events.contains(.permissionCreated(peer.ip)))
    harness.deliverFromPeer(peer, [9, 9])
    #expect(harness.events.last == .data([9, 9], from: peer))
  }

  @Test("permit opens the relay to a peer before anything is sent to it: once per address, same family, allocated only")
  func eagerPermission() {
    var harness = Harness()
    harness.client.permit(peer.ip, now: harness.now)  // no allocation yet: nothing
    harness.exchange()
    #expect(harness.server.requests.isEmpty)
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.client.permit(peer.ip, now: harness.now)
    harness.client.permit(peer.ip, now: harness.now)
    harness.client.permit(.init("2001:db8::20")!, now: harness.now)  // an IPv4 relay cannot reach it
    harness.exchange()
    #expect(harness.server.requests == [.allocate, .allocate, .createPermission])
    #expect(harness.events.contains(.permissionCreated(peer.ip)))
    // The peer's datagram is relayed to us although we never sent to it; our answer needs no
    // second permission.
    harness.deliverFromPeer(peer, [7])
    #expect(harness.events.last == .data([7], from: peer))
    harness.client.send([8], to: peer, now: harness.now)
    harness.exchange()
    #expect(harness.server.requests.filter { $0 == .createPermission }.count == 1)
    #expect(harness.server.relayedToPeers.map(\.data) == [[8]])
  }

  @Test("a bound channel carries data both ways as ChannelData; the data path may frame and read it itself")
  func channel() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.client.bindChannel(to: peer, now: harness.now)
    #expect(harness.client.boundChannel(to: peer) == nil)  // asked, not yet granted
    harness.exchange()
    #expect(harness.events.last == .channelBound(peer: peer, channel: 0x4000))
    #expect(harness.client.boundChannel(to: peer) == 0x4000)
    #expect(harness.client.peer(onChannel: 0x4000) == peer && harness.client.peer(onChannel: 0x4001) == nil)
    harness.client.send([7, 7, 7], to: peer, now: harness.now)
    harness.exchange()
    #expect(harness.server.relayedToPeers.last?.data == [7, 7, 7])
    #expect(harness.server.requests.filter { $0 == .createPermission }.isEmpty)  // the binding installed it
    harness.deliverFromPeer(peer, [5])
    #expect(harness.events.last == .data([5], from: peer))
  }

  @Test("refreshes: the allocation a minute before it expires, permissions every 240 s, channels every 540 s")
  func refreshes() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.client.bindChannel(to: peer, now: harness.now)
    harness.client.send([1], to: TransportAddress(ip: .init("198.51.100.30")!, port: 1), now: harness.now)
    harness.exchange()
    harness.server.requests = []
    harness.advance(.seconds(239))
    #expect(harness.server.requests.isEmpty)
    harness.advance(.seconds(2))  // 241 s
    #expect(harness.server.requests == [.createPermission, .createPermission])
    harness.advance(.seconds(300))  // 541 s
    #expect(harness.server.requests.filter { $0 == .refresh }.count == 1)
    #expect(harness.server.requests.filter { $0 == .channelBind }.count == 1)
    #expect(harness.events.contains(.refreshed(lifetime: .seconds(600))))
    harness.advance(.seconds(3600))
    #expect(harness.client.state == .allocated)
  }

  @Test("438 Stale Nonce: the new nonce is taken and the request repeated")
  func staleNonce() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.server.nonce = "nonce-2"
    harness.server.requests = []
    harness.advance(.seconds(541))
    #expect(harness.server.requests == [.refresh, .refresh])
    #expect(harness.client.state == .allocated)
    #expect(harness.events.contains(.refreshed(lifetime: .seconds(600))))
  }

  @Test("wrong credentials: a clear failure after the second 401, nothing more sent")
  func wrongPassword() throws {
    var harness = Harness(password: "guess")
    harness.client.allocate(now: harness.now)
    harness.exchange()
    #expect(harness.client.state == .failed)
    let reason = try #require(harness.events.compactMap { if case .failed(let reason) = $0 { reason } else { nil } }.first)
    #expect(reason.contains("401") && reason.contains("wrong username or password for realm 'warren.test'"))
    harness.advance(.seconds(60))
    #expect(harness.server.requests.count == 2)
  }

  @Test("a server that stops answering: Refresh retransmitted (RFC 8489 back-off) until the allocation expires")
  func serverGone() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.server.silent = true
    let before = harness.sent
    harness.advance(.seconds(540 + 100))
    // Refresh at 540 s, resent after 0.5, 1, 2, 4, 8, 16 s (Rc = 7); the lifetime ends at 600 s,
    // before the last timeout.
    #expect(harness.sent - before == 7)
    #expect(harness.client.state == .failed)
    #expect(harness.events.last == .failed(reason: "the allocation expired: no successful Refresh in time"))
  }

  @Test("over TCP or TLS: requests are sent once and time out after 39.5 s; ChannelData is padded")
  func reliableTransport() {
    var harness = Harness(reliable: true)
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.client.bindChannel(to: peer, now: harness.now)
    harness.exchange()
    harness.client.send([1, 2, 3, 4, 5], to: peer, now: harness.now)
    let padded = harness.client.pollTransmit()
    #expect(padded == [0x40, 0x00, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0])
    harness.server.silent = true
    harness.advance(.seconds(540))  // the Refresh (and the channel's) go out once
    let afterRefresh = harness.sent
    harness.advance(.seconds(39))  // no retransmission over a stream
    #expect(harness.sent == afterRefresh && harness.client.state == .allocated)
    harness.advance(.seconds(1))
    #expect(harness.events.last == .failed(reason: "the TURN server stopped answering Refresh requests"))
  }

  @Test("a granted lifetime shorter than asked is refreshed within it")
  func shortLifetime() {
    var harness = Harness()
    harness.server.grantedLifetime = 60
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.server.requests = []
    harness.advance(.seconds(29))
    #expect(harness.server.requests.isEmpty)
    harness.advance(.seconds(2))  // half of 60 s, since 60 s minus the 60 s margin is nothing
    #expect(harness.server.requests == [.refresh])
  }

  @Test("close releases the allocation with LIFETIME 0; nothing is relayed afterwards")
  func close() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.client.close(now: harness.now)
    harness.exchange()
    #expect(harness.server.lifetimes == [0] && !harness.server.allocated)
    #expect(harness.events.last == .closed)
    let accepted = harness.client.send([1], to: peer, now: harness.now)
    #expect(!accepted)
  }

  @Test("ChannelData framing: round trips, padding, and malformed input refused")
  func channelDataFraming() throws {
    let message = ChannelData(channel: 0x4001, data: [1, 2, 3, 4, 5])
    #expect(message.encoded() == [0x40, 0x01, 0, 5, 1, 2, 3, 4, 5])
    #expect(message.encoded(padded: true) == [0x40, 0x01, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0])
    #expect(try ChannelData(parsing: message.encoded(padded: true)) == message)
    #expect(throws: TURNError.self) { try ChannelData(parsing: [0x40, 0x01, 0]) }
    #expect(throws: TURNError.self) { try ChannelData(parsing: [0x50, 0x00, 0, 0]) }  // 0x5000: reserved
    #expect(throws: TURNError.self) { try ChannelData(parsing: [0x40, 0x00, 0, 9, 1]) }
    #expect(ChannelData.looksLikeChannelData([0x40]) && !ChannelData.looksLikeChannelData([0x00, 0x01]))
    // The header alone, as the data path reads it (padding after the data is allowed).
    #expect(try ChannelData.header(of: message.encoded(padded: true)) == (0x4001, 5))
    #expect(throws: TURNError.self) { try ChannelData.header(of: [0x40, 0x00, 0, 9, 1]) }
  }

  @Test("fuzzed answers from the server never crash the client or break a working allocation")
  func fuzz() {
    var harness = Harness()
    harness.client.allocate(now: harness.now)
    harness.exchange()
    harness.client.bindChannel(to: peer, now: harness.now)
    harness.exchange()
    var random = SplitMix64(seed: 2026)
    var valid = harness.server.fromPeer(peer, Array(repeating: 1, count: 40))!
    valid[0] = 0x00  // also mutate as a Data indication below
    let samples: [[UInt8]] = [harness.server.fromPeer(peer, [1, 2, 3])!, valid]
    for round in 0..<100_000 {
      var bytes: [UInt8]
      if round % 2 == 0 {
        bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        if round % 4 == 0, !bytes.isEmpty { bytes[0] = 0x40 | bytes[0] & 0x0f }  // ChannelData-like
      } else {
        bytes = samples[round % 4 == 1 ? 0 : 1]
        for _ in 0..<Int(random.next() % 4 + 1) where !bytes.isEmpty {
          bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
        }
      }
      harness.client.handleReceive(bytes, now: harness.now)
      while harness.client.pollEvent() != nil {}
      while harness.client.pollTransmit() != nil {}
    }
    #expect(harness.client.state == .allocated)
    harness.deliverFromPeer(peer, [42])
    #expect(harness.events.last == .data([42], from: peer))
  }
}
