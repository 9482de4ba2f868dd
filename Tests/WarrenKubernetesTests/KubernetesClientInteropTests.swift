import Foundation
import KubernetesTestAPIServer
import Testing
import WarrenCrypto
import WarrenKubernetes
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

/// The test API server and Warren's backend driven by programs nobody here wrote: kubectl
/// (`$WARREN_KUBECTL`) and the official Python client (`$WARREN_K8S_PYTHON`, a Python with the
/// `kubernetes` package). Each reads what Warren created, and Warren reads what each created.
/// `.ci/run` sets both; without them the suites are skipped.
enum KubernetesClients {
  static let kubectl = ProcessInfo.processInfo.environment["WARREN_KUBECTL"]
  static let python = ProcessInfo.processInfo.environment["WARREN_K8S_PYTHON"]
  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Interop/k8s/python_client.py").standardizedFileURL.path

  /// A SignalingEnvelope object written by hand (not by Warren's encoder), sealing `message`.
  static func handWrittenObject(_ message: Cunicu_Signaling_Message, from sender: PrivateKey, to recipient: Key) throws -> Data {
    let envelope = try EnvelopeSealer().seal(message, keys: KeyPair(ours: sender, theirs: recipient))
    let object: [String: Any] = [
      "apiVersion": "cunicu.li/v1", "kind": "SignalingEnvelope", "metadata": ["generateName": "cunicu-"],
      "sender": Data(envelope.sender).base64EncodedString(), "recipient": Data(envelope.recipient).base64EncodedString(),
      "contents": ["body": Data(envelope.contents.body).base64EncodedString(), "nonce": Data(envelope.contents.nonce).base64EncodedString()],
    ]
    return try JSONSerialization.data(withJSONObject: object)
  }
}

@Suite("kubectl against the test API server and Warren (interop)", .enabled(if: KubernetesClients.kubectl != nil), .timeLimit(.scaled(minutes: 2)))
struct KubectlInteropTests {
  let alice = testKey(1), bob = testKey(2)

  func kubectl(_ fixture: KubernetesFixture, _ arguments: [String], kubeconfig: String = "kubeconfig") async throws -> String {
    let result = try await ExternalProcess.run(
      KubernetesClients.kubectl!, ["--kubeconfig", "\(fixture.directory)/\(kubeconfig)", "--request-timeout=20s"] + arguments)
    #expect(result.status == 0, "kubectl \(arguments.joined(separator: " ")): \(result.errors)")
    return result.output
  }

  @Test("kubectl gets what Warren published, with a token and with a client certificate, and deletes it")
  func readsWarren() async throws {
    let fixture = try await KubernetesFixture.start()
    let a = try fixture.factory.makeBackend(url: try fixture.url())
    _ = try fixture.url("cert", useClientCertificate: true)
    try await a.publish(testMessage("for-kubectl"), keys: KeyPair(ours: alice, theirs: bob.publicKey))

    let list = try await kubectl(fixture, ["get", "signalingenvelopes", "-n", "cunicu", "-o", "json"])
    let items = try #require((try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [String: Any])?["items"] as? [[String: Any]])
    #expect(items.count == 1)
    let item = try #require(items.first)
    #expect(item["sender"] as? String == alice.publicKey.base64 && item["recipient"] as? String == bob.publicKey.base64)
    let name = try #require((item["metadata"] as? [String: Any])?["name"] as? String)
    #expect(name.hasPrefix("cunicu-"))
    // The short name from discovery, the default table, and client-certificate authentication.
    let table = try await kubectl(fixture, ["get", "env", "-n", "cunicu"], kubeconfig: "cert")
    #expect(table.contains(name))

    // An update (a JSON merge patch) goes through, and shows in what kubectl reads back.
    let annotated = try await kubectl(fixture, ["annotate", "signalingenvelope", name, "-n", "cunicu", "warren.test/note=kubectl"])
    #expect(annotated.contains("\(name) annotated"))
    let read = try await kubectl(fixture, ["get", "signalingenvelope", name, "-n", "cunicu", "-o", "jsonpath={.metadata.annotations}"])
    #expect(read.contains("warren.test/note") && read.contains("kubectl"))

    let deleted = try await kubectl(fixture, ["delete", "signalingenvelope", name, "-n", "cunicu"])
    #expect(deleted.contains("\"\(name)\" deleted"))
    #expect(fixture.server.objects().isEmpty)
    await a.close(); await fixture.stop()
  }

