internal import NIOCore
internal import SwiftProtobuf

/// gRPC's message framing on HTTP/2 DATA frames (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"):
/// a compressed flag byte, a 4-byte big-endian length, the message.
enum GRPCFraming {
  static let prefixSize = 5

  /// Why a request's body is not one uncompressed message.
  enum Failure: Error, Equatable {
    case truncated(have: Int)
    case compressed
    case tooLarge(length: Int, limit: Int)
    case trailingBytes(Int)
  }

  /// The length a body's prefix announces, once its five bytes are there (to refuse an oversized
  /// message before it has arrived).
  static func announcedLength(_ body: ByteBuffer) -> Int? {
    body.getInteger(at: body.readerIndex + 1, endianness: .big, as: UInt32.self).map(Int.init)
  }

  /// The one message of a unary or server-streaming request's body.
  static func singleMessage(_ body: ByteBuffer, limit: Int) throws(Failure) -> ByteBuffer {
    guard let flag = body.getInteger(at: body.readerIndex, as: UInt8.self), let length = announcedLength(body) else {
      throw .truncated(have: body.readableBytes)
    }
    guard flag == 0 else { throw .compressed }
    guard length <= limit else { throw .tooLarge(length: length, limit: limit) }
    guard let message = body.getSlice(at: body.readerIndex + prefixSize, length: length) else {
      throw .truncated(have: body.readableBytes)
    }
    let rest = body.readableBytes - prefixSize - length
    guard rest == 0 else { throw .trailingBytes(rest) }
    return message
  }

  /// An empty message framed: `Empty`, and the empty envelope a subscription starts with. Shared:
  /// a write copies it into its frame.
  static let emptyMessage = ByteBuffer(bytes: [0, 0, 0, 0, 0])

  /// `message` framed, in a buffer of its own.
  static func frame(_ message: some SwiftProtobuf.Message, allocator: ByteBufferAllocator) throws -> ByteBuffer {
    let bytes: [UInt8] = try message.serializedBytes()
    var buffer = allocator.buffer(capacity: prefixSize + bytes.count)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(bytes.count), endianness: .big)
    buffer.writeBytes(bytes)
    return buffer
  }
}

extension GRPCFraming.Failure: CustomStringConvertible {
  var description: String {
    switch self {
    case .truncated(let have): "the request holds \(have) bytes, not a whole length-prefixed message"
    case .compressed: "compressed messages are not accepted (send grpc-encoding identity)"
    case .tooLarge(let length, let limit): "the message is \(length) bytes; this server reads at most \(limit)"
    case .trailingBytes(let count): "\(count) bytes follow the request's one message"
    }
  }
}
