internal import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import NIOCore
public import Logging
public import ServiceLifecycle
public import WarrenCrypto
public import WarrenPrimitives
internal import WarrenListener
public import WarrenWire

/// Which HTTP/2 server answers the gRPC calls; both serve the same services with the same checks.
public enum SignalServerEngine: String, Sendable, CaseIterable {
  /// Warren's own, on NIOHTTP2's frames: a stream is a dictionary entry, an envelope a write
  /// (``SignalingConnection``; docs/signal-server-performance.md).
  case frames
  /// grpc-swift-2's server: a channel, a task and async sequences per call.
  case grpcSwift = "grpc-swift"
}

/// What `warren signal` is told on its command line.
public struct SignalServerConfiguration: Sendable {
  /// Host to listen on; `::` listens on every IPv6 and IPv4 address.
  public var host = "::"
  /// Port to listen on; 0 picks a free one (logged, and available as ``SignalServer/listeningPort``).
  public var port = 8080
  /// PEM certificate chain and private key for TLS; plaintext HTTP/2 when `nil`.
  public var tls: (certificateChain: String, privateKey: String)?
  public var relays: [RelayURL] = []
  /// Where to serve `/metrics`; no metrics endpoint when `nil`.
  public var metrics: (host: String, port: Int)?
  /// Envelopes queued per subscriber before the oldest are dropped.
  public var queueLimit = 256
  /// Largest envelope relayed, in serialized bytes.
  public var maxEnvelopeSize = 64 * 1024
  public var buildInfo = Cunicu_BuildInfo()
  /// How often an idle connection is pinged to find clients that vanished.
  public var keepaliveInterval: Duration = .seconds(60)
  /// After SIGTERM, how long open connections get to close before they are cut.
  public var shutdownGracePeriod: Duration = .seconds(5)
  /// The server's own key, to which clients seal their proofs of key possession (`--key-file`;
  /// a fresh one per process without).
  public var serverKey = PrivateKey.generate()
  /// Proofs, allowed keys and rate limits.
  public var access = AccessControl.Policy()
  /// How far a proof's time may be from the server's clock.
  public var proofWindow: Duration = .seconds(60)
  /// Makes the bus that joins this replica to the others of a cluster (`--cluster`), given the
  /// replica's relay to deliver into; a single process without.
  public var cluster: (@Sendable (SignalingRelay, Logger) -> any ClusterBus)?
  /// Which HTTP/2 server answers.
  public var engine = SignalServerEngine.frames

  public init() {}
}

/// `warren signal`: the gRPC relay of sealed envelopes (``SignalingService``), the relay registry
/// (``RelayRegistryService``) and the metrics endpoint, as one service with a graceful shutdown:
/// on SIGTERM it stops accepting, ends every Subscribe stream cleanly and returns.
public final class SignalServer: Service {
  public let relay: SignalingRelay
  public let metrics: SignalMetrics
  public let access: AccessControl
  private let configuration: SignalServerConfiguration
  private let logger: Logger
  private let errors = RPCErrorCounter()
  private let grpcPort = BoundPort()
  private let metricsEndpoint: MetricsEndpoint?
  /// The other replicas, in a cluster.
  public let bus: (any ClusterBus)?
  private let serving = ServingFlag()

  /// Throws if `--allow-keys` names a file that cannot be read or holds something not a key.
  public init(configuration: SignalServerConfiguration, logger: Logger) throws(AllowedKeysError) {
    self.configuration = configuration
    self.logger = logger
    let relay = SignalingRelay(queueLimit: configuration.queueLimit)
    let verifier = ProofVerifier(serverKey: configuration.serverKey, window: configuration.proofWindow) {
      WallClock.unixMilliseconds
    }
    let access = try AccessControl(policy: configuration.access, verifier: verifier, logger: logger)
    self.access = access
    let bus = configuration.cluster?(relay, logger)
    self.bus = bus
    let metrics = SignalMetrics(relay: relay, errors: errors, access: access, cluster: bus)
    self.relay = relay
    self.metrics = metrics
    metricsEndpoint = configuration.metrics.map { [serving] in
      MetricsEndpoint(
        host: $0.host, port: $0.port, logger: logger,
        ready: {
          guard serving.isSet else { return "not serving gRPC yet, or shutting down" }
          if let bus, !bus.isConnected {
            return "the cluster bus is down: envelopes published on other replicas cannot reach this one"
          }
          return nil
        }
      ) { metrics.scrape() }
    }
  }

