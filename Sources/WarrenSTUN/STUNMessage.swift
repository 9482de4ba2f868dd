public import WarrenPrimitives
internal import Crypto

/// A STUN message (RFC 8489 §5–6): a 20-byte header (type, length, magic cookie, transaction id)
/// and TLV attributes, each padded to four bytes.
///
/// Parsing keeps the received bytes so that MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and
/// FINGERPRINT can be verified over exactly what was sent. Encoding adds them last, in that order.
public struct STUNMessage: Hashable, Sendable {
  public static let magicCookie: UInt32 = 0x2112_a442
  static let magicCookieBytes: [UInt8] = [0x21, 0x12, 0xa4, 0x42]
  public static let headerCount = 20
  /// XOR'ed into FINGERPRINT's CRC-32 (RFC 8489 §14.7).
  static let fingerprintXOR: UInt32 = 0x5354_554e

  public var type: STUNMessageType
  public var transactionID: STUNTransactionID
  /// The attributes in order, without MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT when building
  /// (``encoded(integrity:fingerprint:)`` adds those); as received when parsed.
  public var attributes: [STUNAttribute]

  /// The bytes this message was parsed from (empty for messages built here).
  public private(set) var raw: [UInt8] = []
  /// Byte offsets in `raw` of each parsed attribute's header.
  private var offsets: [Int] = []

  public init(type: STUNMessageType, transactionID: STUNTransactionID, attributes: [STUNAttribute] = []) {
    self.type = type
    self.transactionID = transactionID
    self.attributes = attributes
  }

  public var method: STUNMethod { type.method }
  public var messageClass: STUNClass { type.messageClass }

  // MARK: - Demultiplexing

  /// Whether `datagram` starts with a well-formed STUN header: top two bits zero, a length that is
  /// a multiple of four and fits, and the magic cookie (RFC 8489 §6). Not the first byte alone:
  /// WireGuard's message types 1–4 fall in RFC 7983's STUN range.
  public static func isSTUN(_ datagram: some Collection<UInt8>) -> Bool {
    // Called for every datagram on the path: no allocation on the common contiguous case.
    if let answer = datagram.withContiguousStorageIfAvailable({ isSTUNHeader($0) }) { return answer }
    return Array(datagram).withUnsafeBufferPointer { isSTUNHeader($0) }
  }

  private static func isSTUNHeader(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= headerCount else { return false }
    let length = Int(bytes[2]) << 8 | Int(bytes[3])
    return bytes[0] & 0xc0 == 0 && length % 4 == 0 && headerCount + length <= bytes.count
      && bytes[4] == 0x21 && bytes[5] == 0x12 && bytes[6] == 0xa4 && bytes[7] == 0x42
  }

  // MARK: - Parsing

  /// Parses one message from the start of `bytes`; bytes past the header's length are ignored
  /// (a datagram may carry padding). Attributes after MESSAGE-INTEGRITY other than
  /// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and anything after FINGERPRINT, are dropped as
  /// RFC 8489 §14.5 and §14.7 say.
  public init(parsing bytes: some Collection<UInt8>) throws(STUNError) {
    let bytes = Array(bytes)
    guard bytes.count >= STUNMessage.headerCount else {
      throw STUNError(.notSTUN, "\(bytes.count) bytes is shorter than the 20-byte STUN header")
    }
    guard bytes[0] & 0xc0 == 0 else { throw STUNError(.notSTUN, "the top two bits of the message type are not zero") }
    guard Array(bytes[4..<8]) == STUNMessage.magicCookieBytes else {
      throw STUNError(.notSTUN, "no magic cookie 0x2112A442 at bytes 4–7")
    }
    let length = Int(bytes[2]) << 8 | Int(bytes[3])
    guard length % 4 == 0 else { throw STUNError(.notSTUN, "message length \(length) is not a multiple of 4") }
    guard STUNMessage.headerCount + length <= bytes.count else {
      throw STUNError(.notSTUN, "message length \(length) runs past the \(bytes.count - STUNMessage.headerCount) bytes after the header")
    }
    type = STUNMessageType(rawValue: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
    transactionID = STUNTransactionID(bytes: bytes[8..<20])!
    raw = Array(bytes[0..<(STUNMessage.headerCount + length)])
    attributes = []
    var offset = STUNMessage.headerCount
    var sawIntegrity = false
    while offset < raw.count {
      guard raw.count - offset >= 4 else {
        throw STUNError(.truncatedAttribute, "an attribute header at byte \(offset) is cut off")
      }
      let type = STUNAttributeType(UInt16(raw[offset]) << 8 | UInt16(raw[offset + 1]))
      let valueLength = Int(raw[offset + 2]) << 8 | Int(raw[offset + 3])
      let valueStart = offset + 4
      guard valueStart + valueLength <= raw.count else {
        throw STUNError(
          .truncatedAttribute, "\(type) at byte \(offset) claims \(valueLength) bytes; only \(raw.count - valueStart) remain")
      }
      let keep = !sawIntegrity || type == .messageIntegritySHA256 || type == .fingerprint
      if keep {
        attributes.append(STUNAttribute(type, Array(raw[valueStart..<(valueStart + valueLength)])))
        offsets.append(offset)
      }
      if type == .messageIntegrity || type == .messageIntegritySHA256 { sawIntegrity = true }
      offset = valueStart + (valueLength + 3) & ~3
      if type == .fingerprint { break }
    }
  }

  // MARK: - Encoding

  /// Message-integrity keys (RFC 8489 §9): the short-term key is the password; the long-term key
  /// is MD5(username ":" realm ":" password) (see ``STUNMessage/longTermKey(username:realm:password:)``).
  public enum Integrity: Sendable {
    case sha1(key: [UInt8])
    case sha256(key: [UInt8])
  }

  /// The bytes of this message with `attributes`, then MESSAGE-INTEGRITY (or -SHA256) if asked,
  /// then FINGERPRINT if asked. Attribute values are padded with `padding` bytes (any value is
  /// allowed, RFC 8489 §14; zero unless a peer's exact bytes are to be reproduced).
  public func encoded(integrity: Integrity? = nil, fingerprint: Bool = false, padding: UInt8 = 0) -> [UInt8] {
    var bytes = [UInt8]()
    bytes.reserveCapacity(128)
    bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 0]
    bytes += STUNMessage.magicCookieBytes
    bytes += transactionID.bytes
    for attribute in attributes { STUNMessage.append(attribute, to: &bytes, padding: padding) }
    if let integrity {
      let (type, size) = switch integrity {
      case .sha1: (STUNAttributeType.messageIntegrity, 20)
      case .sha256: (STUNAttributeType.messageIntegritySHA256, 32)
      }
      STUNMessage.setLength(of: &bytes, to: bytes.count - STUNMessage.headerCount + 4 + size)
      let mac = STUNMessage.mac(integrity, over: bytes)
      STUNMessage.append(STUNAttribute(type, mac), to: &bytes)
    }
    if fingerprint {
      STUNMessage.setLength(of: &bytes, to: bytes.count - STUNMessage.headerCount + 8)
      let crc = CRC32.checksum(bytes) ^ STUNMessage.fingerprintXOR
      STUNMessage.append(STUNAttribute(.fingerprint, STUNMessage.bigEndian(crc)), to: &bytes)
    }
    STUNMessage.setLength(of: &bytes, to: bytes.count - STUNMessage.headerCount)
    return bytes
  }

