#if canImport(Glibc)
internal import Glibc
#endif
internal import Logging
internal import WarrenCrypto
internal import WarrenICE
internal import WarrenICENIO
internal import WarrenNFTables
internal import WarrenPrimitives
internal import WarrenSession
internal import WarrenWireGuard

/// WireGuard interfaces (docs/wireguard.md): a session for each of an interface's peers, and each
/// peer's endpoint pointed at its proxy.
extension Daemon {
  /// Reads `interface` every poll interval: new peers get a session, removed ones lose theirs.
  func watchInterface(_ interface: String) async throws {
    while true {
      try await clock.sleep(until: clock.now + configuration.wireguard.pollInterval, tolerance: nil)
      await pollInterface(interface)
    }
  }

  /// Reads an interface, and keeps the reading for `warren status`.
  func readInterface(_ interface: String) async throws(WireGuardError) -> WireGuardDevice {
    let device = try await WireGuard.control(for: interface).device()
    interfaces.record(device, of: interface)
    return device
  }

  func pollInterface(_ interface: String) async {
    let device: WireGuardDevice
    let before = interfaces.reading(interface)
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
    await assignKeyAddresses(interface, key: ours.publicKey)
    discoveries[interface]?.interfaceRead(key: ours)
    noteTraffic(interface, from: before, to: device)
    let skipped = interfaces.skipped
    let wanted = device.peers.filter { !skipped.contains($0.publicKey) }
    // A new private key on the interface: its sessions start over with it.
    let stale = peers.on(interface).filter { $0.link.options.keys.ours != ours }.map(\.peer.name)
    if !stale.isEmpty {
      logger.notice("the interface's private key changed; its sessions start over", metadata: ["interface": "\(interface)", "key": "\(ours.publicKey)"])
      for name in stale { await stop(name) }
    }
    let current = peers.on(interface).map(\.peer)
    for peer in current where !wanted.contains(where: { $0.publicKey == peer.publicKey }) {
      logger.notice("WireGuard peer removed; session stopped", metadata: ["interface": "\(interface)", "peer": "\(peer.publicKey)"])
      await stop(peer.name)
    }
    for peer in wanted where !current.contains(where: { $0.publicKey == peer.publicKey }) {
      if configuration.wireguard.skipStaticEndpoints.contains(interface), let endpoint = peer.endpoint {
        interfaces.skip(peer.publicKey)
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

  /// Tells each kernel-path peer's agent that WireGuard sent to the peer since the last reading:
  /// those datagrams bypass Warren, and the agent checks the path fast only while traffic flows
  /// (docs/ice.md, "Path survival"). Userspace-path peers' agents see their traffic themselves.
  func noteTraffic(_ interface: String, from before: WireGuardDevice?, to after: WireGuardDevice) {
    guard let before else { return }
    let sending = after.peers.filter { peer in
      before.peers.first { $0.publicKey == peer.publicKey }.map { peer.transmittedBytes > $0.transmittedBytes } ?? false
    }
    guard !sending.isEmpty else { return }
    let paths = dataPaths.choices
    for entry in peers.on(interface) where paths[entry.peer.name]?.path == .kernel && sending.contains(where: { $0.publicKey == entry.peer.publicKey }) {
      entry.link.noteTraffic()
    }
  }

  /// Opens the kernel data path before any peer starts: removes the table an earlier run may
  /// have left (killed daemons cannot), and finds out whether nftables can be programmed here.
  /// With `data_path: kernel` a host that cannot is an error; with `auto` one log line says why
  /// the userspace proxy carries everything.
  func openKernelDataPath() throws(NFTablesError) {
    let wireguard = configuration.wireguard
    guard !wireguard.interfaces.isEmpty else { return }
    do {
      // Opening it removes an earlier run's table, also when this run will not use it.
      let kernel = try KernelDataPath()
      guard wireguard.dataPath != .userspace else {
        dataPaths.setKernelUnavailable("data_path: userspace")
        return
      }
      dataPaths.setKernel(kernel)
      logger.info("kernel data path ready: direct paths keep WireGuard's datagrams in the kernel (nftables table inet warren)")
    } catch {
      dataPaths.setKernelUnavailable(error.message)
      switch wireguard.dataPath {
      case .kernel:
        logger.critical("data_path: kernel, but nftables cannot be programmed", metadata: ["error": "\(error)"])
        throw error
      case .auto:
        logger.warning(
          "kernel data path unavailable; the userspace proxy carries WireGuard's traffic (run as root or with CAP_NET_ADMIN, with nftables installed)",
          metadata: ["error": "\(error)"])
      case .userspace:
        break
      }
    }
  }

  /// Removes Warren's nftables table at shutdown: nothing of Warren's stays in the ruleset.
  func closeKernelDataPath() {
    guard let kernel = dataPaths.kernel.path else { return }
    do {
      try kernel.removeAll()
      logger.info("removed Warren's nftables table")
    } catch {
      logger.error("could not remove Warren's nftables table", metadata: ["error": "\(error)"])
    }
  }

  /// Follows the pairs the peer's agents select: each one's data path is chosen
  /// (``DataPathChoice``) and set up — the kernel's redirection and WireGuard's endpoint at the
  /// remote candidate, or WireGuard's endpoint at the proxy — in an order that loses nothing in
  /// flight (docs/wireguard.md, "Switching"). A failed session leaves everything as it is.
  func carryWireGuard(_ interface: String, peer: DaemonConfiguration.Peer, link: PeerLink) async {
    // The session (restart count) whose pair WireGuard was last pointed at.
    var carriedSession: Int?
    for await pair in link.selections {
      let session = link.status.restarts
      await carry(interface, peer: peer, link: link, over: pair, newSession: session != carriedSession)
      carriedSession = session
    }
  }

  private func carry(_ interface: String, peer: DaemonConfiguration.Peer, link: PeerLink, over pair: CandidatePair, newSession: Bool) async {
    let (kernel, unavailable) = dataPaths.kernel
    guard let port = interfaces.reading(interface)?.listenPort, let proxy = link.listenAddress else { return }
    let change = DataPathSwitch(
      redirect: { (redirect) throws(NFTablesError) in try kernel?.set(redirect, for: peer.name) },
      pointWireGuard: { (endpoint) throws(WireGuardError) in
        let (role, peerIsWarren) = (link.status.role, link.peerIsWarren)
        try await self.pointWireGuard(
          interface, peer: peer.publicKey, at: endpoint,
          renews: { hasSession in HandshakeStarter.renews(role: role, peerIsWarren: peerIsWarren, hasSession: hasSession, newSession: newSession) },
          roundTripTime: pair.statistics.currentRoundTripTime)
      })
    let outcome: DataPathSwitch.Outcome
    do {
      outcome = try await change.move(
        over: pair,
        choice: DataPathChoice(
          mode: configuration.wireguard.dataPath, pair: pair, kernelUnavailable: unavailable,
          kernelSource: RouteLookup.sourceAddress(toward: pair.remote.address)),
        proxy: proxy, wireGuardPort: port, peer: peer.name)
    } catch {
      logger.error("could not move the WireGuard peer to its new path", metadata: ["peer": "\(peer.name)", "error": "\(error)"])
      return
    }
    if let stale = outcome.staleRedirect {
      logger.error("could not remove the peer's kernel redirection", metadata: ["peer": "\(peer.name)", "error": "\(stale)"])
    }
    let choice = outcome.choice
    let previous = dataPaths.choose(choice, for: peer.name)
    if previous != choice {
      logger.notice(
        "data path: \(choice.path) (\(choice.reason))",
        metadata: ["peer": "\(peer.name)", "pair": "\(pair)", "data_path": "\(choice.path)"])
    }
  }

  /// Points the WireGuard peer at `endpoint`. A peer without a live WireGuard session on the
  /// side that starts handshakes (``HandshakeStarter``) is renewed instead
  /// (``WireGuardControl/renewPeer(_:endpoint:)``), so that it shakes hands at once rather than
  /// after the 5 s that WireGuard waits after a failed attempt.
  /// - Parameters:
  ///   - renews: whether to renew, given whether the peer has a live session (``HandshakeStarter``).
  ///   - roundTripTime: the selected pair's, which bounds how long a handshake takes.
  func pointWireGuard(
    _ interface: String, peer key: Key, at endpoint: TransportAddress, renews: (_ hasSession: Bool) -> Bool, roundTripTime: Duration?
  ) async throws(WireGuardError) {
    let device = try await readInterface(interface)
    guard let peer = device.peers.first(where: { $0.publicKey == key }) else {
      throw WireGuardError(.refused, interface, "peer \(key) is no longer on the interface")
    }
    let now = Int64(time(nil))
    // WireGuard discards a session's keys after 180 s without a new handshake (REJECT_AFTER_TIME).
    let hasSession = peer.lastHandshake > 0 && now - peer.lastHandshake < 180
    let control = WireGuard.control(for: interface)
    if !renews(hasSession) {
      // Set even when unchanged: WireGuard sends from the local address the peer's datagrams last
      // arrived at (wireguard-go's sticky source, with that interface's index), and after a network
      // change that address may be gone; a new endpoint makes it choose again.
      try await control.setEndpoint(endpoint, peer: key)
      if peer.endpoint != endpoint {
        logger.notice("WireGuard peer pointed at \(endpoint)", metadata: ["interface": "\(interface)", "peer": "\(key)"])
      } else {
        logger.debug("WireGuard peer pointed at \(endpoint) again (the local side of the path changed)", metadata: ["interface": "\(interface)", "peer": "\(key)"])
      }
    } else {
      try await control.renewPeer(peer, endpoint: endpoint)
      logger.notice(
        "WireGuard peer pointed at \(endpoint) and renewed: it shakes hands now", metadata: ["interface": "\(interface)", "peer": "\(key)"])
      try await awaitHandshake(interface, peer: peer, endpoint: endpoint, control: control, roundTripTime: roundTripTime)
    }
    interfaces.pointed(key, on: interface, at: endpoint)
  }

  /// The first initiation is lost when it reaches the other side before its agent has the pair
  /// (its ICE socket drops what arrives before): WireGuard would retry only after 5 s. So while
  /// no handshake completes, the peer is renewed again, at most 4 times, each after four round
  /// trips of the pair (at least 200 ms, at most 2 s: never sooner than a handshake can finish).
  private func awaitHandshake(
    _ interface: String, peer: WireGuardDevice.Peer, endpoint: TransportAddress, control: any WireGuardControl,
    roundTripTime: Duration?
  ) async throws(WireGuardError) {
    let window = min(max((roundTripTime ?? .zero) * 4, .milliseconds(200)), .seconds(2))
    for attempt in 1...4 {
      for _ in 0..<5 {
        do { try await clock.sleep(until: clock.now + window / 5, tolerance: nil) } catch { return }
        if try await readInterface(interface).peers.first(where: { $0.publicKey == peer.publicKey })?.lastHandshake ?? 0 > 0 { return }
      }
      try await control.renewPeer(peer, endpoint: endpoint)
      logger.info("no WireGuard handshake yet; peer renewed again", metadata: ["peer": "\(peer.publicKey)", "attempt": "\(attempt)"])
    }
  }
}
