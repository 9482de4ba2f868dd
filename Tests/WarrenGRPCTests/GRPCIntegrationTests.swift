import WarrenTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WarrenCrypto
import WarrenGRPC
import WarrenSignalServer
import WarrenSignaling
import WarrenWire
import WarrenWireGRPC

/// `warren signal` and the `grpc://` backend over the real HTTP/2 transport on loopback.
@Suite("gRPC signaling on loopback (integration)", .serialized, .timeLimit(.scaled(minutes: 2)))
struct GRPCIntegrationTests {
  let alice = testKey(1)
  let bob = testKey(2)

  @Test("two peers exchange sealed messages through warren signal", arguments: SignalServerEngine.allCases)
  func exchange(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(engine: engine)
    let factory = grpcFactory()
    let a = try factory.makeBackend(url: server.url)
    let b = try factory.makeBackend(url: server.url)
    #expect(a.type == .grpc)
    var atAlice = try await a.subscribe(KeyPair(ours: alice, theirs: bob.publicKey)).makeAsyncIterator()
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    try await a.publish(credentials("hello bob"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    try await b.publish(credentials("hello alice"), keys: KeyPair(ours: bob, theirs: alice.publicKey))
    let received = await next(&atBob)
    #expect(received?.message == credentials("hello bob"))
    #expect(received?.sender == alice.publicKey)
    #expect(await next(&atAlice)?.message == credentials("hello alice"))
    await a.close()
    await b.close()
    try await server.stop()
  }

  @Test("subscribe returns after the marker: a publish right after it is never lost", arguments: SignalServerEngine.allCases)
  func markerOrdering(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(engine: engine)
    let factory = grpcFactory()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for pair in 0..<20 {
        group.addTask {
          let (x, y) = (testKey(UInt32(100 + 2 * pair)), testKey(UInt32(101 + 2 * pair)))
          let bx = try factory.makeBackend(url: server.url)
          let by = try factory.makeBackend(url: server.url)
          // Each side subscribes and immediately publishes to the other, concurrently.
          async let subscribedX = bx.subscribe(KeyPair(ours: x, theirs: y.publicKey))
          async let subscribedY = by.subscribe(KeyPair(ours: y, theirs: x.publicKey))
          var inboxX = try await subscribedX.makeAsyncIterator()
          var inboxY = try await subscribedY.makeAsyncIterator()
          try await bx.publish(credentials("x\(pair)"), keys: KeyPair(ours: x, theirs: y.publicKey))
          try await by.publish(credentials("y\(pair)"), keys: KeyPair(ours: y, theirs: x.publicKey))
          #expect(await next(&inboxY)?.message == credentials("x\(pair)"))
          #expect(await next(&inboxX)?.message == credentials("y\(pair)"))
          await bx.close()
          await by.close()
        }
      }
      try await group.waitForAll()
    }
    #expect(server.server.relay.statistics.droppedNoSubscriber == 0)
    try await server.stop()
  }

  @Test("after a server restart on the same port both clients resubscribe by themselves")
  func restart() async throws {
    let first = try await RunningServer()
    let port = first.port
    let factory = grpcFactory()
    let a = try factory.makeBackend(url: first.url)
    let b = try factory.makeBackend(url: first.url)
    var atAlice = try await a.subscribe(KeyPair(ours: alice, theirs: bob.publicKey)).makeAsyncIterator()
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    try await a.publish(credentials("before"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await next(&atBob)?.message == credentials("before"))

    try await first.stop()
    let second = try await RunningServer(port: port)
    // Both streams come back without anyone subscribing again.
    #expect(try await eventually { second.server.relay.statistics.topics == 2 })
    try await a.publish(credentials("after"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    try await b.publish(credentials("after too"), keys: KeyPair(ours: bob, theirs: alice.publicKey))
    #expect(await next(&atBob)?.message == credentials("after"))
    #expect(await next(&atAlice)?.message == credentials("after too"))
    await a.close()
    await b.close()
    try await second.stop()
  }

  @Test("1,000 concurrent subscribers each receive their own envelope and nobody else's")
  func thousandSubscribers() async throws {
    let server = try await RunningServer()
    let factory = grpcFactory()
    let publisher = testKey(9999)
    let peers = (0..<1000).map { testKey(UInt32(10_000 + $0)) }
    // Ten connections with a hundred keys each.
    let backends = try (0..<10).map { _ in try factory.makeBackend(url: server.url) }
    let inboxes = try await withThrowingTaskGroup(of: (Int, SignalingSubscription).self) { group in
      for (index, peer) in peers.enumerated() {
        group.addTask {
          (index, try await backends[index % 10].subscribe(KeyPair(ours: peer, theirs: publisher.publicKey)))
        }
      }
      var inboxes = [SignalingSubscription?](repeating: nil, count: peers.count)
      for try await (index, subscription) in group { inboxes[index] = subscription }
      return inboxes.map { $0! }
    }
    #expect(server.server.relay.statistics.topics == 1000)
    let sender = try factory.makeBackend(url: server.url)
    // A hundred publishes in flight at a time (fewer in a slower, sanitized run): a thousand at
    // once through one connection could outlast the publish deadline (5 s) on a loaded two-core
    // machine, which is not what this tests.
    let inFlight = 100 / TestTime.scale
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (index, peer) in peers.enumerated() {
        if index >= inFlight { try await group.next() }
        group.addTask {
          try await sender.publish(credentials("\(index)"), keys: KeyPair(ours: publisher, theirs: peer.publicKey))
        }
      }
      try await group.waitForAll()
    }
    for (index, inbox) in inboxes.enumerated() {
      var iterator = inbox.makeAsyncIterator()
      let message = await next(&iterator)
      #expect(message?.message == credentials("\(index)"))
      #expect(message?.recipient == peers[index].publicKey)
    }
    let statistics = server.server.relay.statistics
    #expect(statistics.published == 1000)
    #expect(statistics.delivered == 1000)
    for backend in backends + [sender] { await backend.close() }
    #expect(try await eventually { server.server.relay.statistics.topics == 0 })
    try await server.stop()
  }

  @Test("a subscriber that never reads does not stop others, and its queue stays bounded", arguments: SignalServerEngine.allCases)
  func slowSubscriber(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(engine: engine) { $0.queueLimit = 64 }
    let factory = grpcFactory()
    let stuck = testKey(7)
    // A raw subscription that reads the marker and then nothing.
    let neverReads = Task {
      try await withRawClient(port: server.port, window: 65_535) { client in
        var request = Cunicu_Signaling_SubscribeParams()
        request.key = Data(stuck.publicKey.bytes)
        try await client.subscribe(request) { response in
          for try await _ in response.messages { try await Task.sleep(for: .seconds(3600)) }
        }
      }
    }
    #expect(try await eventually { server.server.relay.statistics.subscriptions == 1 })
    let b = try factory.makeBackend(url: server.url)
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    let a = try factory.makeBackend(url: server.url)
    var big = credentials("to the stuck one")
    big.credentials.pwd = String(repeating: "x", count: 4000)
    let started = ContinuousClock.now
    for round in 0..<500 {
      try await a.publish(big, keys: KeyPair(ours: alice, theirs: stuck.publicKey))
      try await a.publish(credentials("\(round)"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
      #expect(await next(&atBob)?.message == credentials("\(round)"))
    }
    let elapsed = ContinuousClock.now - started
    let statistics = server.server.relay.statistics
    // 500 × 4 KiB is far more than HTTP/2 flow control lets through unread, so the stuck queue
    // filled and shed its oldest envelopes; everything else went through.
    #expect(statistics.droppedQueueFull > 0)
    #expect(statistics.published == 1000)
    #expect(statistics.delivered <= 1000 - statistics.droppedQueueFull)
    // What is neither delivered nor dropped is the stuck queue (64) plus the one envelope whose
    // write is waiting for flow control.
    #expect(statistics.queued - statistics.delivered - statistics.droppedQueueFull <= 64 + 1)
    #expect(elapsed < .seconds(60))
    neverReads.cancel()
    await a.close()
    await b.close()
    try await server.stop()
  }

  @Test("when every subscriber has left the server holds no topics (seen on /metrics)")
  func topicsFreed() async throws {
    let server = try await RunningServer(metrics: true)
    let factory = grpcFactory()
    let backend = try factory.makeBackend(url: server.url)
    let subscriptions = try await (0..<5).asyncMap { try await backend.subscribeAll(testKey(UInt32(50 + $0))) }
    #expect(try await server.metricsText().contains("warren_signal_topics 5.0"))
    for subscription in subscriptions { subscription.cancel() }
    #expect(try await eventually { try await server.metricsText().contains("warren_signal_topics 0.0") })
    #expect(try await server.metricsText().contains("warren_signal_subscriptions 0.0"))
    await backend.close()
    try await server.stop()
  }

  @Test("malformed keys get INVALID_ARGUMENT naming the field; oversized envelopes RESOURCE_EXHAUSTED", arguments: SignalServerEngine.allCases)
  func statusCodes(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(metrics: true, engine: engine) { $0.maxEnvelopeSize = 1024 }
    try await withRawClient(port: server.port) { client in
      var shortSender = Cunicu_Signaling_Envelope()
      shortSender.sender = Data([1, 2, 3])
      shortSender.recipient = Data(repeating: 1, count: 32)
      await #expect { _ = try await client.publish(shortSender) } throws: { error in
        guard let error = error as? RPCError else { return false }
        return error.code == .invalidArgument && error.message.contains("'sender'") && error.message.contains("3 bytes")
      }
      var noRecipient = shortSender
      noRecipient.sender = Data(repeating: 1, count: 32)
      noRecipient.recipient = Data()
      await #expect { _ = try await client.publish(noRecipient) } throws: {
        ($0 as? RPCError)?.code == .invalidArgument && ($0 as? RPCError)?.message.contains("'recipient'") == true
      }
      var huge = noRecipient
      huge.recipient = Data(repeating: 2, count: 32)
      huge.contents.body = Data(repeating: 0, count: 2000)
      await #expect { _ = try await client.publish(huge) } throws: {
        ($0 as? RPCError)?.code == .resourceExhausted && ($0 as? RPCError)?.message.contains("at most 1024") == true
      }
      var badSubscribe = Cunicu_Signaling_SubscribeParams()
      badSubscribe.key = Data(repeating: 0, count: 33)
      await #expect {
        try await client.subscribe(badSubscribe) { response in for try await _ in response.messages {} }
      } throws: {
        ($0 as? RPCError)?.code == .invalidArgument && ($0 as? RPCError)?.message.contains("'key'") == true
      }
      let info = try await client.getBuildInfo(Cunicu_Empty())
      #expect(info == Cunicu_BuildInfo())
    }
    let metrics = try await server.metricsText()
    #expect(metrics.contains("warren_signal_rpc_errors_total{code=\"INVALID_ARGUMENT\"} 3"))
    #expect(metrics.contains("warren_signal_rpc_errors_total{code=\"RESOURCE_EXHAUSTED\"} 1"))
    try await server.stop()
  }

  @Test("graceful shutdown ends subscription streams cleanly, and the backend keeps retrying", arguments: SignalServerEngine.allCases)
  func gracefulShutdown(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(engine: engine)
    let factory = grpcFactory()
    let backend = try factory.makeBackend(url: server.url)
    let subscription = try await backend.subscribeAll(alice)
    try await server.stop()
    #expect(server.server.relay.statistics.subscriptions == 0)
    // The backend has not given up: a new server on the port gets the subscription back.
    let again = try await RunningServer(port: server.port, engine: engine)
    #expect(try await eventually { again.server.relay.statistics.topics == 1 })
    subscription.cancel()
    #expect(try await eventually { again.server.relay.statistics.topics == 0 })
    await backend.close()
    try await again.stop()
  }

  @Test("a closed grpc backend reports 'closed'")
  func closed() async throws {
    let server = try await RunningServer()
    let backend = try grpcFactory().makeBackend(url: server.url)
    await backend.close()
    await #expect { try await backend.publish(credentials("x"), keys: KeyPair(ours: alice, theirs: bob.publicKey)) }
      throws: { ($0 as? SignalingError)?.code == .closed }
    try await server.stop()
  }

  @Test("grpc:// URLs are checked", arguments: [
    ("grpc://", "has no host"),
    ("grpc://h:1?insecure=true&skip_verify=true", "cannot be combined"),
    ("grpc://h:1?tls=yes", "unknown parameter tls"),
    ("grpc://h:1/path", "has a path"),
  ])
  func urls(text: String, reason: String) {
    #expect { try grpcFactory().makeBackend(url: text) } throws: {
      ($0 as? SignalingError)?.message.contains(reason) == true
    }
  }
}