  private static func append(_ attribute: STUNAttribute, to bytes: inout [UInt8], padding: UInt8 = 0) {
    let count = attribute.value.count
    bytes += [UInt8(attribute.type.rawValue >> 8), UInt8(attribute.type.rawValue & 0xff), UInt8(count >> 8), UInt8(count & 0xff)]
    bytes += attribute.value
    bytes += [UInt8](repeating: padding, count: (4 - count % 4) % 4)
  }

  private static func setLength(of bytes: inout [UInt8], to length: Int) {
    bytes[2] = UInt8(length >> 8)
    bytes[3] = UInt8(length & 0xff)
  }

  private static func mac(_ integrity: Integrity, over bytes: [UInt8]) -> [UInt8] {
    switch integrity {
    case .sha1(let key): Array(HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: SymmetricKey(data: key)))
    case .sha256(let key): Array(HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: key)))
    }
  }

  static func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
  }

  // MARK: - Verification

  /// Whether the received MESSAGE-INTEGRITY (HMAC-SHA1) or, failing that, MESSAGE-INTEGRITY-SHA256
  /// verifies with `key` (RFC 8489 §14.5–14.6). False when there is none, or for a built message.
  /// The comparison takes the same time wherever the first difference is.
  public func verifyIntegrity(key: [UInt8]) -> Bool {
    for (index, attribute) in attributes.enumerated() {
      let integrity: Integrity
      switch attribute.type {
      case .messageIntegrity where attribute.value.count == 20: integrity = .sha1(key: key)
      case .messageIntegritySHA256 where (16...32).contains(attribute.value.count) && attribute.value.count % 4 == 0:
        integrity = .sha256(key: key)
      default: continue
      }
      guard index < offsets.count else { return false }
      let offset = offsets[index]
      var covered = Array(raw[0..<offset])
      STUNMessage.setLength(of: &covered, to: offset - STUNMessage.headerCount + 4 + attribute.value.count)
      let expected = STUNMessage.mac(integrity, over: covered).prefix(attribute.value.count)
      var difference: UInt8 = 0
      for (a, b) in zip(expected, attribute.value) { difference |= a ^ b }
      return difference == 0
    }
    return false
  }

  /// `true` or `false` when FINGERPRINT is present and does or does not match; `nil` without one.
  public var fingerprintMatches: Bool? {
    guard let index = attributes.lastIndex(where: { $0.type == .fingerprint }), index < offsets.count else { return nil }
    let value = attributes[index].value
    guard value.count == 4 else { return false }
    let offset = offsets[index]
    var covered = Array(raw[0..<offset])
    STUNMessage.setLength(of: &covered, to: offset - STUNMessage.headerCount + 8)
    return STUNMessage.bigEndian(CRC32.checksum(covered) ^ STUNMessage.fingerprintXOR) == value
  }

  /// MD5(username ":" realm ":" password), the long-term credential key (RFC 8489 §9.2.2). The
  /// caller applies OpaqueString (SASLprep) to the password first where it may need it.
  public static func longTermKey(username: String, realm: String, password: String) -> [UInt8] {
    Array(Insecure.MD5.hash(data: Array("\(username):\(realm):\(password)".utf8)))
  }
}
