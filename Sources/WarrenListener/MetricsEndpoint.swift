internal import WarrenPrimitives
internal import NIOCore
internal import NIOHTTP1
public import Logging

/// A minimal HTTP/1.1 endpoint that serves `GET /metrics` (Prometheus text format, from `scrape`),
/// and `GET /ready` when given a readiness check (200 or 503, for load balancers and Kubernetes
/// probes), for `warren signal --metrics` and the daemon's `metrics:`. Runs until ``close()``.
public final class MetricsEndpoint: Sendable {
  private let host: String
  private let port: Int
  private let scrape: @Sendable () -> [UInt8]
  private let ready: (@Sendable () -> String?)?
  private let logger: Logger
  private let listener = Locked<ConnectionListener?>(nil)
  private let closed = Locked(false)
  private let bound = BoundPort()

  /// - Parameter ready: `nil` when ready, otherwise why not (served as `/ready`); no `/ready`
  ///   without it.
  public init(
    host: String, port: Int, logger: Logger, ready: (@Sendable () -> String?)? = nil,
    scrape: @escaping @Sendable () -> [UInt8]
  ) {
    self.host = host
    self.port = port
    self.scrape = scrape
    self.ready = ready
    self.logger = logger
  }

  /// The port the endpoint listens on, once it does.
  public var listeningPort: Int { get async throws { try await bound.value } }

  /// Serves until ``close()`` (or cancellation), whatever clients are doing (``ConnectionListener``).
  public func run() async throws {
    let listener: ConnectionListener
    do {
      listener = try await ConnectionListener.bind(host: host, port: port)
    } catch {
      bound.fail(error)
      throw error
    }
    // A close() that came while binding applies now.
    let closedAlready = closed.withLock { closed in
      self.listener.withLock { $0 = listener }
      return closed
    }
    if closedAlready { listener.close() }
    let port = listener.localAddress?.port ?? port
    bound.resolve(port)
    logger.info("metrics endpoint listening", metadata: ["address": "http://\(host):\(port)/metrics"])
    try await listener.run(configure: { try $0.pipeline.syncOperations.configureHTTPServerPipeline() }) {
      (connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) in
      await self.serve(connection)
    }
  }

  public func close() {
    closed.withLock { closed in
      closed = true
      listener.withLock { $0?.close() }
    }
  }

  private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
    do {
      try await connection.executeThenClose { inbound, outbound in
        var head: HTTPRequestHead?
        for try await part in inbound {
          switch part {
          case .head(let requestHead): head = requestHead
          case .body: break
          case .end:
            guard let request = head else { continue }
            let (status, body) = respond(to: request)
            var headers = HTTPHeaders()
            if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(body.count)")
            try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await outbound.write(.end(nil))
            head = nil
            if !request.isKeepAlive { return }
          }
        }
      }
    } catch {
      logger.debug("metrics connection ended with an error", metadata: ["error": "\(error)"])
    }
  }

  private func respond(to request: HTTPRequestHead) -> (HTTPResponseStatus, [UInt8]) {
    let path = request.uri.split(separator: "?").first
    switch (request.method, path, ready) {
    case (.GET, "/metrics", _):
      return (.ok, scrape())
    case (.GET, "/ready", .some(let ready)):
      if let reason = ready() { return (.serviceUnavailable, Array("not ready: \(reason)\n".utf8)) }
      return (.ok, Array("ready\n".utf8))
    default:
      let served = ready == nil ? "only GET /metrics is" : "only GET /metrics and GET /ready are"
      return (.notFound, Array("\(served) served here\n".utf8))
    }
  }
}