  /// The gRPC port, once bound.
  public var listeningPort: Int { get async throws { try await grpcPort.value } }

  /// The metrics port, once bound (`nil` without a metrics endpoint).
  public var metricsPort: Int? { get async throws { try await metricsEndpoint?.listeningPort } }

  public func run() async throws {
    let signaling = SignalingService(
      relay: relay, access: access, maxEnvelopeSize: configuration.maxEnvelopeSize, buildInfo: configuration.buildInfo,
      bus: bus, errors: errors, logger: logger)
    let registry = RelayRegistryService(relays: configuration.relays, access: access, errors: errors)
    let frontEnd: FrontEnd
    do {
      frontEnd =
        switch configuration.engine {
        case .frames: try await framesFrontEnd(signaling, registry)
        case .grpcSwift: grpcSwiftFrontEnd(signaling, registry)
        }
    } catch {
      grpcPort.fail(error)
      throw error
    }
    try await withGracefulShutdownHandler {
      // Each child returns whether the server is done: the front end's when every connection
      // closed, the grace timer's when some did not in time (a client that vanished without
      // closing its connection would otherwise hold the shutdown until TCP gives up).
      try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
          try await frontEnd.serve()
          return true
        }
        if let metricsEndpoint {
          group.addTask {
            try await metricsEndpoint.run()
            return false
          }
        }
        if let bus {
          group.addTask {
            await bus.run()
            return false
          }
        }
        group.addTask { [configuration, logger] in
          try await gracefulShutdown()
          try await Task.sleep(for: configuration.shutdownGracePeriod)
          logger.warning("connections still open \(configuration.shutdownGracePeriod) after shutdown began; closing them")
          return true
        }
        do {
          let (address, port) = try await frontEnd.address()
          // Ready before anyone learns the port from us.
          serving.set(true)
          grpcPort.resolve(port)
          logger.info(
            "signaling server listening",
            metadata: [
              "address": "\(address)", "port": "\(port)", "tls": "\(configuration.tls != nil)",
              "engine": "\(configuration.engine.rawValue)", "relays": "\(configuration.relays.map(\.publicURL))",
              "server_key": "\(configuration.serverKey.publicKey)", "require_proof": "\(configuration.access.requireProof)",
              "allow_keys": "\(configuration.access.allowedKeysFile ?? "any key")",
            ])
        } catch {
          grpcPort.fail(error)
          throw error
        }
        while let done = try await group.next() {
          if done { break }
        }
        frontEnd.cut()
        group.cancelAll()
      }
    } onGracefulShutdown: { [relay, logger, metricsEndpoint, serving] in
      logger.info("shutting down: no new connections; ending subscription streams")
      serving.set(false)
      frontEnd.beginShutdown()
      relay.finishAll()
      metricsEndpoint?.close()
    }
    logger.info("signaling server stopped")
  }

  /// How the chosen HTTP/2 server is run and stopped.
  private struct FrontEnd: Sendable {
    /// Serves until every connection closed after ``beginShutdown``, or the task is cancelled.
    var serve: @Sendable () async throws -> Void
    /// The bound address (as logged) and port.
    var address: @Sendable () async throws -> (description: String, port: Int)
    /// Stops accepting; connections close as their streams end.
    var beginShutdown: @Sendable () -> Void
    /// Closes what is still open (the grace period is over).
    var cut: @Sendable () -> Void
  }

  private func framesFrontEnd(_ signaling: SignalingService, _ registry: RelayRegistryService) async throws -> FrontEnd {
    let endpoints = SignalingEndpoints(
      signaling: signaling, registry: registry, errors: errors,
      // Room for the envelope cap to be answered with a clear message, as grpc-swift is given.
      maxRequestSize: max(configuration.maxEnvelopeSize * 2, 1 << 20), queueLimit: configuration.queueLimit,
      logger: logger)
    let listener = try await SignalingListener.bind(
      .init(
        host: configuration.host, port: configuration.port, tls: configuration.tls,
        keepaliveInterval: configuration.keepaliveInterval, shutdownGracePeriod: configuration.shutdownGracePeriod,
        maxConcurrentStreams: 65_536),
      endpoints: endpoints)
    return FrontEnd(
      serve: {
        // Cancelled (the server run beside something that ended) is closed at once.
        await withTaskCancellationHandler {
          await listener.closed()
        } onCancel: {
          listener.closeAll()
        }
      },
      address: { [configuration] in
        let bound = listener.localAddress
        let port = bound?.port ?? configuration.port
        let family = if case .v6? = bound { "ipv6" } else { "ipv4" }
        return ("[\(family)]\(bound?.ipAddress ?? configuration.host):\(port)", port)
      },
      beginShutdown: { listener.stopAccepting() },
      cut: { listener.closeAll() })
  }

  private func grpcSwiftFrontEnd(_ signaling: SignalingService, _ registry: RelayRegistryService) -> FrontEnd {
    let security: HTTP2ServerTransport.Posix.TransportSecurity =
      if let tls = configuration.tls {
        .tls(
          certificateChain: [.file(path: tls.certificateChain, format: .pem)],
          privateKey: .file(path: tls.privateKey, format: .pem))
      } else {
        .plaintext
      }
    let transport = HTTP2ServerTransport.Posix(
      address: configuration.host.contains(":")
        ? .ipv6(host: configuration.host, port: configuration.port)
        : .ipv4(host: configuration.host, port: configuration.port),
      transportSecurity: security,
      config: .defaults { [configuration] config in
        // Leave room for the envelope cap to be answered by the service with a clear message.
        config.rpc.maxRequestPayloadSize = max(configuration.maxEnvelopeSize * 2, 1 << 20)
        config.http2.maxConcurrentStreams = 65_536
        // Subscriptions idle for long stretches: ping to find connections whose client vanished
        // (a NAT that forgot the mapping, a host that lost power) and free their topics.
        config.connection.keepalive = .init(
          time: configuration.keepaliveInterval, timeout: .seconds(20),
          clientBehavior: .init(minPingIntervalWithoutCalls: .seconds(10), allowWithoutCalls: true))
      })
    let server = GRPCServer(transport: transport, services: [signaling, registry])
    return FrontEnd(
      serve: {
        // Every connection's and RPC's task (children of `serve`) runs on the event loops of
        // the transport (NIO's singleton group, its default), next to their sockets.
        try await withTaskExecutorPreference(EventLoopExecutor()) {
          try await server.serve()
        }
      },
      address: { [configuration, logger] in
        let address = try await transport.listeningAddress
        let port = address.ipv4?.port ?? address.ipv6?.port ?? configuration.port
        if lengthenListenBacklog(port: port) == 0 {
          logger.notice("the listen backlog stays at 128: connections arriving in waves may wait for SYN retransmissions")
        }
        return ("\(address)", port)
      },
      beginShutdown: { server.beginGracefulShutdown() },
      cut: {})
  }
}

/// Whether the gRPC server is serving, for `/ready`: a class, so that the readiness check made
/// before the server exists can hold it.
private final class ServingFlag: Sendable {
  private let flag = Locked(false)

  var isSet: Bool { flag.withLock { $0 } }

  func set(_ value: Bool) { flag.withLock { $0 = value } }
}
