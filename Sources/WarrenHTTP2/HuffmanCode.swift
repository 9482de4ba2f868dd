/// HPACK's Huffman code for string literals (RFC 7541 §5.2, Appendix B).
///
/// The code is canonical: within one length, codes ascend with the symbol, and each length's
/// first code follows the last code of the shorter lengths. So the table is its lengths alone
/// (Appendix B's "len" column, symbols 0–255 and EOS), and decoding walks the code a bit at a
/// time, comparing with each length's first code.
enum HuffmanCode {
  /// Code length in bits of each symbol, 0–255, then EOS (256).
  static let lengths: [UInt8] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
  ]

  static let endOfString = 256
  static let maximumLength = 30

  /// Per length: the first code, how many symbols have it, and where they start in `symbols`.
  private struct Length {
    var firstCode: UInt32 = 0
    var count: UInt32 = 0
    var start = 0
  }

  private static let table: (lengths: [Length], symbols: [UInt16]) = {
    let symbols = (0..<lengths.count).sorted { (lengths[$0], $0) < (lengths[$1], $1) }.map(UInt16.init)
    var byLength = [Length](repeating: Length(), count: maximumLength + 1)
    var code: UInt32 = 0
    var previous = Int(lengths[Int(symbols[0])])
    for (position, symbol) in symbols.enumerated() {
      let length = Int(lengths[Int(symbol)])
      if position > 0 { code = (code + 1) << (length - previous) }
      previous = length
      if byLength[length].count == 0 {
        byLength[length].firstCode = code
        byLength[length].start = position
      }
      byLength[length].count += 1
    }
    return (byLength, symbols)
  }()

  /// The code of `symbol`, right-aligned, and its length.
  static func code(of symbol: Int) -> (bits: UInt32, length: Int) {
    let length = Int(lengths[symbol])
    let entry = table.lengths[length]
    let rank = table.symbols[entry.start..<(entry.start + Int(entry.count))].firstIndex(of: UInt16(symbol))! - entry.start
    return (entry.firstCode + UInt32(rank), length)
  }

  /// Decodes a Huffman-coded string literal.
  static func decode(_ bytes: some Sequence<UInt8>) throws(HPACKError) -> [UInt8] {
    let (byLength, symbols) = table
    var decoded: [UInt8] = []
    var code: UInt32 = 0
    var length = 0
    var onesOnly = true
    for byte in bytes {
      for shift in stride(from: 7, through: 0, by: -1) {
        let bit = UInt32(byte >> UInt8(shift)) & 1
        code = code << 1 | bit
        length += 1
        onesOnly = onesOnly && bit == 1
        let entry = byLength[length]
        if entry.count > 0, code >= entry.firstCode, code - entry.firstCode < entry.count {
          let symbol = symbols[entry.start + Int(code - entry.firstCode)]
          guard symbol != endOfString else { throw .huffmanEndOfString }
          decoded.append(UInt8(symbol))
          code = 0
          length = 0
          onesOnly = true
        } else if length == maximumLength {
          throw .huffmanInvalidCode
        }
      }
    }
    // What is left is padding: the most significant bits of EOS (all ones), shorter than a byte.
    guard length < 8, onesOnly else { throw .huffmanInvalidPadding }
    return decoded
  }

  /// Appends `bytes` Huffman-coded (the encoder of the tests; Warren's own headers are sent plain).
  static func encode(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    var pending: UInt64 = 0
    var pendingBits = 0
    for byte in bytes {
      let (bits, length) = code(of: Int(byte))
      pending = pending << UInt64(length) | UInt64(bits)
      pendingBits += length
      while pendingBits >= 8 {
        pendingBits -= 8
        out.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingBits)))
      }
    }
    if pendingBits > 0 {
      let padding = 8 - pendingBits
      out.append(UInt8(truncatingIfNeeded: pending << UInt64(padding) | (1 << UInt64(padding) - 1)))
    }
    return out
  }
}