  @Test("Warren receives and opens an envelope kubectl created")
  func warrenReads() async throws {
    let fixture = try await KubernetesFixture.start()
    let b = try fixture.factory.makeBackend(url: try fixture.url())
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    let file = "\(fixture.directory)/envelope.json"
    try KubernetesClients.handWrittenObject(testMessage("from-kubectl"), from: alice, to: bob.publicKey).write(to: URL(fileURLWithPath: file))
    let created = try await kubectl(fixture, ["create", "-f", file, "-n", "cunicu", "--validate=false"])
    #expect(created.contains("signalingenvelope.cunicu.li/cunicu-"))
    let received = await atBob.next()
    #expect(received?.message == testMessage("from-kubectl") && received?.sender == alice.publicKey)
    await b.close(); await fixture.stop()
  }

  @Test("the test server's schema refuses what a real API server with the CRD refuses")
  func schema() async throws {
    let fixture = try await KubernetesFixture.start()
    _ = try fixture.url()
    let file = "\(fixture.directory)/bad.json"
    try Data(#"{"apiVersion":"cunicu.li/v1","kind":"SignalingEnvelope","metadata":{"generateName":"cunicu-"},"sender":"short","recipient":"short","contents":{"body":"","nonce":""}}"#.utf8)
      .write(to: URL(fileURLWithPath: file))
    let result = try await ExternalProcess.run(
      KubernetesClients.kubectl!, ["--kubeconfig", "\(fixture.directory)/kubeconfig", "create", "-f", file, "-n", "cunicu", "--validate=false"])
    #expect(result.status != 0)
    #expect(result.errors.contains("is invalid") && result.errors.contains("sender in body should match"), "\(result.errors)")
    await fixture.stop()
  }
}

@Suite("the Kubernetes Python client against the test API server and Warren (interop)", .enabled(if: KubernetesClients.python != nil), .timeLimit(.scaled(minutes: 2)))
struct PythonClientInteropTests {
  let alice = testKey(1), bob = testKey(2)

  @Test("watch.Watch() sees what Warren publishes; Warren opens what the Python client creates")
  func watchAndCreate() async throws {
    let fixture = try await KubernetesFixture.start()
    let url = try fixture.url()
    let kubeconfig = "\(fixture.directory)/kubeconfig"
    let watcher = try ExternalProcess(KubernetesClients.python!, [KubernetesClients.script, "watch", kubeconfig, "cunicu", "3"])
    defer { watcher.kill() }
    await watcher.waitForLines(1)
    #expect(watcher.lines.first == "watching", "\(watcher.standardError)")
    #expect(try await eventually { fixture.server.openWatches > 0 }, "the Python client's watch never reached the server")

    let a = try fixture.factory.makeBackend(url: url)
    for n in 0..<3 { try await a.publish(testMessage("py-\(n)"), keys: KeyPair(ours: alice, theirs: bob.publicKey)) }
    #expect(await watcher.wait() == 0, "\(watcher.standardError)")
    let events = watcher.lines.dropFirst().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
    #expect(events.count == 3)
    // What the Python client saw opens, with bob's key, to what alice sent, in order.
    let opener = EnvelopeSealer()
    for (n, event) in events.enumerated() {
      var envelope = Cunicu_Signaling_Envelope()
      envelope.sender = Data(base64Encoded: event["sender"] ?? "") ?? Data()
      envelope.recipient = Data(base64Encoded: event["recipient"] ?? "") ?? Data()
      envelope.contents.body = Data(base64Encoded: event["body"] ?? "") ?? Data()
      envelope.contents.nonce = Data(base64Encoded: event["nonce"] ?? "") ?? Data()
      #expect(try opener.open(envelope, as: bob).message == testMessage("py-\(n)"))
    }

    let b = try fixture.factory.makeBackend(url: url)
    var atBob = try await b.subscribeAll(bob).makeAsyncIterator()
    let file = "\(fixture.directory)/envelope.json"
    try KubernetesClients.handWrittenObject(testMessage("from-python"), from: alice, to: bob.publicKey).write(to: URL(fileURLWithPath: file))
    let created = try await ExternalProcess.run(KubernetesClients.python!, [KubernetesClients.script, "create", kubeconfig, "cunicu", file])
    #expect(created.status == 0 && created.output.hasPrefix("cunicu-"), "\(created.errors)")
    // The three envelopes already waiting for bob come first, then the Python client's.
    var received: [String] = []
    while let next = await atBob.next() {
      received.append(next.message.credentials.ufrag)
      #expect(next.sender == alice.publicKey)
      if received.count == 4 { break }
    }
    #expect(received == ["py-0", "py-1", "py-2", "from-python"])
    await a.close(); await b.close(); await fixture.stop()
  }
}
