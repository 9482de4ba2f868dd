internal import Logging
internal import WarrenCrypto
internal import WarrenICENIO
internal import WarrenSignaling
internal import WarrenWireGuard

/// TURN servers from relay registries (`grpc://` in `ice.urls`, docs/turn.md): asked before any
/// session gathers, and again before their credentials expire.
extension Daemon {
  /// Asks a relay registry for our TURN servers and credentials; returns when to ask again: a
  /// minute before the first credentials expire, in 10 minutes without expiry, in 30 s after a
  /// failure.
  func fetchRelays(_ registry: String) async -> ContinuousClock.Instant {
    do {
      // The registry names credentials after a key: ours, or the first WireGuard interface's.
      let key = configuration.privateKey ?? interfaces.anyPrivateKey
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
      iceServers.setRegistered(servers, by: registry)
      logger.info("relay registry answered", metadata: ["registry": "\(registry)", "turn": "\(servers.map { "\($0.host):\($0.port)" })"])
      let firstExpiry = relays.compactMap(\.expires).min()
      let now = clock.now
      return firstExpiry.map { max($0 - .seconds(60), now + .seconds(10)) } ?? now + .seconds(600)
    } catch {
      logger.warning("relay registry did not answer; asking again in 30 s", metadata: ["registry": "\(registry)", "error": "\(error)"])
      return clock.now + .seconds(30)
    }
  }

  func keepRelaysFresh(_ registry: String, from first: ContinuousClock.Instant) async throws {
    var next = first
    while true {
      try await clock.sleep(until: next, tolerance: nil)
      next = await fetchRelays(registry)
    }
  }
}
