import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WarrenCrypto
import WarrenGRPC
import WarrenSignalServer
import WarrenTestSupport
import WarrenSignaling
import WarrenWire
import WarrenWireGRPC

/// `warren signal`'s access rules over the real HTTP/2 transport on loopback: proofs of key
/// possession, `--require-proof`, `--allow-keys` and its reload, rate limits, and their counts.
@Suite("signal server access: proofs, allowed keys, rate limits (integration)", .serialized, .timeLimit(.scaled(minutes: 2)))
struct SignalAccessIntegrationTests {
  let alice = testKey(11)
  let bob = testKey(12)
  let stranger = testKey(13)

  /// Subscribes with a raw client (no Warren logic), `metadata` as given; returns the refusal, or
  /// `nil` once the marker arrived.
  func rawSubscribe(port: Int, key: Key, metadata: Metadata = [:]) async throws -> RPCError? {
    try await withRawClient(port: port) { client in
      var request = Cunicu_Signaling_SubscribeParams()
      request.key = Data(key.bytes)
      do {
        return try await client.subscribe(request, metadata: metadata) { response in
          for try await _ in response.messages { return nil as RPCError? }
          return nil
        }
      } catch let error as RPCError {
        return error
      }
    }
  }

  func proof(_ client: PrivateKey, to server: Key, purpose: KeyPossessionProof.Purpose = .subscribe) throws -> Metadata {
    var metadata = Metadata()
    let time = UInt64(Date().timeIntervalSince1970 * 1000)
    metadata.addBinary(
      try KeyPossessionProof.make(client: client, server: server, purpose: purpose, unixMilliseconds: time),
      forKey: KeyPossessionProof.metadataKey)
    return metadata
  }

