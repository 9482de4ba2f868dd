public import NIOCore
public import NIOPosix
#if canImport(Glibc)
internal import Glibc
#endif

/// Settings of the sockets that carry application datagrams (the ICE sockets and a proxy's):
/// room for bursts, and several datagrams per system call.
public enum DatagramSocketTuning {
  /// Datagrams read per `recvmmsg` (NIO's vector reads).
  public static let datagramsPerRead = 8
  /// The largest datagram read whole: a jumbo frame's payload, above any WireGuard MTU (NIO's
  /// default for datagram sockets was 2048 bytes). Each read takes one buffer of
  /// `datagramsPerRead` slots of this size (72 KiB, below malloc's mmap threshold).
  public static let largestDatagram = 9216

  /// Options for a bootstrap's sockets: vector reads into slots of ``largestDatagram`` bytes.
  public static func configure(_ bootstrap: DatagramBootstrap) -> DatagramBootstrap {
    bootstrap
      .channelOption(.datagramVectorReadMessageCount, value: datagramsPerRead)
      .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: datagramsPerRead * largestDatagram))
  }
  /// Asked for per socket buffer, each way. A WireGuard burst at a few hundred Mbit/s fills the
  /// kernel's default (208 KiB) in a few milliseconds, and what does not fit is dropped.
  public static let bufferBytes = 4 << 20

  /// Enlarges `channel`'s receive and send buffers: beyond `net.core.rmem_max`/`wmem_max` where
  /// the process may (CAP_NET_ADMIN: `SO_RCVBUFFORCE`), else up to them. Never fails: a smaller
  /// buffer only means drops under bursts, which the proxy's counters show.
  public static func enlargeBuffers(_ channel: any Channel) async {
    let force: [(ChannelOptions.Types.SocketOption, ChannelOptions.Types.SocketOption)] = [
      (.init(level: .socket, name: .init(rawValue: SO_RCVBUFFORCE)), .socketOption(.so_rcvbuf)),
      (.init(level: .socket, name: .init(rawValue: SO_SNDBUFFORCE)), .socketOption(.so_sndbuf)),
    ]
    for (forced, plain) in force {
      do {
        try await channel.setOption(forced, value: bufferBytes).get()
      } catch {
        try? await channel.setOption(plain, value: bufferBytes).get()
      }
    }
  }
}
