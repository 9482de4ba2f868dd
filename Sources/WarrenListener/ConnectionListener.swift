public import NIOCore
internal import NIOPosix

/// A listening socket whose connections are served as `NIOAsyncChannel`s, and which can be shut
/// down at any moment, whatever clients are doing.
///
/// NIO wraps what a server bootstrap accepts and queues it for the accept loop, and an
/// `NIOAsyncChannel` that is dropped unused traps ("Deinited NIOAsyncWriter without calling
/// finish()"). That is what happened to every connection accepted while an accept loop was being
/// cancelled or its listener closed: `warren up` died with SIGILL on SIGTERM while clients asked
/// for its status. Here accepted connections are queued as plain channels that do not read yet —
/// nothing traps and no byte is lost if one is dropped — and each is wrapped by the task that
/// serves it. Cancellation never reaches the accept loop itself: it closes the listening socket,
/// the loop closes what was still queued, and connections being served are cancelled.
public final class ConnectionListener: Sendable {
  private let server: NIOAsyncChannel<any Channel, Never>

  private init(server: NIOAsyncChannel<any Channel, Never>) {
    self.server = server
  }

  /// Listens on a Unix domain socket.
  public static func bind(unixDomainSocketPath path: String, cleanupExistingSocketFile: Bool) async throws -> ConnectionListener {
    ConnectionListener(
      server: try await bootstrap().bind(unixDomainSocketPath: path, cleanupExistingSocketFile: cleanupExistingSocketFile) {
        $0.eventLoop.makeSucceededFuture($0)
      })
  }

  /// Listens on TCP `host:port` (port 0 picks one), with SO_REUSEADDR.
  public static func bind(host: String, port: Int) async throws -> ConnectionListener {
    ConnectionListener(
      server: try await bootstrap().serverChannelOption(.socketOption(.so_reuseaddr), value: 1).bind(host: host, port: port) {
        $0.eventLoop.makeSucceededFuture($0)
      })
  }

  /// Accepted channels do not read until they are wrapped for serving.
  private static func bootstrap() -> ServerBootstrap {
    ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).childChannelOption(.autoRead, value: false)
  }

  public var localAddress: SocketAddress? { server.channel.localAddress }

  /// Stops listening; ``run(configure:serve:)`` then ends.
  public func close() {
    server.channel.close(promise: nil)
  }

  /// Serves every connection until cancelled or closed: each is set up by `configure` (handlers
  /// such as an HTTP codec), wrapped as an `NIOAsyncChannel`, and handed to `serve` in a task of
  /// its own. `serve` must use the channel's `executeThenClose`.
  public func run<Inbound: Sendable, Outbound: Sendable>(
    configure: @escaping @Sendable (any Channel) throws -> Void = { _ in },
    serve: @escaping @Sendable (NIOAsyncChannel<Inbound, Outbound>) async -> Void
  ) async throws {
    let server = self.server
    // Awaited below: a task of its own only so that the caller's cancellation does not reach it.
    let accepting = Task {
      try await server.executeThenClose { connections in
        try await withThrowingDiscardingTaskGroup { group in
          for try await channel in connections {
            group.addTask {
              guard let connection: NIOAsyncChannel<Inbound, Outbound> = await Self.wrap(channel, configure: configure) else { return }
              await serve(connection)
            }
          }
          // The listener closed: requests still being answered end now.
          group.cancelAll()
        }
      }
    }
    try await withTaskCancellationHandler {
      try await accepting.value
    } onCancel: {
      server.channel.close(promise: nil)
    }
  }

  /// Wraps an accepted channel on its event loop, and only then lets it read; nil (and the
  /// channel closed) when that fails, e.g. because it closed meanwhile.
  private static func wrap<Inbound: Sendable, Outbound: Sendable>(
    _ channel: any Channel, configure: @escaping @Sendable (any Channel) throws -> Void
  ) async -> NIOAsyncChannel<Inbound, Outbound>? {
    do {
      return try await channel.eventLoop.submit {
        try configure(channel)
        let connection = try NIOAsyncChannel<Inbound, Outbound>(wrappingChannelSynchronously: channel)
        // From here on the connection must be served (executeThenClose), never dropped: a
        // channel that cannot start reading is closed, and serving it ends at once.
        do {
          guard let options = channel.syncOptions else { throw ChannelError.operationUnsupported }
          try options.setOption(.autoRead, value: true)
        } catch {
          channel.close(promise: nil)
        }
        return connection
      }.get()
    } catch {
      channel.close(promise: nil)
      return nil
    }
  }
}
