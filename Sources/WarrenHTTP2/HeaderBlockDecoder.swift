internal import NIOCore
internal import NIOHPACK

/// Decodes the header blocks of one connection (RFC 7541 §6): indexed fields, literals with and
/// without indexing, never-indexed literals and table size updates, with Huffman-coded or plain
/// strings. One decoder per connection, fed every block in order, since blocks change its table.
struct HeaderBlockDecoder {
  private(set) var table: HeaderFieldTable
  /// The largest header list (RFC 9113 §6.5.2's size: lengths plus 32 per field) decoded whole.
  let maximumListSize: Int

  init(tableSizeLimit: Int = 4096, maximumListSize: Int) {
    table = HeaderFieldTable(limit: tableSizeLimit)
    self.maximumListSize = maximumListSize
  }

  /// Decodes a whole header block. A list beyond `maximumListSize` throws only after the block is
  /// read through, so the table stays in step with the encoder's.
  mutating func decode(_ block: ByteBuffer) throws(HPACKError) -> HPACKHeaders {
    var block = block
    var headers = HPACKHeaders()
    headers.reserveCapacity(8)  // a gRPC request's fields, without growing the array three times
    var listSize = 0
    var fieldSeen = false
    while let first = block.getInteger(at: block.readerIndex, as: UInt8.self) {
      let name: String
      let value: String
      if first & 0x80 != 0 {  // indexed field (§6.1)
        (name, value) = try field(at: try Self.integer(&block, prefix: 7))
      } else if first & 0xC0 == 0x40 {  // literal with incremental indexing (§6.2.1)
        (name, value) = try literal(&block, prefix: 6)
        table.insert(name: name, value: value)
      } else if first & 0xE0 == 0x20 {  // dynamic table size update (§6.3)
        guard !fieldSeen else { throw .tableSizeUpdateAfterField }
        try table.resize(to: try Self.integer(&block, prefix: 5))
        continue
      } else {  // literal without indexing (§6.2.2) or never indexed (§6.2.3)
        (name, value) = try literal(&block, prefix: 4)
      }
      fieldSeen = true
      listSize += HeaderFieldTable.size(name: name, value: value)
      if listSize <= maximumListSize { headers.add(name: name, value: value) }
    }
    guard listSize <= maximumListSize else { throw .headerListTooLarge(limit: maximumListSize) }
    return headers
  }

  private func field(at index: Int) throws(HPACKError) -> (name: String, value: String) {
    guard index != 0 else { throw .indexZero }
    if index <= HPACKStaticTable.entries.count { return HPACKStaticTable.entries[index - 1] }
    guard let entry = table[index - HPACKStaticTable.entries.count] else { throw .indexOutOfRange(index) }
    return entry
  }

  private func literal(_ block: inout ByteBuffer, prefix: Int) throws(HPACKError) -> (name: String, value: String) {
    let index = try Self.integer(&block, prefix: prefix)
    let name = index == 0 ? try Self.string(&block) : try field(at: index).name
    return (name, try Self.string(&block))
  }

  /// An integer with an N-bit prefix (§5.1), the prefix's other bits ignored; at most 2^28 or so,
  /// far beyond any length or index a block can hold.
  static func integer(_ block: inout ByteBuffer, prefix: Int) throws(HPACKError) -> Int {
    guard let first = block.readInteger(as: UInt8.self) else { throw .truncated }
    let mask = (1 << prefix) - 1
    var value = Int(first) & mask
    guard value == mask else { return value }
    var shift = 0
    while true {
      guard let next = block.readInteger(as: UInt8.self) else { throw .truncated }
      guard shift <= 21 else { throw .integerTooLarge }
      value += Int(next & 0x7F) << shift
      shift += 7
      if next & 0x80 == 0 { return value }
    }
  }

  /// A string literal (§5.2), Huffman-coded or not.
  static func string(_ block: inout ByteBuffer) throws(HPACKError) -> String {
    guard let first = block.getInteger(at: block.readerIndex, as: UInt8.self) else { throw .truncated }
    let length = try integer(&block, prefix: 7)
    guard length <= block.readableBytes, let bytes = block.readSlice(length: length) else { throw .stringTooLong(length) }
    if first & 0x80 != 0 {
      return String(decoding: try HuffmanCode.decode(bytes.readableBytesView), as: UTF8.self)
    }
    return String(buffer: bytes)
  }
}
