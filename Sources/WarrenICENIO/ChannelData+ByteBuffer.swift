internal import NIOCore
internal import WarrenTURN

extension ChannelData {
  /// The 4-byte ChannelData header (RFC 8656 §12.4) of `length` bytes on `channel`, as one
  /// big-endian word: what ``DatagramTrain`` writes in front of a relayed datagram.
  static func header(channel: UInt16, length: Int) -> UInt32 {
    UInt32(channel) << 16 | UInt32(UInt16(truncatingIfNeeded: length))
  }

  /// `data` behind its ChannelData `header`, for a TURN server over UDP (no padding), in a buffer
  /// of its own: for a datagram that leaves outside a train.
  static func frame(_ data: ByteBuffer, header: UInt32) -> ByteBuffer {
    var framed = ByteBufferAllocator().buffer(capacity: 4 + data.readableBytes)
    framed.writeInteger(header)
    framed.writeImmutableBuffer(data)
    return framed
  }
}
