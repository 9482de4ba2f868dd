public import Logging
public import ServiceLifecycle
public import WarrenSignaling
internal import Synchronization
internal import WarrenICE
internal import WarrenICENIO
internal import WarrenCrypto
internal import WarrenSession
internal import WarrenWireGuard
internal import WarrenPrimitives

/// `warren up`: one ``PeerLink`` per configured peer over the configured signaling backends, the
/// control socket, and peers added or removed by ``reload(_:)``; a service that stops cleanly on
/// SIGTERM.
public final class Daemon: Service {
  /// A peer's link, run by a child task of ``run()`` until ``stop`` is finished.
  private struct Running: Sendable {
    let peer: DaemonConfiguration.Peer
    let link: PeerLink
    /// The WireGuard interface the peer belongs to; `nil` for peers of the configuration file.
    let interface: String?
    /// Finishing it stops the peer's task.
    let stop: AsyncStream<Never>.Continuation
    let stopped: AsyncStream<Never>
    /// Finishes once the peer's task has closed the link.
    let done: AsyncStream<Never>
    let doneSink: AsyncStream<Never>.Continuation

    init(peer: DaemonConfiguration.Peer, link: PeerLink, interface: String?) {
      self.peer = peer
      self.link = link
      self.interface = interface
      (stopped, stop) = AsyncStream.makeStream()
      (done, doneSink) = AsyncStream.makeStream()
    }
  }

  /// What a reload changed, by peer name.
  public struct ReloadSummary: Sendable, Equatable {
    public var added: [String] = []
    public var removed: [String] = []
    /// Peers whose key, `listen` or `forward` changed: their session started over.
    public var restarted: [String] = []
    /// Settings that only a restart of `warren up` applies.
    public var ignored: [String] = []

    public init(added: [String] = [], removed: [String] = [], restarted: [String] = [], ignored: [String] = []) {
      self.added = added
      self.removed = removed
      self.restarted = restarted
      self.ignored = ignored
    }
  }

  /// The configuration the daemon started with; reloads change its peers only.
  public let configuration: DaemonConfiguration
  private let backend: any SignalingBackend
  /// Builds the backend and asks relay registries (schemes registered by the caller).
  private let factory: BackendFactory
  private let logger: Logger
  private let hostAddresses: [TransportAddress.IP]
  private let stunServers: [(host: String, port: UInt16)]
  private let turnServers: [Gatherer.TURNServer]
  /// TURN servers handed out by relay registries (`grpc://` in `ice.urls`), by registry URL.
  private let registeredRelays = Mutex<[String: [Gatherer.TURNServer]]>([:])
  private let registries: [String]
  private let running = Mutex<[String: Running]>([:])
  /// Peers to run, for the task group of ``run()`` (peers start before it and on reloads).
  private let launches: AsyncStream<Running>
  private let launchSink: AsyncStream<Running>.Continuation
  private let stopped = Mutex(false)
  /// The latest reading of each WireGuard interface (for status), and the peers left alone.
  private let devices = Mutex<[String: WireGuardDevice]>([:])
  private let skippedPeers = Mutex<Set<Key>>([])

  public init(configuration: DaemonConfiguration, factory: BackendFactory, logger: Logger) throws {
    self.configuration = configuration
    self.factory = factory
    (launches, launchSink) = AsyncStream.makeStream()
    backend = try factory.makeBackend(urls: configuration.backends)
    self.logger = logger
    var addresses = InterfaceAddresses()
    addresses.include = configuration.interfaces.include
    // Never the WireGuard interfaces themselves (session.md): a path through the tunnel it is
    // meant to carry would be a loop.
    addresses.exclude = configuration.interfaces.exclude + configuration.wireguard.interfaces
    addresses.ipv4 = configuration.interfaces.ipv4
    addresses.ipv6 = configuration.interfaces.ipv6
    hostAddresses = addresses.list().map(\.ip)
    stunServers = configuration.iceServers.filter { $0.scheme == .stun }.map { ($0.host, UInt16($0.port)) }
    var turnServers: [Gatherer.TURNServer] = []
    var registries: [String] = []
    for server in configuration.iceServers where server.scheme != .stun {
      if server.scheme == .grpc {
        registries.append(server.text)
      } else if server.scheme == .turn || server.scheme == .turns {
        guard let username = server.username ?? configuration.turnUsername,
          let password = server.password ?? configuration.turnPassword,
          let turn = Gatherer.TURNServer(server, username: username, password: password)
        else {
          logger.error("TURN server without credentials (in the URL, or ice.username and ice.password); skipped", metadata: ["url": "\(server)"])
          continue
        }
        turnServers.append(turn)
      } else {
        // STUN over TLS is not supported yet.
        logger.warning("this ICE server kind is not supported yet; ignored", metadata: ["url": "\(server)"])
      }
    }
    self.turnServers = turnServers
    self.registries = registries
    logger.info(
      "warren up", metadata: [
        "key": "\(configuration.privateKey.map { "\($0.publicKey)" } ?? "-")", "backends": "\(configuration.backends)",
        "wireguard": "\(configuration.wireguard.interfaces)",
        "peers": "\(configuration.peers.map(\.name))", "host_addresses": "\(hostAddresses.map { "\($0)" })",
      ])
  }

