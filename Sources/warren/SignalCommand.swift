import ArgumentParser
import Logging
import ServiceLifecycle
import UnixSignals
import WarrenSignalServer
import WarrenWire

/// `warren signal`: the signaling server, a stateless relay of sealed envelopes between public keys.
struct Signal: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the signaling server (cunicu.signaling.Signaling and RelayRegistry over gRPC).")

  @Option(help: "Address to listen on, HOST:PORT; port 0 picks a free one.")
  var listen = "[::]:8080"

  @Option(help: "PEM certificate chain for TLS (with --tls-key); plaintext HTTP/2 without.")
  var tlsCert: String?

  @Option(help: "PEM private key for TLS.")
  var tlsKey: String?

  @Option(
    name: .customLong("relay"),
    help: ArgumentHelp(
      "STUN/TURN server handed out by RelayRegistry (repeatable): stun:host:port, turn:user:pass@host:port, or turn:host:port?secret=S&ttl=1h for TURN REST credentials."
    ))
  var relays: [String] = []

  @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics.")
  var metrics: String?

  @Option(help: "Envelopes queued per subscriber before the oldest are dropped.")
  var queueSize = 256

  @Option(help: "Largest envelope relayed, in bytes.")
  var maxEnvelopeSize = 64 * 1024

  @Option(help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel = "info"

  func validate() throws {
    if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    guard queueSize > 0 else { throw ValidationError("--queue-size must be at least 1") }
    guard maxEnvelopeSize > 0 else { throw ValidationError("--max-envelope-size must be at least 1") }
    try LogSetup.validate(logLevel)
  }

  func run() async throws {
    let logger = LogSetup.bootstrap(level: logLevel, label: "warren.signal")

    var configuration = SignalServerConfiguration()
    (configuration.host, configuration.port) = try HostPort.parse(listen, option: "--listen")
    if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
    if let metrics { configuration.metrics = try HostPort.parse(metrics, option: "--metrics") }
    do {
      configuration.relays = try relays.map { try RelayURL($0) }
    } catch {
      throw ValidationError("--relay: \(error)")
    }
    configuration.queueLimit = queueSize
    configuration.maxEnvelopeSize = maxEnvelopeSize
    configuration.buildInfo = WarrenVersion.current.buildInfo

    let server = SignalServer(configuration: configuration, logger: logger)
    let group = ServiceGroup(
      configuration: .init(
        services: [.init(service: server)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
  }
}

/// `HOST:PORT` and `[IPV6]:PORT` on the command line.
enum HostPort {
  static func parse(_ text: String, option: String) throws -> (host: String, port: Int) {
    var host = Substring(text)
    var portText = Substring("")
    if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
      host = text[text.index(after: text.startIndex)..<close]
      let rest = text[text.index(after: close)...]
      guard rest.hasPrefix(":") else { throw ValidationError("\(option): expected [IPV6]:PORT, got '\(text)'") }
      portText = rest.dropFirst()
    } else if let colon = text.lastIndex(of: ":") {
      host = text[..<colon]
      portText = text[text.index(after: colon)...]
    } else {
      throw ValidationError("\(option): expected HOST:PORT, got '\(text)'")
    }
    guard let port = Int(portText), (0...65535).contains(port) else {
      throw ValidationError("\(option): the port must be a number from 0 to 65535, got '\(portText)'")
    }
    return (host.isEmpty ? "::" : String(host), port)
  }
}
