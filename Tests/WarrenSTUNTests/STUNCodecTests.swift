import Testing
import WarrenSTUN
import WarrenPrimitives

@Suite("STUN codec")
struct STUNCodecTests {
  struct Seeded: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9e37_79b9_7f4a_7c15
      var z = state
      z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
      z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
      return z ^ (z >> 31)
    }
  }

  @Test("message types interleave method and class bits (RFC 8489 §5, RFC 8656 §17)", arguments: [
    (STUNMethod.binding, STUNClass.request, UInt16(0x0001)), (.binding, .successResponse, 0x0101),
    (.binding, .errorResponse, 0x0111), (.binding, .indication, 0x0011), (.allocate, .request, 0x0003),
    (.allocate, .successResponse, 0x0103), (.allocate, .errorResponse, 0x0113), (.send, .indication, 0x0016),
    (.data, .indication, 0x0017), (.channelBind, .request, 0x0009), (.createPermission, .request, 0x0008),
    (STUNMethod(0xfff), .errorResponse, 0x3fff),
  ])
  func messageTypes(method: STUNMethod, messageClass: STUNClass, raw: UInt16) {
    #expect(STUNMessageType(method, messageClass).rawValue == raw)
    #expect(STUNMessageType(rawValue: raw) == STUNMessageType(method, messageClass))
  }

  @Test("building and parsing round-trips every attribute kind, with SHA-256 integrity too")
  func roundTrip() throws {
    var random = Seeded(state: 1)
    let transaction = STUNTransactionID.random(using: &random)
    var message = STUNMessage(type: .init(.allocate, .errorResponse), transactionID: transaction)
    let v6 = TransportAddress(ip: .init("2001:db8::1")!, port: 3478)
    let v4 = TransportAddress(ip: .init("203.0.113.9")!, port: 65535)
    message.append(.xorPeerAddress, address: v6, xor: true)
    message.append(.mappedAddress, address: v4, xor: false)
    message.append(.xorRelayedAddress, address: v4, xor: true)
    try message.appendErrorCode(438, reason: "Stale Nonce")
    message.appendUnknownAttributes([STUNAttributeType(0x0031), .evenPort])
    message.append(.lifetime, uint32: 600)
    message.append(.iceControlling, uint64: .max)
    message.append(.useCandidate, [])
    let key = Array("secret".utf8)
    let bytes = message.encoded(integrity: .sha256(key: key), fingerprint: true)
    #expect(STUNMessage.isSTUN(bytes))
    let parsed = try STUNMessage(parsing: bytes)
    #expect(try parsed.xorPeerAddress == v6)
    #expect(try parsed.mappedAddress == v4)
    #expect(try parsed.xorRelayedAddress == v4)
    #expect(try parsed.errorCode?.code == 438)
    #expect(try parsed.errorCode?.reason == "Stale Nonce")
    #expect(try parsed.unknownAttributes == [STUNAttributeType(0x0031), .evenPort])
    #expect(try parsed.lifetime == 600)
    #expect(try parsed.iceControlling == .max)
    #expect(parsed.useCandidate)
    #expect(parsed.verifyIntegrity(key: key))
    #expect(!parsed.verifyIntegrity(key: Array("Secret".utf8)))
    #expect(parsed.fingerprintMatches == true)
    #expect(parsed.unknownComprehensionRequired(known: [.xorPeerAddress, .mappedAddress, .xorRelayedAddress, .errorCode, .unknownAttributes, .lifetime, .useCandidate, .messageIntegritySHA256]) == [])
    #expect(parsed.unknownComprehensionRequired(known: []).contains(.lifetime))
  }

  @Test("any flipped bit of a protected message fails integrity or fingerprint")
  func tamper() throws {
    for bit in (STUNMessage.headerCount * 8)..<(RFC5769.request.count * 8) {
      var bytes = RFC5769.request
      bytes[bit / 8] ^= 1 << (bit % 8)
      guard let message = try? STUNMessage(parsing: bytes) else { continue }
      #expect(!message.verifyIntegrity(key: RFC5769.password) || message.fingerprintMatches != true, "bit \(bit)")
    }
  }

  @Test("attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 8489 §14.5)")
  func afterIntegrity() throws {
    var message = STUNMessage(type: .init(.binding, .request), transactionID: RFC5769.transactionID)
    message.append(.priority, uint32: 1)
    var bytes = message.encoded(integrity: .sha1(key: [1]))
    bytes += [0x00, 0x25, 0x00, 0x00]  // USE-CANDIDATE smuggled in after the integrity
    let length = bytes.count - STUNMessage.headerCount
    bytes[2] = UInt8(length >> 8)
    bytes[3] = UInt8(length & 0xff)
    let parsed = try STUNMessage(parsing: bytes)
    #expect(!parsed.useCandidate)
    #expect(parsed.verifyIntegrity(key: [1]))
  }

  @Test("malformed framing and attribute values are typed errors", arguments: [
    ("00 01 00 00 21 12 a4", STUNError.Code.notSTUN),
    ("c0 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00", .notSTUN),
    ("00 01 00 02 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00", .notSTUN),
    ("00 01 00 04 21 12 a4 43 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", .notSTUN),
    ("00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 08 00 00 00 00", .truncatedAttribute),
    ("00 01 00 04 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 08", .truncatedAttribute),
  ])
  func framingErrors(text: String, code: STUNError.Code) {
    #expect { try STUNMessage(parsing: hex(text)) } throws: { ($0 as? STUNError)?.code == code }
  }

  @Test("malformed attribute values throw when read, naming the attribute")
  func valueErrors() throws {
    var message = STUNMessage(type: .init(.binding, .successResponse), transactionID: RFC5769.transactionID)
    message.append(.xorMappedAddress, [0, 3, 0, 0, 1, 2, 3, 4])
    message.append(.priority, [1, 2, 3])
    message.append(.username, [0xff, 0xfe])
    message.append(.errorCode, [0, 0, 7, 0])
    let parsed = try STUNMessage(parsing: message.encoded())
    #expect { try parsed.xorMappedAddress } throws: { "\($0)".contains("XOR-MAPPED-ADDRESS has address family 0x3") }
    #expect { try parsed.priority } throws: { "\($0)".contains("PRIORITY is 3 bytes") }
    #expect { try parsed.username } throws: { "\($0)".contains("USERNAME is not valid UTF-8") }
    #expect { try parsed.errorCode } throws: { "\($0)".contains("ERROR-CODE class 7") }
  }

  @Test("WireGuard messages are not STUN, whatever their first byte; STUN is")
  func demultiplexing() {
    var random = Seeded(state: 7)
    for (type, size) in [(UInt8(1), 148), (2, 92), (3, 64), (4, 32), (4, 128)] {
      for _ in 0..<1000 {
        var packet = [type, 0, 0, 0] + (4..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
        // A WireGuard data packet whose counter bytes happen to be zero is still not STUN.
        if size == 32 { for index in 4..<16 { packet[index] = 0 } }
        #expect(!STUNMessage.isSTUN(packet))
      }
    }
    #expect(STUNMessage.isSTUN(RFC5769.request))
    #expect(!STUNMessage.isSTUN(RFC5769.request.dropLast()))
  }

  @Test("IPv6 text forms", arguments: [
    ("2001:db8::1", "2001:db8::1"), ("::", "::"), ("::1", "::1"), ("fe80::1:2:3:4", "fe80::1:2:3:4"),
    ("2001:0DB8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"), ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
    ("::ffff:192.0.2.9", "::ffff:c000:209"),
  ])
  func ipv6Text(text: String, canonical: String) {
    #expect(TransportAddress.IP(text)?.description == canonical)
  }

  @Test("bad IP text is rejected", arguments: ["", "1.2.3", "1.2.3.256", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9"])
  func badIPText(text: String) {
    #expect(TransportAddress.IP(text) == nil)
  }

  @Test("fuzzing: 300,000 random, truncated and mutated inputs never crash")
  func fuzz() {
    var random = Seeded(state: 20261127)
    let seeds = [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response, RFC5769.longTermRequest]
    var parsed = 0
    for round in 0..<300_000 {
      var input: [UInt8]
      let seed = seeds[round % seeds.count]
      switch round % 4 {
      case 0:
        input = (0..<Int.random(in: 0..<96, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
      case 1:
        input = Array(seed.prefix(Int.random(in: 0...seed.count, using: &random)))
      case 2:
        input = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
          input[Int.random(in: 0..<input.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
        }
      default:
        // A valid header over random attribute soup.
        let body = (0..<(4 * Int.random(in: 0..<24, using: &random))).map { _ in UInt8.random(in: 0...255, using: &random) }
        input = [0, 1, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + [0x21, 0x12, 0xa4, 0x42]
          + RFC5769.transactionID.bytes + body
      }
      guard let message = try? STUNMessage(parsing: input) else { continue }
      parsed += 1
      _ = message.verifyIntegrity(key: RFC5769.password)
      _ = message.fingerprintMatches
      _ = try? message.xorMappedAddress
      _ = try? message.mappedAddress
      _ = try? message.username
      _ = try? message.errorCode
      _ = try? message.unknownAttributes
      _ = try? message.priority
      _ = try? message.iceControlling
      _ = message.encoded()
    }
    #expect(parsed > 50_000)
  }

  @Test("IP:PORT text reads back what description writes, IPv6 in brackets")
  func addressText() {
    for text in ["198.51.100.7:3478", "[2001:db8::1]:51820", "[::1]:9"] {
      #expect(TransportAddress(parsing: text).map { "\($0)" } == text)
    }
    for bad in ["198.51.100.7", "198.51.100.7:70000", "[::1:9", "host:80", ""] {
      #expect(TransportAddress(parsing: bad) == nil, "\(bad)")
    }
  }
}
