internal import WarrenPrimitives
internal import Logging
internal import WarrenICENIO

/// The STUN and TURN servers every session gathers with (`ice.urls`): the configured ones, and the
/// TURN servers relay registries (`grpc://` URLs, docs/turn.md) hand out, by registry. The one
/// owner of the registries' answers.
final class ICEServers: Sendable {
  let stun: [(host: String, port: UInt16)]
  /// Configured TURN servers.
  let configuredTURN: [Gatherer.TURNServer]
  /// The relay registries' URLs.
  let registries: [String]
  private let registered = Locked<[String: [Gatherer.TURNServer]]>([:])

  /// A TURN URL without credentials (neither its own nor `ice.username` and `ice.password`) is
  /// skipped with an error in the log.
  init(_ configuration: DaemonConfiguration, logger: Logger) {
    stun = configuration.iceServers.filter { $0.scheme == .stun }.map { ($0.host, UInt16($0.port)) }
    var turn: [Gatherer.TURNServer] = []
    var registries: [String] = []
    for server in configuration.iceServers where server.scheme != .stun {
      if server.scheme == .grpc {
        registries.append(server.text)
      } else {
        guard let username = server.username ?? configuration.turnUsername,
          let password = server.password ?? configuration.turnPassword,
          let server = Gatherer.TURNServer(server, username: username, password: password)
        else {
          logger.error("TURN server without credentials (in the URL, or ice.username and ice.password); skipped", metadata: ["url": "\(server)"])
          continue
        }
        turn.append(server)
      }
    }
    configuredTURN = turn
    self.registries = registries
  }

  /// Configured TURN servers, then those of the relay registries (in the order of their URLs).
  var turn: [Gatherer.TURNServer] {
    configuredTURN + registered.withLock { relays in relays.keys.sorted().flatMap { relays[$0] ?? [] } }
  }

  /// The registry's latest answer replaces its earlier one.
  func setRegistered(_ servers: [Gatherer.TURNServer], by registry: String) { registered.withLock { $0[registry] = servers } }
}