  /// The running peer links, by name.
  public var links: [PeerLink] {
    running.withLock { $0.values.sorted { $0.peer.name < $1.peer.name }.map(\.link) }
  }

  /// The control socket's path.
  public var controlSocketPath: String { configuration.controlSocket ?? ControlSocket.defaultPath() }

  /// Runs every peer link and the control socket until SIGTERM (graceful shutdown) or
  /// cancellation. A control socket that cannot be bound stops the daemon before any peer starts.
  public func run() async throws {
    let control = try await ControlServer(path: controlSocketPath, logger: logger)
    // The first answer of each relay registry before any session gathers candidates (asked with
    // a WireGuard interface's key when there is no private_key).
    for interface in configuration.wireguard.interfaces { _ = try? await readInterface(interface) }
    var firstRefresh: [String: ContinuousClock.Instant] = [:]
    for registry in registries { firstRefresh[registry] = await fetchRelays(registry) }
    let refreshes = firstRefresh
    for peer in configuration.peers { start(peer) }
    for interface in configuration.wireguard.interfaces { await pollInterface(interface) }
    do {
      try await cancelWhenGracefulShutdown {
        try await withThrowingDiscardingTaskGroup { group in
          group.addTask { try await control.run { request, reply in try await self.handle(request, reply: reply) } }
          group.addTask {
            // Each peer runs on its own: one that fails (a listen port in use) stops no other.
            await withDiscardingTaskGroup { peers in
              for await peer in self.launches { peers.addTask { await self.run(peer) } }
            }
          }
          for (registry, next) in refreshes {
            group.addTask { try await self.keepRelaysFresh(registry, from: next) }
          }
          for interface in self.configuration.wireguard.interfaces {
            group.addTask { try await self.watchInterface(interface) }
          }
        }
      }
    } catch is CancellationError {
      // Shutting down.
    }
    logger.info("shutting down: closing agents, proxies and signaling")
    await close()
  }

