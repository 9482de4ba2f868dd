internal import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import WarrenHTTP2
internal import WarrenPrimitives

/// The frame-level server's listening socket and the connections it accepted: TLS (when
/// configured, ALPN `h2`), Warren's HTTP/2 connection handler (`HTTP2ServerConnectionHandler`:
/// frames, HPACK, flow control, GOAWAY on shutdown), a ``ConnectionKeepalive`` and a
/// ``SignalingConnection`` per connection, on NIO's event loops.
final class SignalingListener: Sendable {
  struct Options: Sendable {
    var host: String
    var port: Int
    var tls: (certificateChain: String, privateKey: String)?
    var keepaliveInterval: Duration
    var shutdownGracePeriod: Duration
    var maxConcurrentStreams: Int
  }

  private let server: any Channel
  private let connections: Locked<[ObjectIdentifier: any Channel]>
  /// One per event loop, by the loop's identity.
  private let tickers: [ObjectIdentifier: NIOLoopBound<KeepaliveTicker>]

  private init(
    server: any Channel, connections: Locked<[ObjectIdentifier: any Channel]>, tickers: [ObjectIdentifier: NIOLoopBound<KeepaliveTicker>]
  ) {
    self.server = server
    self.connections = connections
    self.tickers = tickers
  }

  /// Binds and starts accepting.
  static func bind(_ options: Options, endpoints: SignalingEndpoints) async throws -> SignalingListener {
    let tls = try options.tls.map { tls in
      var configuration = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificateChain).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)))
      configuration.applicationProtocols = ["h2"]
      return try NIOSSLContext(configuration: configuration)
    }
    let connections = Locked<[ObjectIdentifier: any Channel]>([:])
    let http2 = HTTP2ServerConnectionHandler.Configuration(
      maxConcurrentStreams: options.maxConcurrentStreams,
      // A stream may send its whole request without waiting for a window update.
      initialWindowSize: min(endpoints.maxRequestSize + GRPCFraming.prefixSize, Int(Int32.max)),
      maxHeaderListSize: 16 * 1024,
      gracePeriod: TimeAmount(options.shutdownGracePeriod))
    let group = MultiThreadedEventLoopGroup.singleton
    var made: [ObjectIdentifier: NIOLoopBound<KeepaliveTicker>] = [:]
    for loop in group.makeIterator() {
      made[ObjectIdentifier(loop)] = try await loop.submit {
        NIOLoopBound(
          KeepaliveTicker(eventLoop: loop, interval: TimeAmount(options.keepaliveInterval), timeout: .seconds(20)), eventLoop: loop)
      }.get()
    }
    let tickers = made
    let bootstrap = ServerBootstrap(group: group)
      // Connections arrive in waves (a cluster's failover, a mesh restarting): Go's listen backlog.
      .serverChannelOption(.backlog, value: systemMaximumBacklog())
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      // A connection keeps the receive buffers it read into for the next reads: start them at
      // 512 bytes, which holds a subscriber's whole first flight (preface, SETTINGS, HEADERS, the
      // request), and let a busy publisher's grow (NIO's default starts every one at 2 KiB).
      .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536))
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
          try pipeline.addHandler(HTTP2ServerConnectionHandler(configuration: http2))
          if let ticker = tickers[ObjectIdentifier(channel.eventLoop)] {
            try pipeline.addHandler(ConnectionKeepalive(ticker: ticker.value))
          }
          try pipeline.addHandler(SignalingConnection(endpoints: endpoints))
          let id = ObjectIdentifier(channel)
          connections.withLock { $0[id] = channel }
          channel.closeFuture.whenComplete { _ in _ = connections.withLock { $0.removeValue(forKey: id) } }
        }
      }
    let server: any Channel
    do {
      server = try await bootstrap.bind(host: options.host, port: options.port).get()
    } catch {
      // Nobody will look at the timers of a listener that never was.
      Self.stop(tickers)
      throw error
    }
    return SignalingListener(server: server, connections: connections, tickers: tickers)
  }

  var localAddress: SocketAddress? { server.localAddress }

  /// Returns once the listener is closed (``stopAccepting()``) and every connection after it.
  func closed() async {
    try? await server.closeFuture.get()
    while let open = connections.withLock({ $0.values.first }) {
      try? await open.closeFuture.get()
    }
    Self.stop(tickers)
  }

  /// Stops every event loop's keepalive clock, on its loop.
  private static func stop(_ tickers: [ObjectIdentifier: NIOLoopBound<KeepaliveTicker>]) {
    for ticker in tickers.values { ticker.eventLoop.execute { ticker.value.stop() } }
  }

  /// Stops accepting, and asks every connection to close once its streams end (GOAWAY).
  func stopAccepting() {
    server.close(promise: nil)
    for connection in connections.withLock({ Array($0.values) }) {
      connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }
  }

  /// Closes every connection now (the grace period is over).
  func closeAll() {
    server.close(promise: nil)
    for connection in connections.withLock({ Array($0.values) }) { connection.close(promise: nil) }
  }
}
