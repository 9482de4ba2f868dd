import Foundation
import KubernetesTestAPIServer
import Logging
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenKubernetes
import WarrenSignaling

/// Two daemons whose only signaling is the `k8s://` backend, against the test API server over
/// TLS: their sessions connect, which takes ICE credentials and candidates both ways.
@Suite("daemons through the Kubernetes backend alone (integration)", .timeLimit(.minutes(1)))
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
}
