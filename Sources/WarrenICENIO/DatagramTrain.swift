public import NIOCore

/// Consecutive datagrams to one destination, gathered for one UDP GSO send (`UDP_SEGMENT`,
/// Linux 4.18): the kernel cuts the train into datagrams of ``segmentSize`` bytes, the last one
/// possibly shorter, and carries it through the stack as one packet until then. A burst of
/// WireGuard datagrams (all of its MTU but the last) becomes one send instead of eight.
///
/// A datagram joins the train when it has the train's segment size, or is shorter and ends it;
/// anything else is refused, and the caller sends the train and starts a new one with it.
///
/// Datagrams may get a 4-byte header in front (a TURN ChannelData header, RFC 8656 §12.4), written
/// straight into the train's buffer: a relayed datagram then costs no buffer of its own. A train
/// holds datagrams with headers or without, never both.
public struct DatagramTrain: Sendable {
  /// The kernel's limit on segments per GSO send (`UDP_MAX_SEGMENTS`).
  public static let maximumSegments = 64
  /// The largest UDP payload over IPv4 (65535 minus the IP and UDP headers); IPv6 allows a little
  /// more, and one limit for both keeps a train valid on either.
  public static let maximumBytes = 65_507

  /// The train's datagrams back to back: the first one's own buffer while it is alone (no copy
  /// for a datagram that travels alone), a buffer of their own once a second one joins.
  public private(set) var buffer: ByteBuffer
  /// The size of every datagram but the last.
  public private(set) var segmentSize: Int
  public private(set) var count = 1
  /// A shorter datagram joined: nothing may follow it.
  private var ended = false
  /// The datagrams carry 4-byte headers.
  private let headed: Bool

  /// A train of `first`; with a `header` (big-endian), a train whose datagrams each get one.
  public init(_ first: ByteBuffer, header: UInt32? = nil) {
    headed = header != nil
    guard let header else {
      buffer = first
      segmentSize = first.readableBytes
      return
    }
    segmentSize = 4 + first.readableBytes
    buffer = ByteBufferAllocator().buffer(capacity: min(segmentSize * 8, Self.maximumBytes))
    buffer.writeInteger(header)
    buffer.writeImmutableBuffer(first)
  }

  /// Adds `datagram` (behind `header` in a headed train) at the end if it may follow; false if
  /// it may not (the caller sends this train first).
  public mutating func append(_ datagram: ByteBuffer, header: UInt32? = nil) -> Bool {
    let size = (header == nil ? 0 : 4) + datagram.readableBytes
    guard (header != nil) == headed, joins(size: size) else { return false }
    if let header {
      buffer.writeInteger(header)
    } else if count == 1 {
      // The first datagram's own buffer until now; the train gets one of its own.
      var train = ByteBufferAllocator().buffer(capacity: min(segmentSize * 8, Self.maximumBytes))
      train.writeImmutableBuffer(buffer)
      buffer = train
    }
    buffer.writeImmutableBuffer(datagram)
    count += 1
    ended = size < segmentSize
    return true
  }

  private func joins(size: Int) -> Bool {
    !ended && size > 0 && size <= segmentSize && count < Self.maximumSegments && buffer.readableBytes + size <= Self.maximumBytes
  }

  /// The train as one datagram to write: with the segment size for the kernel when it holds
  /// more than one.
  public func envelope(to destination: SocketAddress) -> AddressedEnvelope<ByteBuffer> {
    guard count > 1 else { return AddressedEnvelope(remoteAddress: destination, data: buffer) }
    return AddressedEnvelope(
      remoteAddress: destination, data: buffer,
      metadata: .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: segmentSize))
  }
}
