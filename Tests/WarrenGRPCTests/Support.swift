import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import WarrenCrypto
import WarrenGRPC
import WarrenSignalServer
import WarrenTestSupport
import WarrenSignaling
import WarrenWire
import WarrenWireGRPC

let testLogger = Logger(label: "warren.test")

func credentials(_ ufrag: String) -> Cunicu_Signaling_Message {
  var message = Cunicu_Signaling_Message()
  message.credentials.ufrag = ufrag
  return message
}

/// A factory that builds `grpc://` backends, with a quick back-off so restarts are noticed soon.
func grpcFactory() -> BackendFactory {
  var factory = BackendFactory(logger: testLogger)
  factory.registerGRPC(backoff: ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(500)))
  return factory
}

/// A running `warren signal` on 127.0.0.1 (port 0 unless given), inside a ServiceGroup so that its
/// graceful shutdown can be triggered like SIGTERM would.
final class RunningServer: Sendable {
  let server: SignalServer
  let group: ServiceGroup
  let task: Task<Void, any Error>
  let port: Int

  init(
    port: Int = 0, metrics: Bool = false, engine: SignalServerEngine = .frames,
    configure: (inout SignalServerConfiguration) -> Void = { _ in }
  ) async throws {
    var configuration = SignalServerConfiguration()
    configuration.engine = engine
    configuration.host = "127.0.0.1"
    configuration.port = port
    if metrics { configuration.metrics = ("127.0.0.1", 0) }
    configure(&configuration)
    server = try SignalServer(configuration: configuration, logger: testLogger)
    group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: testLogger))
    let group = self.group
    task = Task { try await group.run() }
    self.port = try await server.listeningPort
  }

  var url: String { "grpc://127.0.0.1:\(port)?insecure=true" }

  /// SIGTERM: stop accepting, end streams, return.
  func stop() async throws {
    await group.triggerGracefulShutdown()
    try await task.value
  }

  /// The metrics page, as text.
  func metricsText() async throws -> String {
    try await httpGet(port: try await server.metricsPort!, path: "/metrics")
  }
}

/// Runs `body` with a raw generated client of the server (for malformed requests).
/// `window` is the HTTP/2 flow-control window the client grants (grpc-swift's default is large).
func withRawClient<T: Sendable>(
  port: Int, window: Int? = nil,
  _ body: @Sendable (Cunicu_Signaling_Signaling.Client<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
  try await withGRPCClient(
    transport: .http2NIOPosix(
      target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
      config: .defaults { config in
        if let window { config.http2.targetWindowSize = window }
      })
  ) { client in
    try await body(Cunicu_Signaling_Signaling.Client(wrapping: client))
  }
}