@Suite("Relay registry")
struct RelayRegistryTests {
  @Test("TURN REST credentials for the asking key, static credentials passed through")
  func getRelays() async throws {
    let server = try await RunningServer {
      $0.relays = [
        try! RelayURL("stun:127.0.0.1:3478"),
        try! RelayURL("turn:127.0.0.1:3478?transport=udp&secret=s3cret&ttl=1h"),
        try! RelayURL("turns:u:p@127.0.0.1:5349"),
      ]
    }
    let asking = testKey(77).publicKey
    let response = try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)
    ) { client in
      var request = Cunicu_Signaling_GetRelaysParams()
      request.publicKey = Data(asking.bytes)
      return try await Cunicu_Signaling_RelayRegistry.Client(wrapping: client).getRelays(request)
    }
    #expect(response.relays.map(\.url) == ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp", "turns:127.0.0.1:5349"])
    #expect(response.relays[0].username.isEmpty && !response.relays[0].hasExpires)
    let turn = response.relays[1]
    let parts = turn.username.split(separator: ":", maxSplits: 1)
    let expiry = Int(parts[0])!
    let now = Int(Date().timeIntervalSince1970)
    #expect(abs(expiry - now - 3600) < 60)
    #expect(parts[1] == Substring(asking.base64))
    #expect(Int(turn.expires.seconds) == expiry)
    #expect(turn.password == hmacSHA1Base64(key: "s3cret", message: turn.username))
    #expect(response.relays[2].username == "u" && response.relays[2].password == "p")
    try await server.stop()
  }

  @Test("the registry client registered by registerGRPC: the same credentials, and their expiry as a deadline")
  func client() async throws {
    let server = try await RunningServer {
      $0.relays = [try! RelayURL("turn:127.0.0.1:3478?secret=s3cret&ttl=1h")]
    }
    let asking = testKey(78)
    let factory = grpcFactory()
    let relays = try await factory.relays(from: "grpc://127.0.0.1:\(server.port)?insecure=true", for: asking)
    let relay = try #require(relays.first)
    #expect(relays.count == 1 && relay.url == "turn:127.0.0.1:3478")
    #expect(relay.username.hasSuffix(":\(asking.publicKey.base64)") && relay.password == hmacSHA1Base64(key: "s3cret", message: relay.username))
    let remaining = try #require(relay.expires) - ContinuousClock.now
    #expect(remaining > .seconds(3500) && remaining <= .seconds(3601))
    try await server.stop()
    // No registry there any more: an error, not a hang.
    await #expect(throws: (any Error).self) {
      _ = try await factory.relays(from: "grpc://127.0.0.1:\(server.port)?insecure=true", for: asking, timeout: .seconds(2))
    }
    // A scheme nobody registered a registry for: an error naming it.
    await #expect(throws: SignalingError.self) { _ = try await factory.relays(from: "k8s://x", for: asking) }
  }
}

extension Sequence where Element: Sendable {
  func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
    var results: [T] = []
    for element in self { results.append(try await transform(element)) }
    return results
  }
}
