import ArgumentParser
import Logging
import ServiceLifecycle
import UnixSignals
import WarrenDaemon
import WarrenGRPC
import WarrenKubernetes
import WarrenMulticast
import WarrenSignaling

/// `warren up --config FILE`: the daemon.
struct Up: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the daemon: sessions with every configured peer, and their UDP proxies.")

  @Option(help: "The YAML configuration file.")
  var config: String

  @Option(help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel = "info"

  @Option(help: "text, or json (one object per line, metadata as fields).")
  var logFormat = "text"

  @Flag(help: "Check the configuration and its backend URLs, print what it would run, and exit.")
  var check = false

  func validate() throws {
    try LogSetup.validate(logLevel, format: logFormat)
  }

  func run() async throws {
    let logger = LogSetup.bootstrap(level: logLevel, format: logFormat, label: "warren.up")
    let configuration: DaemonConfiguration
    do {
      configuration = try DaemonConfiguration.load(path: config)
    } catch {
      StandardStreams.printError("warren: \(error)\n")
      throw ExitCode(1)
    }
    var factory = BackendFactory(logger: logger)
    factory.registerGRPC()
    factory.registerMulticast()
    factory.registerKubernetes()
    if check {
      do {
        _ = try factory.makeBackend(urls: configuration.backends)
      } catch {
        StandardStreams.printError("warren: \(config): backends: \(error)\n")
        throw ExitCode(1)
      }
      let interfaces = configuration.wireguard.interfaces
      print(
        "\(config): OK: \(configuration.peers.count) configured peers, WireGuard interfaces \(interfaces.isEmpty ? "none" : interfaces.joined(separator: ", ")), backends \(configuration.backends.joined(separator: ", "))"
      )
      return
    }
    let daemon: Daemon
    do {
      daemon = try Daemon(configuration: configuration, factory: factory, logger: logger, buildInfo: WarrenVersion.current.buildInfo)
    } catch {
      // A backend that cannot be made (a bad URL, an unreadable kubeconfig) is a configuration error.
      StandardStreams.printError("warren: \(config): backends: \(error)\n")
      throw ExitCode(1)
    }
    let group = ServiceGroup(
      configuration: .init(services: [.init(service: daemon)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await withThrowingTaskGroup { tasks in
      tasks.addTask { try await group.run() }
      tasks.addTask {
        // SIGHUP: re-read the file; peers added, removed or changed are applied, the rest keep running.
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
          logger.notice("SIGHUP: reloading \(config)")
          do {
            await daemon.reload(try DaemonConfiguration.load(path: config))
          } catch {
            logger.error("reload failed; the running configuration stays", metadata: ["error": "\(error)"])
          }
        }
      }
      try await tasks.next()
      tasks.cancelAll()
    }
  }
}
