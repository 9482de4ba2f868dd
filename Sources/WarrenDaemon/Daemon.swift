public import Logging
public import ServiceLifecycle
public import WarrenSignaling
internal import WarrenICENIO
internal import WarrenSTUN
internal import WarrenCrypto

/// `warren up`: one ``PeerLink`` per configured peer over the configured signaling backends, as a
/// service that stops cleanly on SIGTERM.
public final class Daemon: Service {
  public let links: [PeerLink]
  private let backend: any SignalingBackend
  private let logger: Logger

  public init(configuration: DaemonConfiguration, factory: BackendFactory, logger: Logger) throws {
    let backend = try factory.makeBackend(urls: configuration.backends)
    self.backend = backend
    self.logger = logger
    var addresses = InterfaceAddresses()
    addresses.include = configuration.interfaces.include
    addresses.exclude = configuration.interfaces.exclude
    addresses.ipv4 = configuration.interfaces.ipv4
    addresses.ipv6 = configuration.interfaces.ipv6
    let hosts = addresses.list().map(\.ip)
    let stunServers = configuration.iceURLs.compactMap(Daemon.stunServer)
    links = configuration.peers.map { peer in
      var options = PeerLink.Options(
        name: peer.name, keys: .init(ours: configuration.privateKey, theirs: peer.publicKey), hostAddresses: hosts,
        listen: peer.listen, forward: peer.forward)
      options.ice = configuration.ice
      options.stunServers = stunServers
      options.portRange = configuration.portRange
      return PeerLink(options: options, backend: backend, logger: logger)
    }
    logger.info(
      "warren up", metadata: [
        "key": "\(configuration.privateKey.publicKey)", "backends": "\(configuration.backends)",
        "peers": "\(configuration.peers.map(\.name))", "host_addresses": "\(hosts.map { "\($0)" })",
      ])
  }

  /// `stun:IP:PORT` (an IP literal; names are not resolved here yet).
  static func stunServer(_ url: String) -> STUNAddress? {
    guard url.lowercased().hasPrefix("stun:") else { return nil }
    var rest = Substring(url.dropFirst(5))
    if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
    var host = rest
    var port: UInt16 = 3478
    if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
      host = rest[rest.index(after: rest.startIndex)..<close]
      if let value = UInt16(rest[rest.index(after: close)...].dropFirst()) { port = value }
    } else if let colon = rest.lastIndex(of: ":") {
      host = rest[..<colon]
      port = UInt16(rest[rest.index(after: colon)...]) ?? port
    }
    return STUNAddress.IP(host).map { STUNAddress(ip: $0, port: port) }
  }

  /// Runs every peer link until SIGTERM (graceful shutdown) or cancellation.
  public func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        try await withThrowingDiscardingTaskGroup { group in
          for link in self.links { group.addTask { try await link.run() } }
        }
      }
    } catch is CancellationError {
      // Shutting down: the links' tasks end with their subscriptions and timers.
    }
    logger.info("shutting down: closing agents, proxies and signaling")
    await close()
  }

  public func close() async {
    for link in links { await link.close() }
    await backend.close()
  }
}
