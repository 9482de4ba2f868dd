import Foundation
import KubernetesTestAPIServer
import Logging
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenKubernetes
import WarrenSession
import WarrenSignaling
import WarrenTestSupport

/// Two daemons whose only signaling is the `k8s://` backend, against the test API server over
/// TLS: their sessions connect, which takes ICE credentials and candidates both ways.
@Suite("daemons through the Kubernetes backend alone (integration)", .timeLimit(.scaled(minutes: 1)))
struct KubernetesSessionTests: DaemonSocketTesting {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-k8s-daemons-\(UUID())").path
  let alice = PrivateKey.generate()
  let bob = PrivateKey.generate()

  @Test("two daemons connect with SignalingEnvelope objects as their only signaling")
  func connect() async throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try await KubernetesTestAPIServer.start()
    let kubeconfig = "\(directory)/kubeconfig"
    try server.kubeconfig().write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    var factory = BackendFactory(logger: Logger(label: "test"))
    factory.registerKubernetes()
    let backend = "k8s://\(kubeconfig)?namespace=cunicu"
    let a = try Daemon(
      configuration: try configuration(alice, peers: [("bob", bob.publicKey, "127.0.0.1:9")], socket: "alice.sock", backend: backend),
      factory: factory, logger: Logger(label: "alice"))
    let b = try Daemon(
      configuration: try configuration(bob, peers: [("alice", alice.publicKey, "127.0.0.1:9")], socket: "bob.sock", backend: backend),
      factory: factory, logger: Logger(label: "bob"))
    let tasks = [Task { try await a.run() }, Task { try await b.run() }]
    // Direct once each side's host candidate arrived through the API server.
    let atAlice = try await waitConnected("alice.sock", peer: "bob", path: "direct")
    let atBob = try await waitConnected("bob.sock", peer: "alice", path: "direct")
    #expect(atAlice.remote?.type == "host" && atBob.remote?.type == "host")
    // The messages went through the API server: envelopes from each to the other.
    let objects = server.objects().compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    let senders = Set(objects.compactMap { $0["sender"] as? String })
    #expect(senders == [alice.publicKey.base64, bob.publicKey.base64])
    for task in tasks { task.cancel() }
    for task in tasks { _ = await task.result }
    await server.stop()
  }

  @Test("a daemon restarted while its peer's older credentials are still stored connects and stays connected")
  func restartWithStoredCredentials() async throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try await KubernetesTestAPIServer.start()
    let kubeconfig = "\(directory)/kubeconfig"
    try server.kubeconfig().write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    var factory = BackendFactory(logger: Logger(label: "test"))
    factory.registerKubernetes()
    let backend = "k8s://\(kubeconfig)?namespace=cunicu"
    func daemon(_ ours: PrivateKey, _ name: String, _ theirs: Key) throws -> Task<Void, any Error> {
      let daemon = try Daemon(
        configuration: try configuration(ours, peers: [(name, theirs, "127.0.0.1:9")], socket: "\(name).sock", backend: backend),
        factory: factory, logger: Logger(label: name))
      return Task { try await daemon.run() }
    }
    func stop(_ task: Task<Void, any Error>) async {
      task.cancel()
      _ = await task.result
    }
    func senders() -> [String] {
      server.objects().compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }.compactMap { $0["sender"] as? String }
    }
    // Alice's daemon holds a session with bob (socket "bob.sock"), bob's with alice.
    var atAlice = try daemon(alice, "bob", bob.publicKey)
    var atBob = try daemon(bob, "alice", alice.publicKey)
    _ = try await waitConnected("bob.sock", peer: "bob")
    _ = try await waitConnected("alice.sock", peer: "alice")
    // Bob's daemon restarts once, so that two generations of his credentials are stored.
    await stop(atBob)
    atBob = try daemon(bob, "alice", alice.publicKey)
    _ = try await waitConnected("alice.sock", peer: "alice")
    _ = try await waitConnected("bob.sock", peer: "bob")
    let bobRestarts = try await status("alice.sock").peers[0].restarts

    // Alice's daemon restarts: its new subscription is handed everything stored for it, oldest
    // first — bob's credentials and candidates of both generations among them.
    await stop(atAlice)
    let stored = senders().filter { $0 == bob.publicKey.base64 }.count
    #expect(stored >= 4)
    let restartedAt = ContinuousClock.now
    atAlice = try daemon(alice, "bob", bob.publicKey)
    _ = try await waitConnected("bob.sock", peer: "bob")
    _ = try await waitConnected("alice.sock", peer: "alice")
    let connectedAfter = ContinuousClock.now - restartedAt
    // And it stays connected: sample both sides for three seconds.
    let samples = try await observe(for: .seconds(3)) {
      let here = try await status("bob.sock").peers[0], there = try await status("alice.sock").peers[0]
      return [here.state, there.state].allSatisfy { ["connected", "completed"].contains($0) }
    }
    let bobAtAlice = try await status("bob.sock").peers[0]
    let aliceAtBob = try await status("alice.sock").peers[0]
    print("restarted with \(stored) of bob's envelopes stored; connected after \(connectedAfter); alice \(bobAtAlice.restartCauses), dropped \(bobAtAlice.droppedMessages); bob \(aliceAtBob.restartCauses)")
    #expect(samples.allSatisfy { $0 })
    // Bob restarts once for alice's restart; alice catches up at most once (bob had one older
    // generation stored), and drops the rest of the older generation's messages.
    #expect(aliceAtBob.restarts == bobRestarts + 1 && aliceAtBob.restartCauses[.peerRestarted] == aliceAtBob.restarts)
    #expect(bobAtAlice.restartCauses == RestartCounts([.peerRestarted: bobAtAlice.restarts]) && bobAtAlice.restarts <= 1)
    await stop(atAlice)
    await stop(atBob)
    await server.stop()
  }
}
