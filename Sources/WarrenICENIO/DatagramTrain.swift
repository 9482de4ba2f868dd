public import NIOCore

/// Consecutive datagrams to one destination, gathered for one UDP GSO send (`UDP_SEGMENT`,
/// Linux 4.18): the kernel cuts the train into datagrams of ``segmentSize`` bytes, the last one
/// possibly shorter, and carries it through the stack as one packet until then. A burst of
/// WireGuard datagrams (all of its MTU but the last) becomes one send instead of eight.
///
/// A datagram joins the train when it has the train's segment size, or is shorter and ends it;
/// anything else is refused, and the caller sends the train and starts a new one with it.
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

  public init(_ first: ByteBuffer) {
    buffer = first
    segmentSize = first.readableBytes
  }

  /// Adds `datagram` at the end if it may follow; false if it may not (the caller sends this
  /// train first).
  public mutating func append(_ datagram: ByteBuffer) -> Bool {
    let size = datagram.readableBytes
    guard !ended, size > 0, size <= segmentSize, count < Self.maximumSegments,
      buffer.readableBytes + size <= Self.maximumBytes
    else { return false }
    if count == 1 {
      var train = ByteBufferAllocator().buffer(capacity: min(segmentSize * 8, Self.maximumBytes))
      train.writeImmutableBuffer(buffer)
      buffer = train
    }
    buffer.writeImmutableBuffer(datagram)
    count += 1
    ended = size < segmentSize
    return true
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