  @Test("--require-proof: a stranger's subscription is refused with UNAUTHENTICATED, Warren clients subscribe and get relays")
  func requireProof() async throws {
    let server = try await RunningServer(metrics: true) {
      $0.access.requireProof = true
      $0.relays = [try! RelayURL("turn:127.0.0.1:3478?secret=s3cret&ttl=1h")]
    }
    let serverKey = server.server.access.verifier.serverKey.publicKey

    // No proof (a cunicu client), and a proof made with another key than the one subscribed to.
    let missing = try #require(try await rawSubscribe(port: server.port, key: alice.publicKey))
    #expect(missing.code == .unauthenticated && missing.message.contains("proof_missing"))
    #expect(missing.metadata[stringValues: KeyPossessionProof.serverKeyMetadataKey].first(where: { _ in true }) == serverKey.base64)
    let forged = try #require(try await rawSubscribe(port: server.port, key: alice.publicKey, metadata: try proof(stranger, to: serverKey)))
    #expect(forged.code == .unauthenticated && forged.message.contains("proof_wrong_key"), "\(forged)")
    // The key holder's proof, raw: accepted; the same proof again: refused as a replay.
    let own = try proof(alice, to: serverKey)
    #expect(try await rawSubscribe(port: server.port, key: alice.publicKey, metadata: own) == nil)
    let replayed = try #require(try await rawSubscribe(port: server.port, key: alice.publicKey, metadata: own))
    #expect(replayed.code == .unauthenticated && replayed.message.contains("proof_replayed"))

    // Warren clients: one learns the server's key from GetBuildInfo, one has it pinned.
    let factory = grpcFactory()
    let learned = try factory.makeBackend(url: server.url)
    let pinned = try factory.makeBackend(url: server.url + "&server_key=" + serverKey.base64.replacingOccurrences(of: "+", with: "%2B"))
    var atBob = try await pinned.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    _ = try await learned.subscribe(KeyPair(ours: alice, theirs: bob.publicKey))
    try await learned.publish(credentials("through a closed server"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await next(&atBob)?.message.credentials.ufrag == "through a closed server")

    // GetRelays: refused without a proof, answered with one.
    let relaysRefused = await #expect(throws: RPCError.self) {
      try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)
      ) { client in
        var params = Cunicu_Signaling_GetRelaysParams()
        params.publicKey = Data(alice.publicKey.bytes)
        _ = try await Cunicu_Signaling_RelayRegistry.Client(wrapping: client).getRelays(params)
      }
    }
    #expect(relaysRefused?.code == .unauthenticated)
    let relays = try await factory.relays(from: server.url, for: alice)
    #expect(relays.count == 1 && relays[0].username.hasSuffix(":\(alice.publicKey.base64)"))

    let metrics = try await server.metricsText()
    #expect(metrics.contains(#"warren_signal_refusals_total{method="Subscribe",reason="proof_missing"} 1"#))
    #expect(metrics.contains(#"warren_signal_refusals_total{method="Subscribe",reason="proof_wrong_key"} 1"#))
    #expect(metrics.contains(#"warren_signal_refusals_total{method="Subscribe",reason="proof_replayed"} 1"#))
    #expect(metrics.contains(#"warren_signal_refusals_total{method="GetRelays",reason="proof_missing"} 1"#))
    await learned.close()
    await pinned.close()
    try await server.stop()
  }

  @Test("without --require-proof: clients are served with or without a proof; one that fails is served as unproven")
  func proofsOptional() async throws {
    let server = try await RunningServer(metrics: true)
    let serverKey = server.server.access.verifier.serverKey.publicKey
    #expect(try await rawSubscribe(port: server.port, key: alice.publicKey) == nil)
    // Refusing these would stop nobody (a client can leave the proof out) and would lock out a
    // client whose learned key is stale: this server restarted with a new key.
    #expect(try await rawSubscribe(port: server.port, key: alice.publicKey, metadata: try proof(stranger, to: serverKey)) == nil)
    #expect(try await rawSubscribe(port: server.port, key: alice.publicKey, metadata: try proof(alice, to: stranger.publicKey)) == nil)
    #expect(try await server.metricsText().contains(#"warren_signal_refusals_total{method="Subscribe",reason="proof_wrong_key"} 0"#))
    try await server.stop()
  }

  @Test("--require-proof after a restart with a new key: a Warren client that learned the old key subscribes again at once")
  func serverKeyChanges() async throws {
    let probe = try await RunningServer()
    let port = probe.port
    try await probe.stop()
    var server = try await RunningServer(port: port) { $0.access.requireProof = true }
    let backend = try grpcFactory().makeBackend(url: server.url)
    var atBob = try await backend.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    try await server.stop()
    server = try await RunningServer(port: port) { $0.access.requireProof = true }
    let restarted = ContinuousClock.now
    let publisher = try grpcFactory().makeBackend(url: server.url)
    // Published every 50 ms until bob's stream, subscribed again under the new key, delivers one.
    let delivered = await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        while true {
          try? await publisher.publish(credentials("after the restart"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
          try await Task.sleep(for: .milliseconds(50))
        }
      }
      defer { group.cancelAll() }
      // Usually 0.1-0.2 s. While the server is down every attempt fails at once and the
      // subscription's back-off doubles (0.1, 0.2, ... 6.4, 10 s: ReconnectBackoff); a restart
      // that takes 2-4 s on a loaded machine leaves the client in a 3.2-6.4 s wait when the
      // server is back: most likely the 4-10 s seen in full parallel runs (the restart's own
      // duration was not measured there). Hence the bound.
      return await next(&atBob, within: .seconds(30))?.message.credentials.ufrag == "after the restart"
    }
    #expect(delivered)
    print("resubscribed under the server's new key \(ContinuousClock.now - restarted) after it restarted")
    await backend.close()
    await publisher.close()
    try await server.stop()
  }

  @Test("--allow-keys: other keys can neither subscribe, publish nor get relays; a reload admits a new key")
  func allowKeys() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-allow-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("keys").path
    try "# mesh\n\(alice.publicKey.base64)\n\(bob.publicKey.base64)\n".write(toFile: file, atomically: true, encoding: .utf8)
    let server = try await RunningServer(metrics: true) {
      $0.access.allowedKeysFile = file
      $0.relays = [try! RelayURL("stun:127.0.0.1:3478")]
    }
    let factory = grpcFactory()

    let refused = try #require(try await rawSubscribe(port: server.port, key: stranger.publicKey))
    #expect(refused.code == .permissionDenied && refused.message.contains("not among this server's allowed keys"))
    #expect(try await rawSubscribe(port: server.port, key: alice.publicKey) == nil)
    let sealer = EnvelopeSealer()
    let fromStranger = try sealer.seal(credentials("x"), keys: KeyPair(ours: stranger, theirs: alice.publicKey))
    let toStranger = try sealer.seal(credentials("x"), keys: KeyPair(ours: alice, theirs: stranger.publicKey))
    for envelope in [fromStranger, toStranger] {
      let error = await #expect(throws: RPCError.self) {
        try await withRawClient(port: server.port) { client in _ = try await client.publish(envelope) }
      }
      #expect(error?.code == .permissionDenied)
    }
    await #expect(throws: (any Error).self) { _ = try await factory.relays(from: server.url, for: stranger) }

    // SIGHUP's reload: the stranger joins the mesh.
    try "\(alice.publicKey.base64)\n\(bob.publicKey.base64)\n\(stranger.publicKey.base64)\n".write(toFile: file, atomically: true, encoding: .utf8)
    server.server.access.reloadAllowedKeys()
    #expect(try await rawSubscribe(port: server.port, key: stranger.publicKey) == nil)
    try await withRawClient(port: server.port) { client in _ = try await client.publish(fromStranger) }
    #expect(try await factory.relays(from: server.url, for: stranger).count == 1)
    // A broken file keeps the keys in force.
    try "garbage\n".write(toFile: file, atomically: true, encoding: .utf8)
    server.server.access.reloadAllowedKeys()
    #expect(try await rawSubscribe(port: server.port, key: stranger.publicKey) == nil)

    let metrics = try await server.metricsText()
    #expect(metrics.contains(#"warren_signal_refusals_total{method="Subscribe",reason="key_not_allowed"} 1"#))
    #expect(metrics.contains(#"warren_signal_refusals_total{method="Publish",reason="key_not_allowed"} 2"#))
    #expect(metrics.contains(#"warren_signal_refusals_total{method="GetRelays",reason="key_not_allowed"} 1"#))
    try await server.stop()
  }

  @Test("rate limits: a connection past its burst is refused with RESOURCE_EXHAUSTED and counted; others are not")
  func rateLimits() async throws {
    let server = try await RunningServer(metrics: true) {
      $0.access.publishRate = 0.01  // one token back every 100 s: none during the test
      $0.access.publishBurst = 10
    }
    let envelope = try EnvelopeSealer().seal(credentials("x"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    let outcomes = try await withRawClient(port: server.port) { client in
      var outcomes: [RPCError.Code?] = []
      for _ in 0..<15 {
        do {
          _ = try await client.publish(envelope)
          outcomes.append(nil)
        } catch let error as RPCError {
          outcomes.append(error.code)
        }
      }
      return outcomes
    }
    #expect(outcomes == Array(repeating: nil, count: 10) + Array(repeating: .resourceExhausted, count: 5))
    // Another connection has its own bucket.
    try await withRawClient(port: server.port) { client in _ = try await client.publish(envelope) }
    #expect(try await server.metricsText().contains(#"warren_signal_refusals_total{method="Publish",reason="rate_limited"} 5"#))
    try await server.stop()
  }
}