  /// Runs one peer's link (and points its WireGuard peer at it) until the peer is stopped or
  /// the daemon shuts down, then closes the link.
  private func run(_ peer: Running) async {
    // The stop signal ends the group by throwing, which cancels the link's tasks.
    try? await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        do {
          try await peer.link.run()
        } catch is CancellationError {
        } catch {
          self.logger.error("peer stopped", metadata: ["peer": "\(peer.peer.name)", "error": "\(error)"])
        }
      }
      if let interface = peer.interface {
        group.addTask { await self.pointWireGuard(interface, peer: peer.peer.publicKey, at: peer.link) }
      }
      group.addTask {
        for await _ in peer.stopped {}
        throw CancellationError()
      }
    }
    await peer.link.close()
    peer.doneSink.finish()
  }

  /// Applies a re-read configuration: starts new peers, stops removed ones and restarts peers
  /// whose key, `listen` or `forward` changed; the other sessions are not touched.
  @discardableResult
  public func reload(_ new: DaemonConfiguration) async -> ReloadSummary {
    var summary = ReloadSummary()
    let old = configuration
    if new.privateKey?.publicKey != old.privateKey?.publicKey { summary.ignored.append("private_key") }
    if new.wireguard != old.wireguard { summary.ignored.append("wireguard") }
    if new.backends != old.backends { summary.ignored.append("backends") }
    if new.iceURLs != old.iceURLs || new.portRange != old.portRange { summary.ignored.append("ice") }
    if new.controlSocket != old.controlSocket { summary.ignored.append("control_socket") }

    let current = running.withLock { $0.filter { $0.value.interface == nil }.mapValues(\.peer) }
    let wanted = Dictionary(new.peers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    for (name, peer) in current where wanted[name] != peer {
      if wanted[name] == nil { summary.removed.append(name) } else { summary.restarted.append(name) }
      await stop(name)
    }
    for peer in new.peers where current[peer.name] != peer {
      if current[peer.name] == nil { summary.added.append(peer.name) }
      start(peer)
    }
    summary.added.sort()
    summary.removed.sort()
    summary.restarted.sort()
    logger.notice(
      "configuration reloaded", metadata: [
        "added": "\(summary.added)", "removed": "\(summary.removed)", "restarted": "\(summary.restarted)",
      ])
    if !summary.ignored.isEmpty {
      logger.warning("these settings changed but apply only when warren up restarts", metadata: ["settings": "\(summary.ignored)"])
    }
    return summary
  }

  public func close() async {
    stopped.withLock { $0 = true }
    launchSink.finish()
    let names = running.withLock { Array($0.keys) }
    for name in names { await stop(name) }
    await backend.close()
  }

  // MARK: - Relay registries

  /// Asks a relay registry for our TURN servers and credentials; returns when to ask again: a
  /// minute before the first credentials expire, in 10 minutes without expiry, in 30 s after a
  /// failure.
  private func fetchRelays(_ registry: String) async -> ContinuousClock.Instant {
    do {
      // The registry names credentials after a key: ours, or the first WireGuard interface's.
      let key = configuration.privateKey?.publicKey ?? devices.withLock { $0.values.compactMap(\.privateKey).first?.publicKey }
      guard let key else { throw ControlFailure("no key to ask with yet") }
      let relays = try await factory.relays(from: registry, for: key)
      var servers: [Gatherer.TURNServer] = []
      for relay in relays {
        guard let url = try? ICEServerURL(relay.url), let turn = Gatherer.TURNServer(url, username: relay.username, password: relay.password)
        else {
          logger.debug("relay from the registry not used", metadata: ["url": "\(relay.url)"])
          continue
        }
        servers.append(turn)
      }
      registeredRelays.withLock { $0[registry] = servers }
      logger.info("relay registry answered", metadata: ["registry": "\(registry)", "turn": "\(servers.map { "\($0.host):\($0.port)" })"])
      let firstExpiry = relays.compactMap(\.expires).min()
      return firstExpiry.map { max($0 - .seconds(60), .now + .seconds(10)) } ?? .now + .seconds(600)
    } catch {
      logger.warning("relay registry did not answer; asking again in 30 s", metadata: ["registry": "\(registry)", "error": "\(error)"])
      return .now + .seconds(30)
    }
  }

  private func keepRelaysFresh(_ registry: String, from first: ContinuousClock.Instant) async throws {
    var next = first
    while true {
      try await Task.sleep(until: next)
      next = await fetchRelays(registry)
    }
  }

  /// Configured TURN servers, then those of the relay registries.
  private var currentTURNServers: [Gatherer.TURNServer] {
    turnServers + registeredRelays.withLock { relays in relays.keys.sorted().flatMap { relays[$0] ?? [] } }
  }

  // MARK: - Peers

  private func start(_ peer: DaemonConfiguration.Peer, ours: PrivateKey? = nil, interface: String? = nil) {
    guard !stopped.withLock({ $0 }), let ours = ours ?? configuration.privateKey else { return }
    var gatherer = Gatherer(hostAddresses: hostAddresses, portRange: configuration.portRange)
    gatherer.stunServers = stunServers
    gatherer.candidateTypes = configuration.candidateTypes
    gatherer.turnServers = { [weak self] in self?.currentTURNServers ?? [] }
    var options = PeerLink.Options(
      name: peer.name, keys: .init(ours: ours, theirs: peer.publicKey), gatherer: gatherer, listen: peer.listen, forward: peer.forward)
    options.ice = configuration.ice
    let link = PeerLink(options: options, backend: backend, logger: logger)
    let entry = Running(peer: peer, link: link, interface: interface)
    running.withLock { $0[peer.name] = entry }
    launchSink.yield(entry)
  }

  private func stop(_ name: String) async {
    guard let entry = running.withLock({ $0.removeValue(forKey: name) }) else { return }
    entry.stop.finish()
    for await _ in entry.done {}
  }

  private func peer(named nameOrKey: String) -> (DaemonConfiguration.Peer, PeerLink)? {
    running.withLock { running in
      running[nameOrKey].map { ($0.peer, $0.link) }
        ?? running.values.first { "\($0.peer.publicKey)" == nameOrKey }.map { ($0.peer, $0.link) }
    }
  }

  // MARK: - WireGuard interfaces

  /// Reads `interface` every poll interval: new peers get a session, removed ones lose theirs.
  private func watchInterface(_ interface: String) async throws {
    while true {
      try await Task.sleep(for: configuration.wireguard.pollInterval)
      await pollInterface(interface)
    }
  }

  /// Reads an interface, and keeps the reading for `warren status`.
  private func readInterface(_ interface: String) async throws(WireGuardError) -> WireGuardDevice {
    let device = try await WireGuard.control(for: interface).device()
    devices.withLock { $0[interface] = device }
    return device
  }

  private func pollInterface(_ interface: String) async {
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
      if configuration.wireguard.skipStaticEndpoints, let endpoint = peer.endpoint {
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
  private func pointWireGuard(_ interface: String, peer: Key, at link: PeerLink) async {
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

  // MARK: - Control requests

  private func handle(_ request: ControlRequest, reply: ControlReplyWriter) async throws {
    switch request.command {
    case .status:
      // WireGuard's counters and handshake as of now, not as of the last poll.
      for interface in configuration.wireguard.interfaces { _ = try? await readInterface(interface) }
      try await reply.send(statusReport())
    case .ping:
      try await ping(request, reply: reply)
    }
  }

  /// Every peer's state, path and counters.
  public func statusReport() -> StatusReport {
    let now = ContinuousClock.now
    let entries = running.withLock { $0.values.sorted { $0.peer.name < $1.peer.name } }
    let devices = devices.withLock { $0 }
    return StatusReport(
      publicKey: configuration.privateKey.map { "\($0.publicKey)" },
      peers: entries.map { entry in
        var report = PeerReport(peer: entry.peer, link: entry.link, now: now)
        if let interface = entry.interface {
          report.interface = interface
          report.wireguard = devices[interface]?.peers.first { $0.publicKey == entry.peer.publicKey }.map(WireGuardPeerReport.init)
        }
        return report
      })
  }

  private func ping(_ request: ControlRequest, reply: ControlReplyWriter) async throws {
    guard let name = request.peer, !name.isEmpty else { throw ControlFailure("ping needs a peer (its name or public key)") }
    guard let (peer, link) = peer(named: name) else {
      let known = running.withLock { $0.keys.sorted() }
      throw ControlFailure("no peer named '\(name)' (configured: \(known.joined(separator: ", ")))")
    }
    let count = request.count ?? 5
    let interval = Duration.milliseconds(request.intervalMs ?? 1000)
    let timeout = Duration.milliseconds(request.timeoutMs ?? 2000)
    guard (1...1000).contains(count) else { throw ControlFailure("count must be between 1 and 1000, got \(count)") }
    guard interval >= .milliseconds(10) else { throw ControlFailure("interval must be at least 10 ms") }
    guard (.milliseconds(10) ... .seconds(60)).contains(timeout) else { throw ControlFailure("timeout must be between 10 ms and 60 s") }
    for seq in 1...count {
      let started = ContinuousClock.now
      let answer: PingReply
      switch await link.probe(timeout: timeout) {
      case .answered(let rtt, let pair):
        answer = PingReply(
          seq: seq, peer: peer.name, result: .answered, rttMs: rtt.milliseconds, path: "\(pair.path)",
          remote: "\(pair.remote.type) \(pair.remote.address)")
      case .lost:
        answer = PingReply(seq: seq, peer: peer.name, result: .lost)
      case .noPath:
        answer = PingReply(seq: seq, peer: peer.name, result: .noPath)
      }
      try await reply.send(answer)
      if seq < count { try await Task.sleep(until: started + interval) }
    }
  }
}

extension PeerReport {
  init(peer: DaemonConfiguration.Peer, link: PeerLink, now: ContinuousClock.Instant) {
    let status = link.status
    let pair = status.selectedPair
    self.init(
      name: peer.name, publicKey: "\(peer.publicKey)", state: "\(status.state)", role: "\(status.role)",
      path: pair.map { "\($0.path)" },
      local: pair.map { Endpoint(type: "\($0.local.type)", address: "\($0.local.base)") },
      remote: pair.map { Endpoint(type: "\($0.remote.type)", address: "\($0.remote.address)") },
      rttMs: status.roundTripTime?.milliseconds, restarts: status.restarts,
      restartCauses: RestartCounts(status.restartCauses), droppedMessages: DroppedMessageCounts(status.droppedMessages),
      secondsInState: status.since.map { (now - $0).seconds }, listen: link.listenAddress.map { "\($0)" },
      forward: "\(peer.forward)",
      packetsSent: status.proxy.packetsToPeer, bytesSent: status.proxy.bytesToPeer, packetsReceived: status.proxy.packetsToApplication,
      bytesReceived: status.proxy.bytesToApplication, droppedNoPath: status.proxy.droppedNoPath)
  }
}

extension Duration {
  /// Seconds, to the microsecond (reports need no more, and JSON stays readable).
  var seconds: Double { ((Double(components.seconds) + Double(components.attoseconds) / 1e18) * 1e6).rounded() / 1e6 }
  /// Milliseconds, to the microsecond.
  var milliseconds: Double { (seconds * 1e6).rounded() / 1e3 }
}
