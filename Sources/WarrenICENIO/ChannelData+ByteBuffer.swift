internal import NIOCore
internal import WarrenTURN

extension ChannelData {
  /// `data` framed as ChannelData on `channel` (RFC 8656 §12.4) for a TURN server over UDP (no
  /// padding): the relayed data path's one copy of a datagram on its way out.
  static func frame(_ data: ByteBuffer, channel: UInt16) -> ByteBuffer {
    var framed = ByteBufferAllocator().buffer(capacity: 4 + data.readableBytes)
    framed.writeInteger(channel)
    framed.writeInteger(UInt16(truncatingIfNeeded: data.readableBytes))
    framed.writeImmutableBuffer(data)
    return framed
  }
}
