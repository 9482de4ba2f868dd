#if canImport(Glibc)
internal import WarrenPrimitives
internal import Glibc
#endif
public import Logging
internal import NIOCore
internal import NIOPosix

/// Listens to the kernel's rtnetlink notifications of address, link and default-route changes
/// (`rtnetlink(7)`: a `NETLINK_ROUTE` socket bound to the address, link and route multicast
/// groups) and hands them on as ``NetworkChange``s, as they happen: nothing is polled, so a host
/// whose network does not change pays nothing. The socket is read by a SwiftNIO pipe channel; a
/// datagram that does not parse is logged and skipped.
public final class NetworkMonitor: Sendable {
  // linux/rtnetlink.h: RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_IFADDR,
  // RTMGRP_IPV6_ROUTE.
  static let groups: UInt32 = 0x1 | 0x10 | 0x40 | 0x100 | 0x400

  /// Every change, in the order the kernel announced them.
  public let changes: AsyncStream<[NetworkChange]>
  private let sink: AsyncStream<[NetworkChange]>.Continuation
  private let channel: any Channel

  /// Opens the socket; throws ``NetlinkError`` (`.unavailable`) where there is no rtnetlink (not
  /// Linux, or a sandbox without it).
  public init(logger: Logger) async throws {
    let descriptor = try Self.openSocket()
    let (changes, sink) = AsyncStream.makeStream(of: [NetworkChange].self, bufferingPolicy: .bufferingNewest(256))
    self.changes = changes
    self.sink = sink
    do {
      channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        // Notifications are small; a datagram larger than the buffer would lose its tail.
        .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65536))
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NotificationHandler(sink: sink, logger: logger))
          }
        }
        .takingOwnershipOfDescriptor(input: descriptor)
        .get()
    } catch {
      Glibc.close(descriptor)
      throw NetlinkError(.unavailable, "cannot read the rtnetlink socket: \(error)")
    }
  }

  /// Stops listening and ends ``changes``.
  public func close() {
    channel.close(promise: nil)
    sink.finish()
  }

  private static func openSocket() throws(NetlinkError) -> CInt {
    #if os(Linux)
      let descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
      guard descriptor >= 0 else { throw NetlinkError(.unavailable, "socket(AF_NETLINK): errno \(errno)") }
      // struct sockaddr_nl (linux/netlink.h, which Glibc's module leaves out): family (u16), pad
      // (u16), port id (u32, 0: the kernel picks), multicast groups (u32); host byte order.
      var address = [UInt8](repeating: 0, count: 12)
      withUnsafeBytes(of: UInt16(AF_NETLINK)) { address.replaceSubrange(0..<2, with: $0) }
      withUnsafeBytes(of: groups) { address.replaceSubrange(8..<12, with: $0) }
      let bound = address.withUnsafeBytes { raw in
        bind(descriptor, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
      }
      guard bound == 0 else {
        let error = errno
        Glibc.close(descriptor)
        throw NetlinkError(.unavailable, "bind(rtnetlink groups): errno \(error)")
      }
      return descriptor
    #else
      throw NetlinkError(.unavailable, "rtnetlink exists on Linux only")
    #endif
  }
}

/// Hands each datagram's changes on; one read is one datagram on a netlink socket.
private final class NotificationHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  private let sink: AsyncStream<[NetworkChange]>.Continuation
  private let logger: Logger

  init(sink: AsyncStream<[NetworkChange]>.Continuation, logger: Logger) {
    self.sink = sink
    self.logger = logger
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let buffer = unwrapInboundIn(data)
    do {
      let changes = try NetlinkMessages.parse(buffer.readableBytesView)
      if !changes.isEmpty { sink.yield(changes) }
    } catch {
      logger.warning("skipped a network notification that does not parse", metadata: ["error": "\(error)"])
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // ENOBUFS: the kernel dropped notifications while we were slow; the owner re-reads the
    // addresses on every change anyway, so the next one catches up.
    logger.debug("network notifications", metadata: ["error": "\(error)"])
  }
}
