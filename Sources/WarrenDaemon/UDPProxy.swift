public import Logging
public import NIOCore
internal import NIOPosix
public import WarrenPrimitives
internal import WarrenICENIO

/// The application side of a peer's path (session.md, "Carrying traffic"): the application
/// (WireGuard) sends to `listen`; those datagrams go to the peer over the selected pair, and what
/// arrives from the peer is sent to `forward` from the same socket.
public final class UDPProxy: Sendable {
  private let channel: any Channel
  private let forward: SocketAddress
  private let counters = Counters()
  /// Datagrams for the application held until the end of the burst, gathered into a GSO train
  /// (``DatagramTrain``) when the application is on this host: on loopback a train costs the
  /// kernel one pass through the stack instead of one per datagram, and cannot fail for want of
  /// checksum offload or a small MTU (which makes a UDP GSO send fail, and NIO close the socket).
  private let held = Locked<DatagramTrain?>(nil)
  private let gathersTrains: Bool

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
  /// which says whether it could send it; after each burst read (up to
  /// ``DatagramSocketTuning/datagramsPerRead`` datagrams per `recvmmsg`) it calls `endOfBurst`,
  /// so that `toPeer` may hold its writes and send the burst at once.
  /// - Parameter eventLoop: the loop for the socket; the peer's ICE sockets on the same loop save
  ///   a thread hop per datagram.
  public init(
    listen: TransportAddress, forward: TransportAddress, logger: Logger, eventLoop: (any EventLoop)? = nil,
    endOfBurst: @escaping @Sendable () -> Void = {}, toPeer: @escaping @Sendable (ByteBuffer) -> Bool
  ) async throws {
    self.forward = try SocketAddress(packedIPAddress: ByteBuffer(bytes: forward.ip.bytes), port: Int(forward.port))
    gathersTrains = forward.ip.isLoopback && System.supportsUDPSegmentationOffload
    let counters = self.counters
    channel = try await DatagramSocketTuning.configure(DatagramBootstrap(group: eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(
            ApplicationHandler(endOfBurst: endOfBurst) { buffer in
              let count = buffer.readableBytes
              let sent = toPeer(buffer)
              counters.value.withLock {
                if sent {
                  $0.packetsToPeer += 1
                  $0.bytesToPeer += count
                } else {
                  $0.droppedNoPath += 1
                }
              }
            })
        }
      }
      .bind(host: "\(listen.ip)", port: Int(listen.port)).get()
    await DatagramSocketTuning.enlargeBuffers(channel)
    guard let port = channel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
    self.listen = TransportAddress(ip: listen.ip, port: UInt16(port))
    logger.debug("proxy listening", metadata: ["listen": "\(self.listen)", "forward": "\(forward)"])
  }

  public var statistics: Statistics { counters.value.withLock { $0 } }

  /// Hands a datagram from the peer to the application; with `flush: false` it waits for
  /// ``flush()`` (the end of the ICE socket's burst), so that a burst leaves in one system call,
  /// as one GSO train where it can.
  public func deliver(_ buffer: ByteBuffer, flush: Bool = true) {
    counters.value.withLock {
      $0.packetsToApplication += 1
      $0.bytesToApplication += buffer.readableBytes
    }
    guard gathersTrains else {
      let envelope = AddressedEnvelope(remoteAddress: forward, data: buffer)
      if flush { channel.writeAndFlush(envelope, promise: nil) } else { channel.write(envelope, promise: nil) }
      return
    }
    let full: DatagramTrain? = held.withLock { held in
      if held?.append(buffer) == true { return nil }
      defer { held = DatagramTrain(buffer) }
      return held
    }
    if let full { channel.write(full.envelope(to: forward), promise: nil) }
    if flush { self.flush() }
  }

  /// Sends what ``deliver(_:flush:)`` held.
  public func flush() {
    if let train = held.withLock({ held in defer { held = nil }; return held }) {
      channel.write(train.envelope(to: forward), promise: nil)
    }
    channel.flush()
  }

  public func close() async {
    try? await channel.close()
  }
}

/// Datagram counts, shared with the channel handler.
private final class Counters: Sendable {
  let value = Locked(UDPProxy.Statistics())
}

private final class ApplicationHandler: ChannelInboundHandler, Sendable {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  private let receive: @Sendable (ByteBuffer) -> Void
  private let endOfBurst: @Sendable () -> Void

  init(endOfBurst: @escaping @Sendable () -> Void, receive: @escaping @Sendable (ByteBuffer) -> Void) {
    self.receive = receive
    self.endOfBurst = endOfBurst
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    receive(unwrapInboundIn(data).data)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    endOfBurst()
    context.fireChannelReadComplete()
  }
}
