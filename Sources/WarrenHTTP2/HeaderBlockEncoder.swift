internal import NIOCore
internal import NIOHPACK

/// Encodes response header blocks (RFC 7541 §6) without touching a dynamic table: a field of the
/// static table by its index, any other as a literal without indexing (by the static name's index
/// where there is one), strings plain. The peer's table is never changed, so no size update is
/// ever due, and the few fields of a gRPC response cost a handful of bytes more than indexed.
enum HeaderBlockEncoder {
  static func encode(_ headers: HPACKHeaders, into buffer: inout ByteBuffer) {
    for (name, value, _) in headers {
      if let index = HPACKStaticTable.index(name: name, value: value) {
        writeInteger(index, prefix: 7, flags: 0x80, into: &buffer)
      } else if let index = HPACKStaticTable.nameIndex[name] {
        writeInteger(index, prefix: 4, flags: 0x00, into: &buffer)
        writeString(value, into: &buffer)
      } else {
        buffer.writeInteger(UInt8(0))
        writeString(name, into: &buffer)
        writeString(value, into: &buffer)
      }
    }
  }

  static func writeInteger(_ value: Int, prefix: Int, flags: UInt8, into buffer: inout ByteBuffer) {
    let mask = (1 << prefix) - 1
    guard value >= mask else {
      buffer.writeInteger(flags | UInt8(value))
      return
    }
    buffer.writeInteger(flags | UInt8(mask))
    var rest = value - mask
    while rest >= 0x80 {
      buffer.writeInteger(UInt8(rest & 0x7F) | 0x80)
      rest >>= 7
    }
    buffer.writeInteger(UInt8(rest))
  }

  private static func writeString(_ string: String, into buffer: inout ByteBuffer) {
    writeInteger(string.utf8.count, prefix: 7, flags: 0x00, into: &buffer)
    buffer.writeString(string)
  }
}
