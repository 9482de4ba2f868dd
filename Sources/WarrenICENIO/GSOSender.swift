public import NIOCore
public import WarrenPrimitives
#if canImport(Glibc)
internal import Glibc
#endif

/// Sends ``DatagramTrain``s with UDP GSO (`sendmsg` with a `UDP_SEGMENT` control message, Linux
/// 4.18) on a socket that NIO reads, through a descriptor of its own (a `dup` of NIO's).
///
/// Why not NIO's own per-message GSO: whether the kernel takes a train depends on the route, not
/// the socket. It refuses one for a route through IPsec, for a segment above the path's MTU
/// (`EINVAL` on older kernels, `EMSGSIZE` on newer ones) and, before Linux 6.11, for a device without
/// checksum offload (`EIO`: PPP, TUN). NIO treats those errors as fatal and closes the socket,
/// which would take the session down; here they are an outcome, and the caller sends that
/// socket's datagrams one by one from then on.
public final class GSOSender: Sendable {
  /// The kernel's values (`<linux/udp.h>`, `<netinet/udp.h>`), which Glibc does not export.
  private static let solUDP: CInt = 17
  private static let udpSegment: CInt = 103

  /// What became of a train.
  public enum Outcome: Sendable, Equatable, CustomStringConvertible {
    case sent
    /// The socket's send buffer is full: send the datagrams through NIO, which waits.
    case wouldBlock
    /// The kernel refused the train for this route (the error number): send one by one.
    case refused(errno: CInt)

    public var description: String {
      switch self {
      case .sent: "sent"
      case .wouldBlock: "the send buffer is full"
      case .refused(let error): "\(String(cString: strerror(error))) (errno \(error))"
      }
    }
  }

  /// The duplicate; nil once closed. Held while sending, so that a send never meets a number
  /// that ``close()`` released and another socket got.
  private let descriptor: Locked<CInt?>

  /// Duplicates `descriptor` (a bound UDP socket); nil if the process is out of descriptors.
  public init?(duplicating descriptor: CInt) {
    let own = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
    guard own >= 0 else { return nil }
    self.descriptor = Locked(own)
  }

  /// Sends `train` (datagrams of `segmentSize` bytes, the last one possibly shorter) to
  /// `destination` in one system call; a train no longer than `segmentSize` is one datagram,
  /// sent without GSO.
  public func send(_ train: ByteBuffer, segmentSize: Int, to destination: TransportAddress) -> Outcome {
    let headerSize = MemoryLayout<cmsghdr>.size
    let segmented = train.readableBytes > segmentSize
    let controlSize = segmented ? headerSize + MemoryLayout<UInt64>.size : 0  // CMSG_SPACE(2): the data padded to 8 bytes
    return withUnsafeTemporaryAllocation(byteCount: max(controlSize, 1), alignment: MemoryLayout<cmsghdr>.alignment) { control in
      if segmented {
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let header = control.baseAddress!.bindMemory(to: cmsghdr.self, capacity: 1)
        header.pointee.cmsg_len = headerSize + MemoryLayout<UInt16>.size
        header.pointee.cmsg_level = Self.solUDP
        header.pointee.cmsg_type = Self.udpSegment
        control.storeBytes(of: UInt16(segmentSize), toByteOffset: headerSize, as: UInt16.self)
      }
      let result: Int = train.withUnsafeReadableBytes { bytes in
        BoundUDPSocket.withSocketAddress(destination) { address, addressSize in
          var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
          return withUnsafeMutablePointer(to: &vector) { vector in
            var message = msghdr(
              msg_name: UnsafeMutableRawPointer(mutating: address), msg_namelen: addressSize,
              msg_iov: vector, msg_iovlen: 1, msg_control: segmented ? control.baseAddress : nil, msg_controllen: controlSize, msg_flags: 0)
            return self.descriptor.withLock { descriptor in
              guard let descriptor else { return -Int(EBADF) }
              var sent: Int
              repeat { sent = sendmsg(descriptor, &message, 0) } while sent < 0 && errno == EINTR
              return sent < 0 ? -Int(errno) : sent
            }
          }
        }
      }
      if result >= 0 { return .sent }
      let error = CInt(-result)
      return error == EAGAIN || error == EWOULDBLOCK ? .wouldBlock : .refused(errno: error)
    }
  }

  var descriptorNumber: CInt? { descriptor.withLock { $0 } }

  /// Closes the duplicate (the socket itself closes with NIO's channel and this, whichever is last).
  public func close() {
    descriptor.withLock { descriptor in
      if let open = descriptor { _ = Glibc.close(open) }
      descriptor = nil
    }
  }
}
