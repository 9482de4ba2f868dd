import Testing
import WarrenCrypto
import WarrenGRPC
import WarrenSignalServer
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

/// `grpc://a:8080,b:8080`: the client keeps one subscription, on one replica, and moves to another
/// when its replica goes away (docs/cluster.md).
@Suite("gRPC signaling with a list of replicas (integration)", .serialized, .timeLimit(.scaled(minutes: 2)))
struct ReplicaFailoverTests {
  let alice = testKey(21)
  let bob = testKey(22)

  @Test("a client subscribes on one replica of its list; when that one stops it subscribes on the other, and traffic flows there")
  func failover() async throws {
    let first = try await RunningServer()
    let second = try await RunningServer()
    let list = "grpc://127.0.0.1:\(first.port),127.0.0.1:\(second.port)?insecure=true"
    let factory = grpcFactory()
    let a = try factory.makeBackend(url: list)
    var atAlice = try await a.subscribe(KeyPair(ours: alice, theirs: bob.publicKey)).makeAsyncIterator()
    let topics = [first.server.relay.statistics.topics, second.server.relay.statistics.topics]
    #expect(topics.sorted() == [0, 1])  // One subscription, on one replica.
    let (used, other) = topics[0] == 1 ? (first, second) : (second, first)

    try await used.stop()
    #expect(try await eventually { other.server.relay.statistics.topics == 1 })
    let b = try factory.makeBackend(url: other.url)
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    try await b.publish(credentials("after failover"), keys: KeyPair(ours: bob, theirs: alice.publicKey))
    #expect(await next(&atAlice)?.message == credentials("after failover"))
    // Publishing moved too.
    try await a.publish(credentials("from alice"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await next(&atBob)?.message == credentials("from alice"))
    await a.close()
    await b.close()
    try await other.stop()
  }

  @Test("clients start on a random replica of the list, so that they spread over all of them")
  func spread() async throws {
    let first = try await RunningServer()
    let second = try await RunningServer()
    let list = "grpc://127.0.0.1:\(first.port),127.0.0.1:\(second.port)?insecure=true"
    let factory = grpcFactory()
    var backends: [any SignalingBackend] = []
    var subscriptions: [SignalingSubscription] = []  // A subscription lasts while it is held.
    for n in 0..<16 {
      let backend = try factory.makeBackend(url: list)
      subscriptions.append(try await backend.subscribe(KeyPair(ours: testKey(100 + UInt32(n)), theirs: bob.publicKey)))
      backends.append(backend)
    }
    // All 16 on one replica would happen with probability 2 × 2⁻¹⁶.
    let counts = [first.server.relay.statistics.topics, second.server.relay.statistics.topics]
    #expect(counts.reduce(0, +) == 16)
    #expect(counts.allSatisfy { $0 > 0 }, "\(counts)")
    withExtendedLifetime(subscriptions) {}
    for backend in backends { await backend.close() }
    try await first.stop()
    try await second.stop()
  }

  @Test("the list: hosts with or without ports, IPv6 in brackets; only grpc:// lists hosts; mistakes are named")
  func urls() throws {
    let url = try BackendURL("grpc://a.example.net:8080,[2001:db8::1]:9000,b.example.net?insecure=true")
    #expect(
      url.authorities == [
        .init(host: "a.example.net", port: 8080), .init(host: "2001:db8::1", port: 9000), .init(host: "b.example.net", port: nil),
      ])
    #expect(url.host == "a.example.net" && url.port == 8080 && url.query == ["insecure": "true"])
    let endpoint = try GRPCEndpoint(url)
    #expect(endpoint.replicas.map(\.port) == [8080, 9000, GRPCEndpoint.defaultPort])
    #expect(endpoint.description == "http://a.example.net:8080,[2001:db8::1]:9000,b.example.net:8080")
    #expect(try BackendURL("grpc://solo:1").authorities == [.init(host: "solo", port: 1)])
    for (text, reason) in [
      ("multicast://239.0.0.1:9999,239.0.0.2:9999", "only grpc:// URLs may list several hosts"),
      ("grpc://,b:8080", "starts with an empty one"),
      ("grpc://a:8080,,b:8080", "'' in the list of hosts is not HOST or HOST:PORT"),
      ("grpc://a:8080,b:port", "'b:port' in the list of hosts is not HOST or HOST:PORT"),
    ] {
      #expect(throws: SignalingError.self) { try BackendURL(text) }
      do {
        _ = try BackendURL(text)
      } catch {
        #expect(error.message.contains(reason), "\(error.message)")
      }
    }
  }
}
