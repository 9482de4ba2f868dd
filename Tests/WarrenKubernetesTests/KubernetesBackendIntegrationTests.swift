import Foundation
import KubernetesTestAPIServer
import Logging
import Testing
import WarrenCrypto
import WarrenKubernetes
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

/// The `k8s://` backend against the test API server on loopback, over TLS. A message that never
/// arrives fails the test at the suite's time limit.
@Suite("Kubernetes backend against the test API server (integration)", .timeLimit(.scaled(minutes: 1)))
struct KubernetesBackendTests {
  let alice = testKey(1), bob = testKey(2)

  @Test("two peers exchange sealed messages through SignalingEnvelope objects")
  func exchange() async throws {
    let fixture = try await KubernetesFixture.start()
    let url = try fixture.url()
    let a = try fixture.factory.makeBackend(url: url), b = try fixture.factory.makeBackend(url: url)
    #expect(a.type == .k8S)
    var atAlice = try await a.subscribe(KeyPair(ours: alice, theirs: bob.publicKey)).makeAsyncIterator()
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    try await a.publish(testMessage("to-bob"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    try await b.publish(testMessage("to-alice"), keys: KeyPair(ours: bob, theirs: alice.publicKey))
    let atB = await atBob.next(), atA = await atAlice.next()
    #expect(atB?.message == testMessage("to-bob") && atB?.sender == alice.publicKey)
    #expect(atA?.message == testMessage("to-alice") && atA?.sender == bob.publicKey)

    // What is stored is wire.md's object: generateName cunicu-, base64 keys, contents.
    let objects = fixture.server.objects().map { try! JSONSerialization.jsonObject(with: $0) as! [String: Any] }
    #expect(objects.count == 2)
    let toBob = try #require(objects.first { $0["recipient"] as? String == bob.publicKey.base64 })
    let metadata = try #require(toBob["metadata"] as? [String: Any])
    #expect((metadata["name"] as? String)?.hasPrefix("cunicu-") == true && metadata["generateName"] as? String == "cunicu-")
    #expect(toBob["apiVersion"] as? String == "cunicu.li/v1" && toBob["kind"] as? String == "SignalingEnvelope")
    #expect(toBob["sender"] as? String == alice.publicKey.base64)
    let contents = try #require(toBob["contents"] as? [String: String])
    #expect(Data(base64Encoded: contents["nonce"] ?? "")?.count == 24)
    // Both watched with bookmarks from their list's resource version.
    #expect(fixture.server.requestLog.contains { $0.contains("watch=true") && $0.contains("allowWatchBookmarks=true") })
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("an envelope modified after it was delivered (an annotation) is not delivered again")
  func modified() async throws {
    let fixture = try await KubernetesFixture.start()
    let url = try fixture.url()
    let a = try fixture.factory.makeBackend(url: url), b = try fixture.factory.makeBackend(url: url)
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    try await a.publish(testMessage("once"), keys: keys)
    #expect(await atBob.next()?.message == testMessage("once"))
    let name = try #require(fixture.server.objects().first.flatMap { object in
      ((try? JSONSerialization.jsonObject(with: object)) as? [String: Any])?["metadata"] as? [String: Any]
    }?["name"] as? String)
    try fixture.server.annotate(name: name, key: "warren.test/seen", value: "yes")
    try await a.publish(testMessage("next"), keys: keys)
    #expect(await atBob.next()?.message == testMessage("next"))
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("envelopes waiting before a subscription are delivered to it, oldest first")
  func waitingEnvelopes() async throws {
    let fixture = try await KubernetesFixture.start()
    let url = try fixture.url()
    let a = try fixture.factory.makeBackend(url: url)
    for n in 0..<3 { try await a.publish(testMessage("early-\(n)"), keys: KeyPair(ours: alice, theirs: bob.publicKey)) }
    let b = try fixture.factory.makeBackend(url: url)
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    for n in 0..<3 { #expect(await atBob.next()?.message == testMessage("early-\(n)")) }
    await a.close(); await b.close(); await fixture.stop()
  }

  /// Publishes `range` to bob and returns what bob received once the marker message arrived.
  func collect(
    _ atBob: inout SignalingSubscription.AsyncIterator, until marker: String
  ) async -> [String] {
    var seen: [String] = []
    while let received = await atBob.next() {
      seen.append(received.message.credentials.ufrag)
      if received.message.credentials.ufrag == marker { break }
    }
    return seen
  }

  /// The lists of the collection (not watches) the server answered.
  func lists(_ fixture: KubernetesFixture) -> Int {
    fixture.server.requestLog.filter { $0.hasPrefix("GET") && $0.contains("signalingenvelopes") && !$0.contains("watch=") }.count
  }

  @Test("broken watches are resumed from the last resource version: nothing lost, nothing twice")
  func watchInterruption() async throws {
    let fixture = try await KubernetesFixture.start()
    let a = try fixture.factory.makeBackend(url: try fixture.url())
    let b = try fixture.factory.makeBackend(url: try fixture.url(parameters: "cleanup_interval=off"))
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    for n in 0..<30 {
      if n % 5 == 0 {
        #expect(try await eventually(every: .milliseconds(10)) { fixture.server.openWatches > 0 }, "no watch open to interrupt")
        fixture.server.interruptWatches()
      }
      try await a.publish(testMessage("m\(n)"), keys: keys)
    }
    try await a.publish(testMessage("end"), keys: keys)
    let seen = await collect(&atBob, until: "end")
    #expect(seen == (0..<30).map { "m\($0)" } + ["end"])
    // Resumed, not relisted: one list for the subscription only, and one watch per interruption.
    #expect(lists(fixture) == 1)
    #expect(fixture.server.requestLog.filter { $0.contains("watch=true") }.count == 7)
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("410 Gone after compaction: listed again, nothing lost, nothing twice")
  func expiredResourceVersion() async throws {
    let fixture = try await KubernetesFixture.start()
    let url = try fixture.url()
    let a = try fixture.factory.makeBackend(url: url), b = try fixture.factory.makeBackend(url: url)
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    for n in 0..<5 { try await a.publish(testMessage("before-\(n)"), keys: keys) }
    // Bob's next watch starts from a version etcd has compacted away.
    fixture.server.compact()
    fixture.server.interruptWatches()
    for n in 0..<5 { try await a.publish(testMessage("after-\(n)"), keys: keys) }
    try await a.publish(testMessage("end"), keys: keys)
    let seen = await collect(&atBob, until: "end")
    #expect(Set(seen).count == seen.count)
    #expect(Set(seen) == Set((0..<5).map { "before-\($0)" } + (0..<5).map { "after-\($0)" } + ["end"]))
    #expect(lists(fixture) >= 2)
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("bookmarks carry the watch past changes elsewhere, so a compaction does not force a new list")
  func bookmarks() async throws {
    var options = KubernetesTestAPIServer.Options()
    options.bookmarkInterval = .milliseconds(50)
    let fixture = try await KubernetesFixture.start(options)
    let sink = RecordingSink()
    let transport = try KubernetesTransport(
      url: BackendURL(try fixture.url(parameters: "cleanup_interval=off")), sink: sink, logger: Logger(label: "test"))
    try await transport.subscribe(bob)
    // Changes in another namespace move the (cluster-wide) resource version on.
    let other = try fixture.factory.makeBackend(url: try fixture.url(parameters: "namespace=default"))
    for n in 0..<5 { try await other.publish(testMessage("elsewhere-\(n)"), keys: KeyPair(ours: alice, theirs: bob.publicKey)) }
    let latest = String(fixture.server.resourceVersion)
    #expect(try await eventually(every: .milliseconds(10)) { transport.resourceVersion == latest }, "the watch never reached \(latest)")
    fixture.server.compact()
    fixture.server.interruptWatches()
    let a = try fixture.factory.makeBackend(url: try fixture.url())
    try await a.publish(testMessage("here"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(try await eventually(every: .milliseconds(10)) { !sink.received.isEmpty }, "nothing received")
    #expect(lists(fixture) == 1)
    #expect(fixture.server.requestLog.contains { $0.contains("watch=true") && $0.contains("resourceVersion=\(latest)&") })
    await transport.close(); await other.close(); await a.close(); await fixture.stop()
  }

  @Test("a watch the server ends after timeoutSeconds is renewed from its resource version")
  func watchTimeout() async throws {
    let fixture = try await KubernetesFixture.start()
    let a = try fixture.factory.makeBackend(url: try fixture.url())
    let b = try fixture.factory.makeBackend(url: try fixture.url(parameters: "cleanup_interval=off&watch_timeout=1s"))
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    try await a.publish(testMessage("first"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await atBob.next()?.message == testMessage("first"))
    #expect(try await eventually(every: .milliseconds(50)) { fixture.server.requestLog.filter({ $0.contains("timeoutSeconds=1") }).count >= 2 }, "the watch was not renewed")
    try await a.publish(testMessage("second"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await atBob.next()?.message == testMessage("second"))
    #expect(lists(fixture) == 1)
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("cleanup deletes only the envelopes older than max_age")
  func cleanup() async throws {
    let fixture = try await KubernetesFixture.start()
    let sink = RecordingSink()
    let transport = try KubernetesTransport(
      url: BackendURL(try fixture.url(parameters: "cleanup_interval=off&max_age=10m")), sink: sink, logger: Logger(label: "test"))
    let a = try fixture.factory.makeBackend(url: try fixture.url())
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    fixture.server.clockOffset = .seconds(-11 * 60)
    for n in 0..<3 { try await a.publish(testMessage("old-\(n)"), keys: keys) }
    fixture.server.clockOffset = .seconds(-9 * 60)
    for n in 0..<2 { try await a.publish(testMessage("recent-\(n)"), keys: keys) }
    fixture.server.clockOffset = .zero
    try await a.publish(testMessage("new"), keys: keys)
    #expect(try await transport.deleteOldEnvelopes() == 3)
    #expect(fixture.server.objects().count == 3)
    #expect(try await transport.deleteOldEnvelopes() == 0)
    await transport.close(); await a.close(); await fixture.stop()
  }

  @Test("a client certificate from the kubeconfig authenticates over TLS")
  func clientCertificate() async throws {
    let fixture = try await KubernetesFixture.start()
    let a = try fixture.factory.makeBackend(url: try fixture.url("cert", useClientCertificate: true))
    let b = try fixture.factory.makeBackend(url: try fixture.url())
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    try await a.publish(testMessage("by-certificate"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await atBob.next()?.message == testMessage("by-certificate"))
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("with the API server unreachable, a waiting subscription ends when cancelled, and close does not wait")
  func unreachable() async throws {
    let transport = try KubernetesTransport(
      settings: try .init(BackendURL("k8s://incluster?cleanup_interval=off")),
      connection: KubernetesConnection(server: "http://127.0.0.1:1", authentication: .token("t")),
      sink: RecordingSink(), logger: Logger(label: "test"))
    let bob = self.bob
    let waiting = Task { try await transport.subscribe(bob) }
    try await Task.sleep(for: .milliseconds(300))  // a few failed lists
    waiting.cancel()
    await #expect(throws: CancellationError.self) { try await waiting.value }
    let second = Task { try await transport.subscribe(bob) }
    await transport.close()
    await #expect { try await second.value } throws: { ($0 as? SignalingError)?.code == .closed }
  }

  @Test("a refused connection is reported at the first attempt, naming the server")
  func refusedAtOnce() async throws {
    let client = try KubernetesAPIClient(connection: KubernetesConnection(server: "http://127.0.0.1:1", authentication: .token("t")))
    let started = ContinuousClock.now
    await #expect {
      _ = try await client.list(namespace: "cunicu")
    } throws: {
      guard let error = $0 as? KubernetesError else { return false }
      return error.code == .unreachable && error.message.contains("http://127.0.0.1:1") && error.message.lowercased().contains("refused")
    }
    // The connect timeout is 10 s; a refusal must not wait for it. (It takes milliseconds alone;
    // 5.7 s was seen with the whole suite on two busy cores, hence the bound just under 10 s, and
    // 28 s under ThreadSanitizer, where no bound tells the two apart: there the message, which
    // says "refused" and not a timeout, is the check.)
    if TestTime.scale == 1 { #expect(ContinuousClock.now - started < .seconds(9)) }
    await client.shutdown()
  }

  @Test("TLS: insecure-skip-tls-verify connects without the CA; a CA that did not sign the server is refused")
  func tlsVerification() async throws {
    let fixture = try await KubernetesFixture.start()
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    let kubeconfig = fixture.server.kubeconfig()
    let caLine = try #require(kubeconfig.split(separator: "\n").first { $0.contains("certificate-authority-data") })
    let insecure = "\(fixture.directory)/insecure"
    try kubeconfig.replacingOccurrences(of: caLine, with: "    insecure-skip-tls-verify: true").write(toFile: insecure, atomically: true, encoding: .utf8)
    let a = try fixture.factory.makeBackend(url: "k8s://\(insecure)")
    try await a.publish(testMessage("unverified"), keys: keys)
    let otherCA = Data(try TestCertificateAuthority().certificatePEM.utf8).base64EncodedString()
    let wrong = "\(fixture.directory)/wrong-ca"
    try kubeconfig.replacingOccurrences(of: caLine, with: "    certificate-authority-data: \(otherCA)").write(toFile: wrong, atomically: true, encoding: .utf8)
    let b = try fixture.factory.makeBackend(url: "k8s://\(wrong)")
    // Refused at the first attempt, not after the 10 s connect timeout of repeated attempts.
    let started = ContinuousClock.now
    await #expect { try await b.publish(testMessage("x"), keys: keys) } throws: {
      "\($0)".contains("cannot reach the API server") && "\($0)".lowercased().contains("certificate")
    }
    #expect(ContinuousClock.now - started < .seconds(5))
    #expect(fixture.server.objects().count == 1)
    await a.close(); await b.close(); await fixture.stop()
  }

  @Test("in-cluster credentials (service account files and environment) against the test server")
  func inCluster() async throws {
    let fixture = try await KubernetesFixture.start()
    let account = "\(fixture.directory)/serviceaccount"
    try FileManager.default.createDirectory(atPath: account, withIntermediateDirectories: true)
    try "warren-test-token\n".write(toFile: "\(account)/token", atomically: true, encoding: .utf8)
    try fixture.server.certificateAuthority.certificatePEM.write(toFile: "\(account)/ca.crt", atomically: true, encoding: .utf8)
    try "cunicu".write(toFile: "\(account)/namespace", atomically: true, encoding: .utf8)
    let connection = try KubernetesConnection.inCluster(
      environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "\(fixture.server.port)"], directory: account)
    let sink = RecordingSink()
    let transport = try KubernetesTransport(
      settings: try .init(BackendURL("k8s://incluster?cleanup_interval=off")), connection: connection, sink: sink,
      logger: Logger(label: "test"))
    try await transport.subscribe(bob)
    let a = try fixture.factory.makeBackend(url: try fixture.url())
    try await a.publish(testMessage("in-cluster"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(try await eventually(every: .milliseconds(10)) { !sink.received.isEmpty }, "nothing received")
    #expect(sink.received.first?.recipient == Data(bob.publicKey.bytes))
    await transport.close(); await a.close(); await fixture.stop()
  }

  @Test("a refused token and a missing namespace are errors naming the API's answer")
  func refused() async throws {
    let fixture = try await KubernetesFixture.start()
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    let wrong = try fixture.factory.makeBackend(url: try fixture.url("wrong", token: "not-the-token"))
    await #expect { try await wrong.publish(testMessage("x"), keys: keys) } throws: {
      "\($0)".contains("401 Unauthorized")
    }
    let elsewhere = try fixture.factory.makeBackend(url: try fixture.url(parameters: "namespace=nowhere"))
    await #expect { try await elsewhere.publish(testMessage("x"), keys: keys) } throws: {
      "\($0)".contains("404 NotFound: namespaces \"nowhere\" not found")
    }
    await wrong.close(); await elsewhere.close(); await fixture.stop()
  }
}
