internal import NIOCore

/// An HTTP/2 frame's 9-byte header (RFC 9113 §4.1), its types (§6) and flags.
struct FrameHeader {
  enum Kind: UInt8 {
    case data = 0x0
    case headers = 0x1
    case priority = 0x2
    case rstStream = 0x3
    case settings = 0x4
    case pushPromise = 0x5
    case ping = 0x6
    case goAway = 0x7
    case windowUpdate = 0x8
    case continuation = 0x9

    /// The name RFC 9113 gives it, for errors.
    var name: String {
      switch self {
      case .data: "DATA"
      case .headers: "HEADERS"
      case .priority: "PRIORITY"
      case .rstStream: "RST_STREAM"
      case .settings: "SETTINGS"
      case .pushPromise: "PUSH_PROMISE"
      case .ping: "PING"
      case .goAway: "GOAWAY"
      case .windowUpdate: "WINDOW_UPDATE"
      case .continuation: "CONTINUATION"
      }
    }
  }

  struct Flags: OptionSet {
    let rawValue: UInt8
    static let endStream = Flags(rawValue: 0x1)
    /// SETTINGS and PING: the frame answers one.
    static let ack = Flags(rawValue: 0x1)
    static let endHeaders = Flags(rawValue: 0x4)
    static let padded = Flags(rawValue: 0x8)
    static let priority = Flags(rawValue: 0x20)
  }

  static let size = 9

  var length: Int
  /// The raw type: frames of unknown types are read and ignored (§4.1, §5.5).
  var type: UInt8
  var flags: Flags
  /// The stream identifier, its reserved bit cleared.
  var stream: Int32

  var kind: Kind? { Kind(rawValue: type) }

  /// Reads a header if the buffer holds one.
  static func read(from buffer: inout ByteBuffer) -> FrameHeader? {
    guard buffer.readableBytes >= size,
      let lengthAndType = buffer.readInteger(as: UInt32.self),
      let flags = buffer.readInteger(as: UInt8.self),
      let stream = buffer.readInteger(as: UInt32.self)
    else { return nil }
    return FrameHeader(
      length: Int(lengthAndType >> 8), type: UInt8(truncatingIfNeeded: lengthAndType), flags: Flags(rawValue: flags),
      stream: Int32(bitPattern: stream & 0x7FFF_FFFF))
  }

  /// The length a header announces, without reading it.
  static func peekLength(in buffer: ByteBuffer) -> Int? {
    guard buffer.readableBytes >= size, let lengthAndType = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
    return Int(lengthAndType >> 8)
  }

  /// Fills the 9 bytes at `index` (left free for the header of a payload written behind them).
  static func set(length: Int, kind: Kind, flags: Flags, stream: Int32, in buffer: inout ByteBuffer, at index: Int) {
    buffer.setInteger(UInt32(length) << 8 | UInt32(kind.rawValue), at: index)
    buffer.setInteger(flags.rawValue, at: index + 4)
    buffer.setInteger(UInt32(bitPattern: stream), at: index + 5)
  }

  static func write(length: Int, kind: Kind, flags: Flags = [], stream: Int32, into buffer: inout ByteBuffer) {
    buffer.writeInteger(UInt32(length) << 8 | UInt32(kind.rawValue))
    buffer.writeInteger(flags.rawValue)
    buffer.writeInteger(UInt32(bitPattern: stream))
  }
}
