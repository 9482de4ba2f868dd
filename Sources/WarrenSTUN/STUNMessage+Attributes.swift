public import WarrenPrimitives
/// Typed reading and writing of the attributes ICE and TURN use. Readers return `nil` when the
/// attribute is absent and throw ``STUNError`` when it is present but malformed.
extension STUNMessage {
  /// The first attribute of `type`.
  public func attribute(_ type: STUNAttributeType) -> STUNAttribute? {
    attributes.first { $0.type == type }
  }

  public mutating func append(_ type: STUNAttributeType, _ value: [UInt8]) {
    attributes.append(STUNAttribute(type, value))
  }

  // MARK: Addresses

  public var xorMappedAddress: TransportAddress? {
    get throws(STUNError) { try address(.xorMappedAddress, xor: true) }
  }

  public var mappedAddress: TransportAddress? {
    get throws(STUNError) { try address(.mappedAddress, xor: false) }
  }

  public var xorRelayedAddress: TransportAddress? {
    get throws(STUNError) { try address(.xorRelayedAddress, xor: true) }
  }

  public var xorPeerAddress: TransportAddress? {
    get throws(STUNError) { try address(.xorPeerAddress, xor: true) }
  }

  public func address(_ type: STUNAttributeType, xor: Bool) throws(STUNError) -> TransportAddress? {
    guard let attribute = attribute(type) else { return nil }
    return try TransportAddress.decode(attribute.value[...], xor: xor ? transactionID : nil, name: "\(type)")
  }

  public mutating func append(_ type: STUNAttributeType, address: TransportAddress, xor: Bool) {
    append(type, address.encoded(xor: xor ? transactionID : nil))
  }

  // MARK: Text

  public var username: String? { get throws(STUNError) { try text(.username, limit: 513) } }
  public var realm: String? { get throws(STUNError) { try text(.realm, limit: 763) } }
  public var nonce: String? { get throws(STUNError) { try text(.nonce, limit: 763) } }
  public var software: String? { get throws(STUNError) { try text(.software, limit: 763) } }

  private func text(_ type: STUNAttributeType, limit: Int) throws(STUNError) -> String? {
    guard let attribute = attribute(type) else { return nil }
    guard attribute.value.count <= limit else {
      throw STUNError(.malformedAttribute, "\(type) is \(attribute.value.count) bytes, more than \(limit)")
    }
    guard let text = String(validating: attribute.value, as: UTF8.self) else {
      throw STUNError(.malformedAttribute, "\(type) is not valid UTF-8")
    }
    return text
  }

  public mutating func append(_ type: STUNAttributeType, text: String) {
    append(type, Array(text.utf8))
  }

  // MARK: Numbers and flags

  /// PRIORITY (RFC 8445 §7.1.1).
  public var priority: UInt32? { get throws(STUNError) { try uint32(.priority) } }
  /// LIFETIME in seconds (RFC 8656 §18.2).
  public var lifetime: UInt32? { get throws(STUNError) { try uint32(.lifetime) } }
  /// ICE-CONTROLLING's tie-breaker (RFC 8445 §7.1.3).
  public var iceControlling: UInt64? { get throws(STUNError) { try uint64(.iceControlling) } }
  /// ICE-CONTROLLED's tie-breaker.
  public var iceControlled: UInt64? { get throws(STUNError) { try uint64(.iceControlled) } }
  /// USE-CANDIDATE (RFC 8445 §7.1.2): present or not.
  public var useCandidate: Bool { attribute(.useCandidate) != nil }

  public func uint32(_ type: STUNAttributeType) throws(STUNError) -> UInt32? {
    guard let value = attribute(type)?.value else { return nil }
    guard value.count == 4 else { throw STUNError(.malformedAttribute, "\(type) is \(value.count) bytes, not 4") }
    return value.reduce(0) { $0 << 8 | UInt32($1) }
  }

  public func uint64(_ type: STUNAttributeType) throws(STUNError) -> UInt64? {
    guard let value = attribute(type)?.value else { return nil }
    guard value.count == 8 else { throw STUNError(.malformedAttribute, "\(type) is \(value.count) bytes, not 8") }
    return value.reduce(0) { $0 << 8 | UInt64($1) }
  }

  public mutating func append(_ type: STUNAttributeType, uint32 value: UInt32) {
    append(type, STUNMessage.bigEndian(value))
  }

  public mutating func append(_ type: STUNAttributeType, uint64 value: UInt64) {
    append(type, STUNMessage.bigEndian(UInt32(value >> 32)) + STUNMessage.bigEndian(UInt32(value & 0xffff_ffff)))
  }

  // MARK: Errors

  /// ERROR-CODE (RFC 8489 §14.8): class × 100 + number, and the reason phrase.
  public var errorCode: (code: Int, reason: String)? {
    get throws(STUNError) {
      guard let value = attribute(.errorCode)?.value else { return nil }
      guard value.count >= 4 else { throw STUNError(.malformedAttribute, "ERROR-CODE is \(value.count) bytes, under 4") }
      let errorClass = Int(value[2] & 0x07)
      let number = Int(value[3])
      guard (3...6).contains(errorClass), number < 100 else {
        throw STUNError(.malformedAttribute, "ERROR-CODE class \(errorClass) number \(number) is not a 300–699 code")
      }
      guard let reason = String(validating: value[4...], as: UTF8.self) else {
        throw STUNError(.malformedAttribute, "ERROR-CODE's reason phrase is not valid UTF-8")
      }
      return (errorClass * 100 + number, reason)
    }
  }

  public mutating func appendErrorCode(_ code: Int, reason: String) throws(STUNError) {
    guard (300...699).contains(code) else { throw STUNError(.unencodable, "error code \(code) is not 300–699") }
    let phrase = Array(reason.utf8)
    guard phrase.count <= 763 else { throw STUNError(.unencodable, "reason phrase is \(phrase.count) bytes, over 763") }
    append(.errorCode, [0, 0, UInt8(code / 100), UInt8(code % 100)] + phrase)
  }

  /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
  public var unknownAttributes: [STUNAttributeType]? {
    get throws(STUNError) {
      guard let value = attribute(.unknownAttributes)?.value else { return nil }
      guard value.count % 2 == 0 else { throw STUNError(.malformedAttribute, "UNKNOWN-ATTRIBUTES has an odd length") }
      return stride(from: 0, to: value.count, by: 2).map { STUNAttributeType(UInt16(value[$0]) << 8 | UInt16(value[$0 + 1])) }
    }
  }

  public mutating func appendUnknownAttributes(_ types: [STUNAttributeType]) {
    append(.unknownAttributes, types.flatMap { [UInt8($0.rawValue >> 8), UInt8($0.rawValue & 0xff)] })
  }

  /// Comprehension-required attribute types this message carries that are not in `known`; a
  /// request with any must be answered 420 (RFC 8489 §6.3.1).
  public func unknownComprehensionRequired(known: Set<STUNAttributeType>) -> [STUNAttributeType] {
    attributes.map(\.type).filter { $0.isComprehensionRequired && !known.contains($0) }
  }
}
