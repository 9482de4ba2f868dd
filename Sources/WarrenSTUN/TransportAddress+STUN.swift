internal import WarrenPrimitives

/// Transport addresses in STUN attributes (RFC 8489 §14.1, §14.2).
extension TransportAddress {
  /// The attribute value of MAPPED-ADDRESS (`xor: nil`) or an XOR-…-ADDRESS (RFC 8489 §14.1–2):
  /// family, port and address, the XOR forms masked with the magic cookie and transaction id.
  func encoded(xor transactionID: STUNTransactionID?) -> [UInt8] {
    var port = port
    var address = ip.bytes
    if let transactionID {
      port ^= UInt16(STUNMessage.magicCookie >> 16)
      let mask = STUNMessage.magicCookieBytes + transactionID.bytes
      for index in address.indices { address[index] ^= mask[index] }
    }
    return [0, ip.isIPv4 ? 0x01 : 0x02, UInt8(port >> 8), UInt8(port & 0xff)] + address
  }

  static func decode(_ value: ArraySlice<UInt8>, xor transactionID: STUNTransactionID?, name: String) throws(STUNError) -> TransportAddress {
    let value = Array(value)
    guard value.count >= 4 else {
      throw STUNError(.malformedAttribute, "\(name) is \(value.count) bytes, shorter than its 4-byte header")
    }
    let expected: Int
    switch value[1] {
    case 0x01: expected = 8
    case 0x02: expected = 20
    default: throw STUNError(.malformedAttribute, "\(name) has address family 0x\(String(value[1], radix: 16)), not IPv4 (1) or IPv6 (2)")
    }
    guard value.count == expected else {
      throw STUNError(.malformedAttribute, "\(name) for \(value[1] == 1 ? "IPv4" : "IPv6") is \(value.count) bytes, not \(expected)")
    }
    var port = UInt16(value[2]) << 8 | UInt16(value[3])
    var address = Array(value[4...])
    if let transactionID {
      port ^= UInt16(STUNMessage.magicCookie >> 16)
      let mask = STUNMessage.magicCookieBytes + transactionID.bytes
      for index in address.indices { address[index] ^= mask[index] }
    }
    return TransportAddress(ip: IP(bytes: address)!, port: port)
  }
}
