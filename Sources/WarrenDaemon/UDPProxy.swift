public import Logging
public import NIOCore
internal import NIOPosix
internal import Synchronization
public import WarrenPrimitives

/// The application side of a peer's path (session.md, "Carrying traffic"): the application
/// (WireGuard) sends to `listen`; those datagrams go to the peer over the selected pair, and what
/// arrives from the peer is sent to `forward` from the same socket.
public final class UDPProxy: Sendable {
  private let channel: any Channel
  private let forward: SocketAddress
  private let counters = Counters()

  /// The address the application sends to.
  public let listen: TransportAddress

  /// Datagrams and bytes each way, and datagrams dropped because no path to the peer existed yet.
  public struct Statistics: Sendable, Hashable {
    /// Datagrams from the application sent on to the peer, and their bytes.
    public var packetsToPeer = 0
    public var bytesToPeer = 0
    /// Datagrams from the application that could not be sent: no pair selected.
    public var droppedNoPath = 0
    public var packetsToApplication = 0
    public var bytesToApplication = 0

    public init(packetsToPeer: Int = 0, bytesToPeer: Int = 0, droppedNoPath: Int = 0, packetsToApplication: Int = 0, bytesToApplication: Int = 0) {
      self.packetsToPeer = packetsToPeer
      self.bytesToPeer = bytesToPeer
      self.droppedNoPath = droppedNoPath
      self.packetsToApplication = packetsToApplication
      self.bytesToApplication = bytesToApplication
    }
  }

  /// Binds `listen` (port 0 picks one) and hands every datagram the application sends to `toPeer`,
  /// which says whether it could send it.
  /// - Parameter eventLoop: the loop for the socket; the peer's ICE sockets on the same loop save
  ///   a thread hop per datagram.
  public init(
    listen: TransportAddress, forward: TransportAddress, logger: Logger, eventLoop: (any EventLoop)? = nil,
    toPeer: @escaping @Sendable ([UInt8]) -> Bool
  ) async throws {
    self.forward = try SocketAddress(packedIPAddress: ByteBuffer(bytes: forward.ip.bytes), port: Int(forward.port))
    let counters = self.counters
    channel = try await DatagramBootstrap(group: eventLoop ?? MultiThreadedEventLoopGroup.singleton.next())
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(ApplicationHandler { bytes in
            let sent = toPeer(bytes)
            counters.value.withLock {
              if sent {
                $0.packetsToPeer += 1
                $0.bytesToPeer += bytes.count
              } else {
                $0.droppedNoPath += 1
              }
            }
          })
        }
      }
      .bind(host: "\(listen.ip)", port: Int(listen.port)).get()
    guard let port = channel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
    self.listen = TransportAddress(ip: listen.ip, port: UInt16(port))
    logger.debug("proxy listening", metadata: ["listen": "\(self.listen)", "forward": "\(forward)"])
  }

  public var statistics: Statistics { counters.value.withLock { $0 } }

  /// Hands a datagram from the peer to the application.
  public func deliver(_ bytes: [UInt8]) {
    counters.value.withLock {
      $0.packetsToApplication += 1
      $0.bytesToApplication += bytes.count
    }
    channel.writeAndFlush(AddressedEnvelope(remoteAddress: forward, data: ByteBuffer(bytes: bytes)), promise: nil)
  }

  public func close() async {
    try? await channel.close()
  }
}

/// Datagram counts, shared with the channel handler.
private final class Counters: Sendable {
  let value = Mutex(UDPProxy.Statistics())
}

private final class ApplicationHandler: ChannelInboundHandler, Sendable {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  private let receive: @Sendable ([UInt8]) -> Void

  init(receive: @escaping @Sendable ([UInt8]) -> Void) { self.receive = receive }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    receive(Array(unwrapInboundIn(data).data.readableBytesView))
  }
}
