/// Why a header block could not be decoded (RFC 7541 §2.3, §5, §6): a COMPRESSION_ERROR of the
/// connection (RFC 9113 §4.3), since the two ends' tables no longer agree.
public enum HPACKError: Error, Equatable, CustomStringConvertible {
  case truncated
  case integerTooLarge
  case indexZero
  case indexOutOfRange(Int)
  case tableSizeUpdateAboveLimit(Int, limit: Int)
  case tableSizeUpdateAfterField
  case stringTooLong(Int)
  case huffmanInvalidCode
  case huffmanInvalidPadding
  case huffmanEndOfString
  case headerListTooLarge(limit: Int)

  public var description: String {
    switch self {
    case .truncated: "the header block ends inside a field"
    case .integerTooLarge: "an integer is larger than this decoder reads"
    case .indexZero: "a field refers to index 0"
    case .indexOutOfRange(let index): "a field refers to index \(index), beyond the tables"
    case .tableSizeUpdateAboveLimit(let size, let limit): "a table size update to \(size) bytes exceeds the \(limit) allowed"
    case .tableSizeUpdateAfterField: "a table size update follows a field"
    case .stringTooLong(let length): "a string of \(length) bytes is longer than the block"
    case .huffmanInvalidCode: "a Huffman-coded string holds a code no symbol has"
    case .huffmanInvalidPadding: "a Huffman-coded string is padded with more than 7 bits or not with ones"
    case .huffmanEndOfString: "a Huffman-coded string contains EOS"
    case .headerListTooLarge(let limit): "the header list is larger than \(limit) bytes"
    }
  }
}
