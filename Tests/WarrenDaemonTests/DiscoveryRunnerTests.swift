import Foundation
import KubernetesTestAPIServer
import Logging
import Testing
import WarrenCrypto
@testable import WarrenDaemon
import WarrenDiscovery
import WarrenICENIO
import WarrenKubernetes
import WarrenPrimitives
import WarrenSignaling
import WarrenTestSupport
import WarrenWire
import WarrenWireGuard

/// A WireGuard interface in memory: what peer discovery sets and removes.
final class InMemoryWireGuard: WireGuardControl {
  let name: String
  private let state: Locked<WireGuardDevice>

  init(name: String, key: PrivateKey) {
    self.name = name
    state = Locked(WireGuardDevice(name: name, privateKey: key, listenPort: 51820))
  }

  var current: WireGuardDevice { state.withLock { $0 } }
  func rotate(to key: PrivateKey) { state.withLock { $0.privateKey = key } }
  /// Each peer's allowed IPs, by key.
  var peers: [Key: [String]] { state.withLock { Dictionary(uniqueKeysWithValues: $0.peers.map { ($0.publicKey, $0.allowedIPs) }) } }

  func device() async throws(WireGuardError) -> WireGuardDevice { current }
  func setEndpoint(_ endpoint: TransportAddress, peer: Key) async throws(WireGuardError) {}
  func renewPeer(_ peer: WireGuardDevice.Peer, endpoint: TransportAddress) async throws(WireGuardError) {}

  func setPeer(_ peer: Key, allowedIPs: [String]) async throws(WireGuardError) {
    state.withLock { device in
      if let index = device.peers.firstIndex(where: { $0.publicKey == peer }) {
        device.peers[index].allowedIPs = allowedIPs
      } else {
        var added = WireGuardDevice.Peer(publicKey: peer)
        added.allowedIPs = allowedIPs
        device.peers.append(added)
      }
    }
  }

  func removePeer(_ peer: Key) async throws(WireGuardError) {
    state.withLock { $0.peers.removeAll { $0.publicKey == peer } }
  }
}

@Suite("Peer discovery's runner over a signaling backend (in-process), with WireGuard in memory", .timeLimit(.scaled(minutes: 1)))
struct DiscoveryRunnerTests {
  func runner(
    _ name: String, _ address: String, wireguard: InMemoryWireGuard, backend: any SignalingBackend, passphrase: String = "test community",
    clock: any DriverClock = ContinuousClock()
  ) -> DiscoveryRunner {
    var settings = DiscoveryConfiguration(passphrase: passphrase)
    settings.hostname = name
    settings.allowedIPs = [IPPrefix("\(address)/32")!]
    let runner = DiscoveryRunner(
      interface: wireguard.name, settings: settings, backend: backend, control: wireguard, buildInfo: Cunicu_BuildInfo(),
      logger: Logger(label: name), clock: clock)
    runner.attach(.init(device: { wireguard.current }, peersChanged: {}))
    // What the daemon does at each reading of the interface.
    if let key = wireguard.current.privateKey { runner.interfaceRead(key: key) }
    return runner
  }

  @Test("in-process: three members find each other; REMOVE drops one; a key rotation is followed; another community learns nothing")
  func meshInProcess() async throws {
    let factory = BackendFactory(logger: Logger(label: "test"))
    try await mesh(over: (0..<4).map { _ in try factory.makeBackend(url: "inprocess:") })
  }

