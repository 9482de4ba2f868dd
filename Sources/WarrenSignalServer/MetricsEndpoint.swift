internal import NIOCore
internal import NIOHTTP1
internal import Logging
internal import Synchronization
internal import WarrenListener

/// A minimal HTTP/1.1 endpoint that serves `GET /metrics` (Prometheus text format) and nothing
/// else. Runs until ``close()``.
final class MetricsEndpoint: Sendable {
  private let host: String
  private let port: Int
  private let metrics: SignalMetrics
  private let logger: Logger
  private let listener = Mutex<ConnectionListener?>(nil)
  private let closed = Mutex(false)
  private let bound = BoundPort()

  init(host: String, port: Int, metrics: SignalMetrics, logger: Logger) {
    self.host = host
    self.port = port
    self.metrics = metrics
    self.logger = logger
  }

  /// The port the endpoint listens on, once it does.
  var listeningPort: Int { get async throws { try await bound.value } }

  /// Serves until ``close()`` (or cancellation), whatever clients are doing (``ConnectionListener``).
  func run() async throws {
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

  func close() {
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
            let (status, body) =
              request.method == .GET && request.uri.split(separator: "?").first == "/metrics"
              ? (HTTPResponseStatus.ok, metrics.scrape())
              : (.notFound, Array("only GET /metrics is served here\n".utf8))
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
}

/// A port that becomes known later, awaited by whoever needs it (tests, logs).
final class BoundPort: Sendable {
  private enum State {
    case waiting([CheckedContinuation<Int, any Error>])
    case bound(Int)
    case failed(any Error)
  }

  private let state = Mutex(State.waiting([]))

  var value: Int {
    get async throws {
      try await withCheckedThrowingContinuation { continuation in
        let result: Result<Int, any Error>? = state.withLock { state in
          switch state {
          case .waiting(var waiters):
            waiters.append(continuation)
            state = .waiting(waiters)
            return nil
          case .bound(let port): return .success(port)
          case .failed(let error): return .failure(error)
          }
        }
        if let result { continuation.resume(with: result) }
      }
    }
  }

  func resolve(_ port: Int) { settle(.success(port)) }

  func fail(_ error: any Error) { settle(.failure(error)) }

  private func settle(_ result: Result<Int, any Error>) {
    let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { state in
      guard case .waiting(let waiters) = state else { return [] }
      switch result {
      case .success(let port): state = .bound(port)
      case .failure(let error): state = .failed(error)
      }
      return waiters
    }
    for waiter in waiters { waiter.resume(with: result) }
  }
}
