public import Logging
public import ServiceLifecycle
public import WarrenSignaling
internal import WarrenICE
public import WarrenICENIO
internal import WarrenCrypto
internal import WarrenDiscovery
internal import WarrenNFTables
internal import WarrenSession
internal import WarrenWireGuard
public import WarrenWire
internal import WarrenPrimitives
internal import WarrenListener

/// `warren up`: one ``PeerLink`` per configured peer over the configured signaling backends, the
/// control socket, and peers added or removed by ``reload(_:)``; a service that stops cleanly on
/// SIGTERM.
public final class Daemon: Service {
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
  let backend: any SignalingBackend
  /// Builds the backend and asks relay registries (schemes registered by the caller).
  let factory: BackendFactory
  let logger: Logger
  /// The time every peer link, discovery runner and timer of the daemon reads.
  let clock: any DriverClock
  /// This host's addresses, kept current as the network changes.
  let network: HostNetwork
  /// The STUN and TURN servers sessions gather with, relay registries' among them.
  let iceServers: ICEServers
  /// The running peers, by name.
  let peers = RunningPeers()
  /// The latest reading of each WireGuard interface, the peers left alone, the addresses from
  /// the interface's key.
  let interfaces = WireGuardInterfaces()
  /// The kernel data path, and each WireGuard peer's current data path.
  let dataPaths = PeerDataPaths()
  /// Peer discovery, by interface (docs/discovery.md).
  let discoveries: [String: DiscoveryRunner]
  /// `metrics:`'s endpoint, and when the process started (for `process_start_time_seconds`).
  let metricsEndpoint = Locked<MetricsEndpoint?>(nil)
  let startTime = Double(WallClock.unixMilliseconds) / 1000

  /// - Parameter buildInfo: announced to the community by peer discovery.
  public init(
    configuration: DaemonConfiguration, factory: BackendFactory, logger: Logger, buildInfo: Cunicu_BuildInfo = Cunicu_BuildInfo(),
    clock: any DriverClock = ContinuousClock()
  ) throws {
    self.configuration = configuration
    self.clock = clock
    self.factory = factory
    let backend = try factory.makeBackend(urls: configuration.backends)
    self.backend = backend
    self.logger = logger
    var discoveries: [String: DiscoveryRunner] = [:]
    for (interface, settings) in configuration.wireguard.discovery {
      discoveries[interface] = DiscoveryRunner(
        interface: interface, settings: settings, addressesFromKey: configuration.wireguard.addressesFromKey, backend: backend,
        control: WireGuard.control(for: interface), buildInfo: buildInfo, logger: logger, clock: clock)
    }
    self.discoveries = discoveries
    var addresses = InterfaceAddresses()
    addresses.include = configuration.interfaces.include
    // Never the WireGuard interfaces themselves (session.md): a path through the tunnel it is
    // meant to carry would be a loop.
    addresses.exclude = configuration.interfaces.exclude + configuration.wireguard.interfaces
    addresses.ipv4 = configuration.interfaces.ipv4
    addresses.ipv6 = configuration.interfaces.ipv6
    network = HostNetwork(addresses)
    iceServers = ICEServers(configuration, logger: logger)
    for (interface, discovery) in discoveries {
      discovery.attach(
        DiscoveryRunner.Hooks(
          device: { [weak self] in self?.interfaces.reading(interface) },
          peersChanged: { [weak self] in await self?.pollInterface(interface) }))
    }
    logger.info(
      "warren up", metadata: [
        "key": "\(configuration.privateKey.map { "\($0.publicKey)" } ?? "-")", "backends": "\(configuration.backends)",
        "wireguard": "\(configuration.wireguard.interfaces)",
        "peers": "\(configuration.peers.map(\.name))", "host_addresses": "\(network.addresses.map { "\($0)" })",
      ])
  }

  /// The running peer links, by name.
  public var links: [PeerLink] {
    peers.all.map(\.link)
  }

  /// The control socket's path.
  public var controlSocketPath: String { configuration.controlSocket ?? ControlSocket.defaultPath() }

  /// Runs every peer link and the control socket until SIGTERM (graceful shutdown) or
  /// cancellation. A control socket that cannot be bound stops the daemon before any peer starts.
  public func run() async throws {
    // Before anything else: a table left by a killed daemon would redirect today's traffic.
    try openKernelDataPath()
    // Then peer discovery, alongside everything else: its community key and subscription take
    // about 0.1 s, and a member that announces once (cunicu, at its start) reaches only those
    // already subscribed. Started after the relays and the interfaces, Warren subscribed ~15 ms
    // after a cunicu started with it had announced, and learned it a second later.
    try await withThrowingDiscardingTaskGroup { discovering in
      for discovery in discoveries.values { discovering.addTask { try await discovery.run() } }
      try await runLinks()
      discovering.cancelAll()
    }
  }

