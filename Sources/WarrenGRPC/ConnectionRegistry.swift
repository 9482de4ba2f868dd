#if canImport(Glibc)
internal import Glibc
#endif
internal import NIOCore
internal import NIOPosix
internal import WarrenPrimitives

/// The TCP connections a gRPC client made, so that the ones a network change left behind can be
/// closed at once (grpc-swift then dials again), and each tuned to notice a silent death.
///
/// A connection from an address this host no longer has can never deliver again, but nothing
/// tells TCP so: it would wait for a keepalive or for its retransmissions to give up. Each
/// connection is therefore registered here with its local address when it is made
/// (grpc-swift-nio-transport's `onCreateTCPConnection`), and forgets itself when it closes.
final class ConnectionRegistry: Sendable {
  private let connections = Locked<[ObjectIdentifier: any Channel]>([:])

  /// How long a subscription's idle connection may be silent before the kernel probes it, how
  /// far apart the probes go, how many may go unanswered; and how long data may stay
  /// unacknowledged (a publish to a dead connection). About 10 s either way, without HTTP/2 pings,
  /// which some servers (grpc-go's default policy allows one per 5 minutes) answer by closing the
  /// connection.
  static let keepaliveIdle: CInt = 5
  static let keepaliveInterval: CInt = 2
  static let keepaliveProbes: CInt = 3
  static let userTimeoutMilliseconds: CInt = 10_000

  /// For `onCreateTCPConnection`: keepalive on, the connection registered until it closes.
  func register(_ channel: any Channel) -> EventLoopFuture<Void> {
    let id = ObjectIdentifier(channel)
    connections.withLock { $0[id] = channel }
    channel.closeFuture.whenComplete { [weak self] _ in self?.connections.withLock { _ = $0.removeValue(forKey: id) } }
    #if os(Linux)
      let tcp = NIOBSDSocket.OptionLevel(rawValue: CInt(IPPROTO_TCP))
      let options: [(NIOBSDSocket.OptionLevel, CInt, CInt)] = [
        (.socket, SO_KEEPALIVE, 1), (tcp, TCP_KEEPIDLE, Self.keepaliveIdle), (tcp, TCP_KEEPINTVL, Self.keepaliveInterval),
        (tcp, TCP_KEEPCNT, Self.keepaliveProbes), (tcp, 18 /* TCP_USER_TIMEOUT */, Self.userTimeoutMilliseconds),
      ]
      return EventLoopFuture.andAllSucceed(
        options.map { level, name, value in
          channel.setOption(ChannelOptions.Types.SocketOption(level: level, name: NIOBSDSocket.Option(rawValue: name)), value: SocketOptionValue(value))
        }, on: channel.eventLoop)
    #else
      return channel.eventLoop.makeSucceededVoidFuture()
    #endif
  }

  /// Closes the connections whose local address is one of `ips` (every one with `nil`); returns
  /// how many.
  @discardableResult
  func close(boundTo ips: Set<TransportAddress.IP>?) -> Int {
    let doomed = connections.withLock { connections in
      connections.values.filter { channel in
        guard let ips else { return true }
        guard let text = channel.localAddress?.ipAddress, let ip = TransportAddress.IP(text) else { return false }
        return ips.contains(ip)
      }
    }
    for channel in doomed { channel.close(promise: nil) }
    return doomed.count
  }
}
