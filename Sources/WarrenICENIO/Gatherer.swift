public import Logging
public import WarrenICE
public import WarrenPrimitives

/// Gathers an agent's local candidates (RFC 8445 §5.1.1) on its driver: binds the host sockets,
/// asks each STUN server for a server-reflexive address and allocates a relayed address on each
/// TURN server, resolving server names at each gathering. Each candidate is reported the moment
/// it is known, so that it can be trickled (RFC 8838).
public struct Gatherer: Sendable {
  /// A TURN server and the long-term credentials to use with it (names are resolved at each
  /// gathering).
  public struct TURNServer: Sendable {
    public var host: String
    public var port: UInt16
    public var username: String
    public var password: String
    public var transport: RelayTransport

    public init(host: String, port: UInt16, username: String, password: String, transport: RelayTransport = .udp) {
      self.host = host
      self.port = port
      self.username = username
      self.password = password
      self.transport = transport
    }
  }

  /// Addresses to bind host candidates on, earlier ones preferred: asked at each gathering and
  /// at each change of the host's network (a daemon's network monitor keeps them current).
  public var hostAddresses: @Sendable () -> [TransportAddress.IP]
  /// Ports host candidates may bind (any free port when `nil`).
  public var portRange: ClosedRange<Int>?
  /// STUN servers asked for server-reflexive candidates.
  public var stunServers: [(host: String, port: UInt16)] = []
  /// TURN servers to allocate relayed addresses on; asked at each gathering (a relay registry's
  /// credentials change).
  public var turnServers: @Sendable () -> [TURNServer] = { [] }
  /// Candidate kinds reported (host sockets are always bound: they carry the checks of every
  /// other kind).
  public var candidateTypes: Set<CandidateType> = [.host, .serverReflexive, .peerReflexive, .relay]

  public init(hostAddresses: [TransportAddress.IP], portRange: ClosedRange<Int>? = nil) {
    self.init(hostAddresses: { hostAddresses }, portRange: portRange)
  }

  public init(hostAddresses: @escaping @Sendable () -> [TransportAddress.IP], portRange: ClosedRange<Int>? = nil) {
    self.hostAddresses = hostAddresses
    self.portRange = portRange
  }

  /// Gathers on `driver`, calling `found` with each candidate as soon as it is known. Failures
  /// (no interface address, a server that does not answer or resolve) are logged and skipped.
  public func gather(on driver: ICEDriver, logger: Logger, found: @Sendable (Candidate) -> Void) async {
    let addresses = hostAddresses()
    if addresses.isEmpty {
      logger.warning("no interface address to gather host candidates on (check ice.interfaces_include/exclude)")
    }
    await gather(on: driver, addresses: addresses, ranked: addresses, logger: logger, found: found)
  }

  /// Follows a change of the host's network on `driver`: what was on the `removed` addresses
  /// leaves the agent (a TURN allocation made from one of them too), and the `added` ones are
  /// gathered on as at the start — host candidates, server-reflexive ones from them, and a
  /// relayed one from each TURN server whose allocation is gone — each reported the moment it is
  /// known, so that it is trickled to the peer at once.
  public func follow(
    added: [TransportAddress.IP], removed: Set<TransportAddress.IP>, on driver: ICEDriver, logger: Logger,
    found: @Sendable (Candidate) -> Void
  ) async {
    if !removed.isEmpty {
      let lost = await driver.removeHostAddresses(removed)
      if !lost.isEmpty { logger.info("TURN allocations made from a vanished address are gone", metadata: ["turn": "\(lost)"]) }
    }
    let bound = driver.hostAddresses
    let fresh = added.filter { !bound.contains($0) }
    guard !fresh.isEmpty || !removed.isEmpty else { return }
    await gather(on: driver, addresses: fresh, ranked: hostAddresses(), logger: logger, found: found)
  }

  private func gather(
    on driver: ICEDriver, addresses: [TransportAddress.IP], ranked: [TransportAddress.IP], logger: Logger,
    found: @Sendable (Candidate) -> Void
  ) async {
    do {
      let hosts = try await driver.bindHostCandidates(addresses, ranked: ranked, ports: portRange)
      for candidate in hosts where candidateTypes.contains(.host) {
        logger.debug("gathered \(candidate)")
        found(candidate)
      }
    } catch {
      logger.error("gathering host candidates failed", metadata: ["error": "\(error)"])
    }
    // Relayed candidates and server-reflexive ones are gathered side by side.
    async let relays: Void = gatherRelays(on: driver, logger: logger, found: found)
    if candidateTypes.contains(.serverReflexive) {
      await gatherServerReflexive(on: driver, bases: Set(addresses), logger: logger, found: found)
    }
    await relays
  }

  /// Server-reflexive candidates from each STUN server (RFC 8445 §5.1.1.2), for the host
  /// sockets on `bases`.
  private func gatherServerReflexive(
    on driver: ICEDriver, bases: Set<TransportAddress.IP>, logger: Logger, found: @Sendable (Candidate) -> Void
  ) async {
    // Every server at once: one that does not answer (three tries of 500 ms) must not hold up
    // the candidates of one that does.
    await withoutActuallyEscaping(found) { found in
      await withDiscardingTaskGroup { group in
        for server in stunServers {
          group.addTask {
            for address in await resolve(server.host, server.port, what: "STUN", logger: logger) where !driver.isClosed {
              for candidate in await driver.gatherServerReflexive(server: address, bases: bases) where candidate.address != candidate.base {
                logger.debug("gathered \(candidate)", metadata: ["stun": "\(server.host):\(server.port)"])
                found(candidate)
              }
            }
          }
        }
      }
    }
  }

  /// Relayed candidates: an allocation on each TURN server (RFC 8656), one per address family,
  /// every server at once.
  private func gatherRelays(on driver: ICEDriver, logger: Logger, found: @Sendable (Candidate) -> Void) async {
    guard candidateTypes.contains(.relay) else { return }
    await withoutActuallyEscaping(found) { found in
      await withDiscardingTaskGroup { group in
        for server in turnServers() {
          group.addTask {
            for address in await resolve(server.host, server.port, what: "TURN", logger: logger) where !driver.isClosed {
              // One allocation per server; a change of network allocates only where it lost one.
              guard !driver.hasRelay(on: address) else { continue }
              guard
                let candidate = await driver.gatherRelay(
                  server: address, username: server.username, password: server.password, transport: server.transport)
              else {
                continue  // The driver logged why.
              }
              logger.debug("gathered \(candidate)", metadata: ["turn": "\(server.host):\(server.port)", "transport": "\(server.transport)"])
              found(candidate)
            }
          }
        }
      }
    }
  }

  /// The first IPv4 and the first IPv6 address of a server (the same server behind several
  /// addresses maps or relays us alike); nothing, with a log line, when the name does not resolve.
  private func resolve(_ host: String, _ port: UInt16, what: String, logger: Logger) async -> [TransportAddress] {
    do {
      let addresses = try await HostResolver.resolve(host, port: port)
      return [addresses.first(where: \.ip.isIPv4), addresses.first { !$0.ip.isIPv4 }].compactMap { $0 }
    } catch {
      logger.warning("\(what) server skipped", metadata: ["error": "\(error)"])
      return []
    }
  }
}
