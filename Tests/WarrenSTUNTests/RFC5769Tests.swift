import Testing
import WarrenSTUN
import WarrenPrimitives

/// Hex with spaces and line breaks, as RFC 5769 prints it.
func hex(_ text: String) -> [UInt8] {
  let digits = Array(text.filter(\.isHexDigit))
  return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// The test vectors of RFC 5769 ("Test Vectors for STUN"): facts, typed in from the RFC.
enum RFC5769 {
  static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
  static let transactionID = STUNTransactionID(bytes: hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"))!

  /// §2.1 Sample Request (SOFTWARE and USERNAME padded with spaces).
  static let request = hex("""
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf
    """)

  /// §2.2 Sample IPv4 Response.
  static let ipv4Response = hex("""
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96
    """)

  /// §2.3 Sample IPv6 Response.
  static let ipv6Response = hex("""
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c
    """)

  /// §2.4 Sample Request with Long-Term Authentication.
  static let longTermRequest = hex("""
    00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
    00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
    """)
}

@Suite("STUN codec against RFC 5769")
struct RFC5769Tests {
  @Test("§2.1 sample request parses, verifies, and building it reproduces the bytes")
  func request() throws {
    let message = try STUNMessage(parsing: RFC5769.request)
    #expect(message.type == STUNMessageType(.binding, .request))
    #expect(message.transactionID == RFC5769.transactionID)
    #expect(try message.software == "STUN test client")
    #expect(try message.username == "evtj:h6vY")
    #expect(try message.priority == 0x6e00_01ff)
    #expect(try message.iceControlled == 0x932f_f9b1_5126_3b36)
    #expect(try message.iceControlling == nil)
    #expect(message.verifyIntegrity(key: RFC5769.password))
    #expect(!message.verifyIntegrity(key: Array("wrong".utf8)))
    #expect(message.fingerprintMatches == true)

    var built = STUNMessage(type: .init(.binding, .request), transactionID: RFC5769.transactionID)
    built.append(.software, text: "STUN test client")
    built.append(.priority, uint32: 0x6e00_01ff)
    built.append(.iceControlled, uint64: 0x932f_f9b1_5126_3b36)
    built.append(.username, text: "evtj:h6vY")
    #expect(built.encoded(integrity: .sha1(key: RFC5769.password), fingerprint: true, padding: 0x20) == RFC5769.request)
  }

  @Test("§2.2 IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853")
  func ipv4() throws {
    let message = try STUNMessage(parsing: RFC5769.ipv4Response)
    #expect(message.type == STUNMessageType(.binding, .successResponse))
    let address = TransportAddress(ip: TransportAddress.IP("192.0.2.1")!, port: 32853)
    #expect(try message.xorMappedAddress == address)
    #expect(message.verifyIntegrity(key: RFC5769.password))
    #expect(message.fingerprintMatches == true)

    var built = STUNMessage(type: .init(.binding, .successResponse), transactionID: RFC5769.transactionID)
    built.append(.software, text: "test vector")
    built.append(.xorMappedAddress, address: address, xor: true)
    #expect(built.encoded(integrity: .sha1(key: RFC5769.password), fingerprint: true, padding: 0x20) == RFC5769.ipv4Response)
  }

  @Test("§2.3 IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853")
  func ipv6() throws {
    let message = try STUNMessage(parsing: RFC5769.ipv6Response)
    let address = TransportAddress(ip: TransportAddress.IP("2001:db8:1234:5678:11:2233:4455:6677")!, port: 32853)
    #expect(try message.xorMappedAddress == address)
    #expect(address.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
    #expect(message.verifyIntegrity(key: RFC5769.password))
    #expect(message.fingerprintMatches == true)

    var built = STUNMessage(type: .init(.binding, .successResponse), transactionID: RFC5769.transactionID)
    built.append(.software, text: "test vector")
    built.append(.xorMappedAddress, address: address, xor: true)
    #expect(built.encoded(integrity: .sha1(key: RFC5769.password), fingerprint: true, padding: 0x20) == RFC5769.ipv6Response)
  }

  @Test("§2.4 long-term credentials: MD5 key, integrity, and the same bytes rebuilt")
  func longTerm() throws {
    let message = try STUNMessage(parsing: RFC5769.longTermRequest)
    #expect(try message.username == "マトリックス")
    #expect(try message.nonce == "f//499k954d6OL34oL9FSTvy64sA")
    #expect(try message.realm == "example.org")
    #expect(message.fingerprintMatches == nil)
    // "TheMatrIX" is the SASLprep'd form of the RFC's password "TheMªtrⅨ".
    let key = STUNMessage.longTermKey(username: "マトリックス", realm: "example.org", password: "TheMatrIX")
    #expect(message.verifyIntegrity(key: key))
    #expect(!message.verifyIntegrity(key: STUNMessage.longTermKey(username: "マトリックス", realm: "example.org", password: "thematrix")))

    var built = STUNMessage(type: .init(.binding, .request), transactionID: message.transactionID)
    built.append(.username, text: "マトリックス")
    built.append(.nonce, text: "f//499k954d6OL34oL9FSTvy64sA")
    built.append(.realm, text: "example.org")
    #expect(built.encoded(integrity: .sha1(key: key)) == RFC5769.longTermRequest)
  }
}
