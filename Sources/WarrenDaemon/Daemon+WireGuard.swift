internal import Logging
internal import Synchronization
internal import WarrenCrypto
internal import WarrenPrimitives
internal import WarrenSession
internal import WarrenWireGuard

/// WireGuard interfaces (docs/wireguard.md): a session for each of an interface's peers, and each
/// peer's endpoint pointed at its proxy.
extension Daemon {
  /// Reads `interface` every poll interval: new peers get a session, removed ones lose theirs.
  func watchInterface(_ interface: String) async throws {
    while true {
      try await Task.sleep(for: configuration.wireguard.pollInterval)
      await pollInterface(interface)
    }
  }

  /// Reads an interface, and keeps the reading for `warren status`.
  func readInterface(_ interface: String) async throws(WireGuardError) -> WireGuardDevice {
    let device = try await WireGuard.control(for: interface).device()
    devices.withLock { $0[interface] = device }
    return device
  }

  func pollInterface(_ interface: String) async {
    let device: WireGuardDevice
    do {
      device = try await readInterface(interface)
    } catch {
      logger.error("cannot read the WireGuard interface; trying again", metadata: ["error": "\(error)"])
      return
    }
    guard let ours = device.privateKey, let port = device.listenPort else {
      logger.error("the WireGuard interface has no private key or listen port yet", metadata: ["interface": "\(interface)"])
      return
    }
    let skipped = skippedPeers.withLock { $0 }
    let wanted = device.peers.filter { !skipped.contains($0.publicKey) }
    let current = running.withLock { $0.values.filter { $0.interface == interface }.map(\.peer) }
    for peer in current where !wanted.contains(where: { $0.publicKey == peer.publicKey }) {
      logger.notice("WireGuard peer removed; session stopped", metadata: ["interface": "\(interface)", "peer": "\(peer.publicKey)"])
      await stop(peer.name)
    }
    for peer in wanted where !current.contains(where: { $0.publicKey == peer.publicKey }) {
      if configuration.wireguard.skipStaticEndpoints.contains(interface), let endpoint = peer.endpoint {
        skippedPeers.withLock { _ = $0.insert(peer.publicKey) }
        logger.notice("WireGuard peer has an endpoint of its own; left alone", metadata: ["peer": "\(peer.publicKey)", "endpoint": "\(endpoint)"])
        continue
      }
      // The proxy delivers the peer's datagrams to WireGuard's port; WireGuard sends to the proxy.
      let name = "\(interface):\(peer.publicKey.base64.prefix(8))"
      let entry = DaemonConfiguration.Peer(
        name: name, publicKey: peer.publicKey, forward: TransportAddress(ip: .v4(0x7f00_0001), port: port),
        listen: TransportAddress(ip: .v4(0x7f00_0001), port: 0))
      logger.notice("WireGuard peer found; session started", metadata: ["interface": "\(interface)", "peer": "\(peer.publicKey)", "name": "\(name)"])
      start(entry, ours: ours, interface: interface)
    }
  }

  /// Whenever the session connects, points the WireGuard peer at its proxy (once per proxy
  /// address; a changed selected pair needs nothing, the proxy follows it). A failed session
  /// leaves the endpoint as it is.
  func pointWireGuard(_ interface: String, peer: Key, at link: PeerLink) async {
    for await transition in link.transitions where [.connected, .completed].contains(transition.to) {
      guard let listen = link.listenAddress else { continue }
      if devices.withLock({ $0[interface]?.peers.first { $0.publicKey == peer }?.endpoint }) == listen { continue }
      do {
        try await WireGuard.control(for: interface).setEndpoint(listen, peer: peer)
        devices.withLock { devices in
          if let index = devices[interface]?.peers.firstIndex(where: { $0.publicKey == peer }) {
            devices[interface]?.peers[index].endpoint = listen
          }
        }
        logger.notice("WireGuard peer pointed at Warren's proxy", metadata: ["interface": "\(interface)", "peer": "\(peer)", "endpoint": "\(listen)"])
      } catch {
        logger.error("could not set the WireGuard peer's endpoint", metadata: ["error": "\(error)"])
      }
    }
  }
}