  @Test("Kubernetes (the test API server over TLS): the same mesh through SignalingEnvelope objects")
  func meshKubernetes() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-k8s-pdisc-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try await KubernetesTestAPIServer.start()
    try server.kubeconfig().write(toFile: "\(directory)/kubeconfig", atomically: true, encoding: .utf8)
    var factory = BackendFactory(logger: Logger(label: "test"))
    factory.registerKubernetes()
    let backends = try (0..<4).map { _ in try factory.makeBackend(url: "k8s://\(directory)/kubeconfig?namespace=cunicu") }
    try await mesh(over: backends)
    for backend in backends { await backend.close() }
    await server.stop()
  }

  /// Members 0, 1, 2 share a passphrase, member 3 has another; each on its own backend.
  func mesh(over backends: [any SignalingBackend]) async throws {
    let keys = (0..<4).map { _ in PrivateKey.generate() }
    let interfaces = keys.enumerated().map { InMemoryWireGuard(name: "wg\($0.offset)", key: $0.element) }
    let runners = (0..<3).map { runner("host-\($0)", "10.99.0.\($0 + 1)", wireguard: interfaces[$0], backend: backends[$0]) }
    let stranger = runner("stranger", "10.99.0.9", wireguard: interfaces[3], backend: backends[3], passphrase: "another community")
    try await withThrowingTaskGroup(of: Void.self) { group in
      for runner in runners + [stranger] { group.addTask { try await runner.run() } }
      defer { group.cancelAll() }

      let meshed = try await eventually {
        (0..<3).allSatisfy { me in
          let peers = interfaces[me].peers
          return peers.count == 2 && (0..<3).filter { $0 != me }.allSatisfy { peers[keys[$0].publicKey] == ["10.99.0.\($0 + 1)/32"] }
        }
      }
      #expect(meshed, "\(interfaces.map(\.peers))")
      #expect(interfaces[3].peers.isEmpty && stranger.snapshot.learned.isEmpty)
      #expect(runners[0].snapshot.learned.map(\.name).sorted() == ["host-1", "host-2"])

      // Host 2 leaves cleanly: the others drop it, and it removes what it had learned.
      await runners[2].leave()
      let dropped = try await eventually { interfaces[0].peers[keys[2].publicKey] == nil && interfaces[1].peers[keys[2].publicKey] == nil }
      #expect(dropped)
      #expect(interfaces[2].peers.isEmpty)

      // Host 1 gets a new key: UPDATE, and host 0 replaces it.
      let rotated = PrivateKey.generate()
      interfaces[1].rotate(to: rotated)
      runners[1].interfaceRead(key: rotated)
      let followed = try await eventually {
        interfaces[0].peers[rotated.publicKey] == ["10.99.0.2/32"] && interfaces[0].peers[keys[1].publicKey] == nil
      }
      #expect(followed)
    }
  }

  /// A backend whose announcements other than REMOVE take `delay` to publish, recording those
  /// that began and the order in which they completed.
  final class SlowAnnouncements: SignalingBackend {
    let inner: any SignalingBackend
    let delay: Duration
    let started = Locked<[Cunicu_Pdisc_PeerDescriptionChange]>([])
    let completed = Locked<[Cunicu_Pdisc_PeerDescriptionChange]>([])
    init(_ inner: any SignalingBackend, delay: Duration) { (self.inner, self.delay) = (inner, delay) }
    var type: BackendType { inner.type }
    func publish(_ message: Cunicu_Signaling_Message, keys: KeyPair) async throws {
      if message.hasPeer { started.withLock { $0.append(message.peer.change) } }
      if message.hasPeer && message.peer.change != .remove { try await Task.sleep(for: delay) }
      try await inner.publish(message, keys: keys)
      if message.hasPeer { completed.withLock { $0.append(message.peer.change) } }
    }
    func subscribe(_ keys: KeyPair) async throws -> SignalingSubscription { try await inner.subscribe(keys) }
    func subscribeAll(_ ours: PrivateKey) async throws -> SignalingSubscription { try await inner.subscribeAll(ours) }
    func close() async { await inner.close() }
  }

  @Test("leaving waits for an announcement in flight: the REMOVE is the last word, so nobody learns the node again")
  func removeIsLast() async throws {
    let factory = BackendFactory(logger: Logger(label: "test"))
    let backend = SlowAnnouncements(try factory.makeBackend(url: "inprocess:"), delay: .milliseconds(100))
    let wireguard = InMemoryWireGuard(name: "wg0", key: PrivateKey.generate())
    // The runner's time stands still: its 1 s bound on the wait never passes, so however slow the
    // machine, leave() waits for the UPDATE in flight (only the backend's delay is real).
    let discovery = runner("leaver", "10.99.0.1", wireguard: wireguard, backend: backend, clock: ManualClock())
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await discovery.run() }
      defer { group.cancelAll() }
      let announced = try await eventually { backend.completed.withLock { $0 } == [.add] }
      #expect(announced, "the first announcement")
      // A new key: an UPDATE is being published (slowly) when the node leaves.
      let rotated = PrivateKey.generate()
      wireguard.rotate(to: rotated)
      discovery.interfaceRead(key: rotated)
      let began = try await eventually(every: .milliseconds(5)) { backend.started.withLock { $0 }.contains(.update) }
      #expect(began, "the UPDATE began")
      await discovery.leave()
      #expect(backend.completed.withLock { $0 } == [.add, .update, .remove])
    }
  }

  @Test("a passphrase is taken as its bytes: the runner's community key is `warren community-key`'s")
  func communityKey() async throws {
    let factory = BackendFactory(logger: Logger(label: "test"))
    let wireguard = InMemoryWireGuard(name: "wg0", key: PrivateKey.generate())
    let discovery = runner("solo", "10.99.0.1", wireguard: wireguard, backend: try factory.makeBackend(url: "inprocess:"), passphrase: "correct horse battery staple")
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await discovery.run() }
      defer { group.cancelAll() }
      let derived = try await eventually { discovery.snapshot.community?.base64 == "n3x5rzCNhnzFmgVZAaSWjJDDzohBBHD4mhVLAmVqWhs=" }
      #expect(derived)
    }
  }
}
