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

  public init(_ first: ByteBuffer) {
    buffer = first
    segmentSize = first.readableBytes
    headed = false
  }

  /// A train whose datagrams get a 4-byte header each, `header` (big-endian) for this first one.
  public init(_ first: ByteBuffer, header: UInt32) {
    segmentSize = 4 + first.readableBytes
    buffer = ByteBufferAllocator().buffer(capacity: min(segmentSize * 8, Self.maximumBytes))
    buffer.writeInteger(header)
    buffer.writeImmutableBuffer(first)
    headed = true
  }

  /// Adds `datagram` at the end if it may follow; false if it may not (the caller sends this
  /// train first).
  public mutating func append(_ datagram: ByteBuffer) -> Bool {
    guard !headed, joins(size: datagram.readableBytes) else { return false }
    if count == 1 {
      var train = ByteBufferAllocator().buffer(capacity: min(segmentSize * 8, Self.maximumBytes))
      train.writeImmutableBuffer(buffer)
      buffer = train
    }
    buffer.writeImmutableBuffer(datagram)
    joined(size: datagram.readableBytes)
    return true
  }

  /// Adds `datagram` behind `header` if it may follow.
  public mutating func append(_ datagram: ByteBuffer, header: UInt32) -> Bool {
    guard headed, joins(size: 4 + datagram.readableBytes) else { return false }
    buffer.writeInteger(header)
    buffer.writeImmutableBuffer(datagram)
    joined(size: 4 + datagram.readableBytes)
    return true
  }

  private func joins(size: Int) -> Bool {
    !ended && size > 0 && size <= segmentSize && count < Self.maximumSegments && buffer.readableBytes + size <= Self.maximumBytes
  }

  private mutating func joined(size: Int) {
    count += 1
    ended = size < segmentSize
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