  /// The control socket, the relays, every peer link and interface watcher until SIGTERM.
  private func runLinks() async throws {
    let control = try await ControlServer(path: controlSocketPath, logger: logger)
    // The first answer of each relay registry before any session gathers candidates (asked with
    // a WireGuard interface's key when there is no private_key).
    for interface in configuration.wireguard.interfaces { _ = try? await readInterface(interface) }
    var firstRefresh: [String: ContinuousClock.Instant] = [:]
    for registry in iceServers.registries { firstRefresh[registry] = await fetchRelays(registry) }
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
              for await peer in self.peers.launches { peers.addTask { await self.run(peer) } }
            }
          }
          for (registry, next) in refreshes {
            group.addTask { try await self.keepRelaysFresh(registry, from: next) }
          }
          for interface in self.configuration.wireguard.interfaces {
            group.addTask { try await self.watchInterface(interface) }
          }
          group.addTask { await self.watchNetwork() }
          if let address = self.configuration.metrics {
            let endpoint = MetricsEndpoint(host: "\(address.ip)", port: Int(address.port), logger: self.logger) { [weak self] in
              guard let self else { return [] }
              return DaemonMetrics.scrape(self.statusReport(), backend: self.backend, startTime: self.startTime)
            }
            self.metricsEndpoint.withLock { $0 = endpoint }
            group.addTask { try await endpoint.run() }
          }
        }
      }
    } catch is CancellationError {
      // Shutting down.
    }
    metricsEndpoint.withLock { $0 }?.close()
    logger.info("shutting down: closing agents, proxies and signaling")
    await close()
  }

  /// Runs one peer's link (and points its WireGuard peer at it) until the peer is stopped or
  /// the daemon shuts down, then closes the link.
  func run(_ peer: RunningPeer) async {
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
        group.addTask { await self.carryWireGuard(interface, peer: peer.peer, link: peer.link) }
      }
      group.addTask {
        for await _ in peer.stopped {}
        throw CancellationError()
      }
    }
    await peer.link.close()
    if peer.interface != nil {
      do {
        try dataPaths.kernel.path?.set(nil, for: peer.peer.name)
      } catch {
        logger.error("could not remove the stopped peer's kernel redirection", metadata: ["peer": "\(peer.peer.name)", "error": "\(error)"])
      }
      dataPaths.forget(peer.peer.name)
    }
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
    if new.metrics != old.metrics { summary.ignored.append("metrics") }

    let current = Dictionary(uniqueKeysWithValues: peers.on(nil).map { ($0.peer.name, $0.peer) })
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
    let names = peers.close()
    // REMOVE to the community while signaling still works; at most 2 s for all interfaces.
    await withTaskGroup(of: Void.self) { leaving in
      leaving.addTask {
        await withDiscardingTaskGroup { group in
          for discovery in self.discoveries.values { group.addTask { await discovery.leave() } }
        }
      }
      leaving.addTask { [clock] in try? await clock.sleep(until: clock.now + .seconds(2), tolerance: nil) }
      await leaving.next()
      leaving.cancelAll()
    }
    for name in names { await stop(name) }
    closeKernelDataPath()
    await backend.close()
  }

  // MARK: - Peers

  func start(_ peer: DaemonConfiguration.Peer, ours: PrivateKey? = nil, interface: String? = nil) {
    guard !peers.isClosed, let ours = ours ?? configuration.privateKey else { return }
    let network = self.network
    var gatherer = Gatherer(hostAddresses: { network.addresses }, portRange: configuration.portRange)
    gatherer.stunServers = iceServers.stun
    gatherer.candidateTypes = configuration.candidateTypes
    gatherer.turnServers = { [iceServers] in iceServers.turn }
    var options = PeerLink.Options(
      name: peer.name, keys: .init(ours: ours, theirs: peer.publicKey), gatherer: gatherer, listen: peer.listen, forward: peer.forward)
    options.ice = configuration.ice
    options.formerKey = interface.flatMap { discoveries[$0]?.previousKey(of: peer.publicKey) }
    if let former = options.formerKey {
      logger.notice(
        "the peer changed its key and may still listen on its old one (cunicu does until it restarts): messages go to both",
        metadata: ["peer": "\(peer.publicKey)", "old_key": "\(former)"])
    }
    options.resumed = { [weak self] gap in self?.resumed(after: gap) }
    let link = PeerLink(options: options, backend: backend, logger: logger, clock: clock)
    _ = peers.add(RunningPeer(peer: peer, link: link, interface: interface))
  }

  func stop(_ name: String) async {
    guard let entry = peers.remove(name) else { return }
    entry.stop.finish()
    for await _ in entry.done {}
  }

  func peer(named nameOrKey: String) -> (DaemonConfiguration.Peer, PeerLink)? {
    peers.named(nameOrKey).map { ($0.peer, $0.link) }
  }
}
