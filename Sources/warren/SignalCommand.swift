import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import WarrenCluster
import WarrenCrypto
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

  @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics, and readiness (200 or 503) at /ready.")
  var metrics: String?

  @Option(help: "Envelopes queued per subscriber before the oldest are dropped.")
  var queueSize = 256

  @Option(help: "Largest envelope relayed, in bytes.")
  var maxEnvelopeSize = 64 * 1024

  @Option(
    help: ArgumentHelp(
      "The server's private key (base64, as warren genkey writes), to which clients seal their proofs of key possession; created (mode 0600) if absent. Without it, a new key per start.",
      valueName: "file"))
  var keyFile: String?

  @Flag(help: "Refuse Subscribe and GetRelays without a proof of key possession (cunicu clients send none).")
  var requireProof = false

  @Option(
    help: ArgumentHelp(
      "Serve only these public keys (one base64 key per line, # comments; list a community's public key to admit it): others can neither subscribe, publish nor get relays. Re-read on SIGHUP.",
      valueName: "file"))
  var allowKeys: String?

  @Option(help: "Publish calls per second per connection (0: unlimited); bursts of 5 seconds' worth pass.")
  var publishRate = 1000.0

  @Option(help: "Subscribe and GetRelays calls per second per connection (0: unlimited); bursts of 10 seconds' worth pass.")
  var subscribeRate = 100.0

  @Option(
    help: ArgumentHelp(
      "Be one replica of a cluster that shares this PostgreSQL (postgres://USER@HOST:PORT/DATABASE, ?sslmode=disable|prefer|require): envelopes published on any replica reach the subscribers of every one. The password: --cluster-password-file, or WARREN_CLUSTER_PASSWORD.",
      valueName: "url"))
  var cluster: String?

  @Option(help: ArgumentHelp("A file holding the PostgreSQL password for --cluster.", valueName: "file"))
  var clusterPasswordFile: String?

  @Option(
    help: ArgumentHelp(
      "The HTTP/2 server: frames (Warren's own, the default) or grpc-swift (grpc-swift-2's, kept for comparison).",
      valueName: "engine"))
  var engine = "frames"

  @Option(help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel = "info"

  @Option(help: "text, or json (one object per line, metadata as fields).")
  var logFormat = "text"

  func validate() throws {
    if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    guard queueSize > 0 else { throw ValidationError("--queue-size must be at least 1") }
    guard maxEnvelopeSize > 0 else { throw ValidationError("--max-envelope-size must be at least 1") }
    guard publishRate >= 0, subscribeRate >= 0 else { throw ValidationError("--publish-rate and --subscribe-rate cannot be negative") }
    guard SignalServerEngine(rawValue: engine) != nil else {
      throw ValidationError("--engine must be one of \(SignalServerEngine.allCases.map(\.rawValue).joined(separator: ", ")), not '\(engine)'")
    }
    try LogSetup.validate(logLevel, format: logFormat)
  }

  func run() async throws {
    let logger = LogSetup.bootstrap(level: logLevel, format: logFormat, label: "warren.signal")

    var configuration = SignalServerConfiguration()
    (configuration.host, configuration.port) = try HostPort.parse(listen, option: "--listen")
    if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
    if let metrics { configuration.metrics = try HostPort.parse(metrics, option: "--metrics") }
    do {
      configuration.relays = try relays.map { try RelayURL($0) }
    } catch {
      throw ValidationError("--relay: \(error)")
    }
    configuration.engine = SignalServerEngine(rawValue: engine) ?? .frames
    configuration.queueLimit = queueSize
    configuration.maxEnvelopeSize = maxEnvelopeSize
    configuration.buildInfo = WarrenVersion.current.buildInfo
    if let keyFile { configuration.serverKey = try ServerKeyFile.load(keyFile, logger: logger) }
    configuration.access.requireProof = requireProof
    configuration.access.allowedKeysFile = allowKeys
    configuration.access.publishRate = publishRate
    configuration.access.publishBurst = max(1, publishRate * 5)
    configuration.access.subscribeRate = subscribeRate
    configuration.access.subscribeBurst = max(1, subscribeRate * 10)
    if let cluster {
      let settings = try clusterSettings(cluster)
      configuration.cluster = { relay, logger in PostgresBus(settings: settings, relay: relay, logger: logger) }
    }

    let server: SignalServer
    do {
      server = try SignalServer(configuration: configuration, logger: logger)
    } catch {
      throw ValidationError("--allow-keys: \(error)")
    }
    let group = ServiceGroup(
      configuration: .init(
        services: [.init(service: server)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await withThrowingDiscardingTaskGroup { tasks in
      tasks.addTask {
        // SIGHUP: re-read --allow-keys (a broken file keeps the keys in force).
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
          logger.notice("SIGHUP: reloading the allowed keys")
          server.access.reloadAllowedKeys()
        }
      }
      try await group.run()
      tasks.cancelAll()
    }
  }
}

extension Signal {
  /// `--cluster` and its password.
  func clusterSettings(_ text: String) throws -> PostgresBus.Settings {
    let url: ClusterURL
    do {
      url = try ClusterURL(text)
    } catch {
      throw ValidationError("--cluster: \(error)")
    }
    var password = ProcessInfo.processInfo.environment["WARREN_CLUSTER_PASSWORD"]
    if let clusterPasswordFile {
      guard let text = try? String(contentsOfFile: clusterPasswordFile, encoding: .utf8) else {
        throw ValidationError("--cluster-password-file \(clusterPasswordFile): cannot read it")
      }
      password = text.trimmingCharacters(in: .newlines)
    }
    return PostgresBus.Settings(url: url, password: password)
  }
}

/// `--key-file`: the signal server's private key, kept across restarts so that clients can pin
/// its public key (`grpc://host:port?server_key=…`).
enum ServerKeyFile {
  static func load(_ path: String, logger: Logger) throws -> PrivateKey {
    if let text = try? String(contentsOfFile: path, encoding: .utf8) {
      do {
        return try PrivateKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines))
      } catch {
        throw ValidationError("--key-file \(path): not a base64 private key (\(error))")
      }
    }
    let key = PrivateKey.generate()
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else {
      throw ValidationError("--key-file \(path): cannot create it: \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    let line = Array((key.key.base64 + "\n").utf8)
    guard write(descriptor, line, line.count) == line.count else {
      throw ValidationError("--key-file \(path): cannot write it: \(String(cString: strerror(errno)))")
    }
    logger.notice("created the server key", metadata: ["file": "\(path)", "public_key": "\(key.publicKey)"])
    return key
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
