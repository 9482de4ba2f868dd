public import WarrenPrimitives

/// A ChannelData message (RFC 8656 §12.4): application data to or from a peer bound to a channel,
/// with a 4-byte header instead of a STUN Send or Data indication.
///
/// ```
///  0                   1                   2                   3
/// |         Channel Number        |            Length             |
/// |                    Application Data (Length bytes)            |
/// ```
public struct ChannelData: Hashable, Sendable {
  /// Channel numbers a client may bind (RFC 8656 §12).
  public static let numbers: ClosedRange<UInt16> = 0x4000...0x4fff

  public var channel: UInt16
  public var data: [UInt8]

  public init(channel: UInt16, data: [UInt8]) {
    self.channel = channel
    self.data = data
  }

  /// Whether `datagram` starts like a ChannelData message: first two bits 01 (RFC 8656 §12.4;
  /// STUN messages start with 00, RFC 7983).
  public static func looksLikeChannelData(_ datagram: some Collection<UInt8>) -> Bool {
    guard let first = datagram.first else { return false }
    return first & 0xc0 == 0x40
  }

  /// Parses one message. Over UDP the datagram may carry up to 3 bytes of padding after the data.
  public init(parsing bytes: [UInt8]) throws(TURNError) {
    let (channel, length) = try Self.header(of: bytes)
    self.channel = channel
    data = Array(bytes[4..<(4 + length)])
  }

  /// The channel number and data length of the message `bytes` starts with, checked against the
  /// bytes that follow the header: what the data path needs to hand the data on without a copy.
  public static func header(of bytes: some Collection<UInt8>) throws(TURNError) -> (channel: UInt16, length: Int) {
    var header = bytes.prefix(4).makeIterator()
    guard bytes.count >= 4, let b0 = header.next(), let b1 = header.next(), let b2 = header.next(), let b3 = header.next() else {
      throw TURNError(.malformed, "ChannelData of \(bytes.count) bytes, under the 4-byte header")
    }
    let channel = UInt16(b0) << 8 | UInt16(b1)
    guard Self.numbers.contains(channel) else {
      throw TURNError(.malformed, "channel number 0x\(String(channel, radix: 16)) outside 0x4000-0x4FFF")
    }
    let length = Int(b2) << 8 | Int(b3)
    guard 4 + length <= bytes.count else {
      throw TURNError(.malformed, "ChannelData length \(length) exceeds the \(bytes.count - 4) bytes that follow")
    }
    return (channel, length)
  }

  /// The message's bytes; `padded` rounds up to a multiple of 4 (required over TCP, RFC 8656 §12.5).
  public func encoded(padded: Bool = false) -> [UInt8] {
    var bytes: [UInt8] = [UInt8(channel >> 8), UInt8(channel & 0xff), UInt8(data.count >> 8 & 0xff), UInt8(data.count & 0xff)]
    bytes.reserveCapacity(4 + data.count + 3)
    bytes += data
    if padded { bytes += [UInt8](repeating: 0, count: (4 - data.count % 4) % 4) }
    return bytes
  }
}
