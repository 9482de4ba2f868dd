import NIOCore
import NIOHPACK
import Testing

@testable import WarrenHTTP2

@Suite("HPACK: Huffman code, header block decoding and encoding (RFC 7541)")
struct HPACKTests {
  private static func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
  }

  private static func pairs(_ headers: HPACKHeaders) -> [String] { headers.map { "\($0.name): \($0.value)" } }

  @Test("the Huffman code is Appendix B's: RFC 7541 C.4's strings, both ways")
  func huffmanVectors() throws {
    let vectors = [
      ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
      ("no-cache", "a8eb 1064 9cbf"),
      ("custom-key", "25a8 49e9 5ba9 7d7f"),
      ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
    ]
    for (text, hex) in vectors {
      #expect(HuffmanCode.encode(Array(text.utf8)) == Self.bytes(hex), "\(text)")
      #expect(try HuffmanCode.decode(Self.bytes(hex)) == Array(text.utf8), "\(text)")
    }
    // Appendix B's first rows and its last: symbol 0, 1, 'a', EOS.
    #expect(HuffmanCode.code(of: 0) == (0x1FF8, 13))
    #expect(HuffmanCode.code(of: 1) == (0x7F_FFD8, 23))
    #expect(HuffmanCode.code(of: Int(UInt8(ascii: "a"))) == (0x3, 5))
    #expect(HuffmanCode.code(of: 256) == (0x3FFF_FFFF, 30))
  }

  @Test("every byte value survives Huffman coding, and bad padding, EOS and cut codes are refused")
  func huffmanEdges() throws {
    var random = SystemRandomNumberGenerator()
    for length in 0..<300 {
      let text = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &random) }
      #expect(try HuffmanCode.decode(HuffmanCode.encode(text)) == text)
    }
    // 'a' is 00011; padded with zeros instead of ones.
    #expect(throws: HPACKError.huffmanInvalidPadding) { try HuffmanCode.decode([0b0001_1000]) }
    // A whole byte of ones after a symbol is padding longer than 7 bits.
    #expect(throws: HPACKError.huffmanInvalidPadding) { try HuffmanCode.decode([0b0001_1111, 0xFF]) }
    // EOS itself (30 ones) inside the string.
    #expect(throws: HPACKError.huffmanEndOfString) { try HuffmanCode.decode([0xFF, 0xFF, 0xFF, 0xFF]) }
  }

  @Test("RFC 7541 C.3 and C.4: three requests on one connection, plain and Huffman-coded, and the table between them")
  func rfcRequests() throws {
    let expected = [
      [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"],
      [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"],
      [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"],
    ]
    let plain = [
      "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "8286 84be 5808 6e6f 2d63 6163 6865",
      "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ]
    let huffman = [
      "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      "8286 84be 5886 a8eb 1064 9cbf",
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ]
    for blocks in [plain, huffman] {
      var decoder = HeaderBlockDecoder(maximumListSize: 16_384)
      for (block, fields) in zip(blocks, expected) {
        #expect(Self.pairs(try decoder.decode(ByteBuffer(bytes: Self.bytes(block)))) == fields)
      }
      // C.3.3 / C.4.3: custom-key, cache-control, :authority; 164 bytes.
      #expect(decoder.table.count == 3)
      #expect(decoder.table.size == 164)
      #expect(decoder.table[1]! == ("custom-key", "custom-value"))
      #expect(decoder.table[3]! == (":authority", "www.example.com"))
    }
  }

  @Test("NIOHPACK's encoder, an independent one, and this decoder agree over 200 blocks with evictions and Huffman")
  func crossCheckWithNIOHPACK() throws {
    var random = SystemRandomNumberGenerator()
    let names = [":path", ":authority", "content-type", "user-agent", "grpc-timeout", "x-key", "cunicu-proof-bin", "te"]
    for (tableSize, huffman) in [(4096, true), (256, true), (4096, false), (64, false)] {
      var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: huffman, maxDynamicTableSize: tableSize)
      var decoder = HeaderBlockDecoder(tableSizeLimit: 4096, maximumListSize: 1 << 20)
      for _ in 0..<50 {
        var headers = HPACKHeaders()
        for _ in 0..<Int.random(in: 0...12, using: &random) {
          let value = String((0..<Int.random(in: 0...40, using: &random)).map { _ in Character(UnicodeScalar(UInt8.random(in: 32...126, using: &random))) })
          let name = names.randomElement(using: &random)!
          switch Int.random(in: 0..<3, using: &random) {
          case 0: headers.add(name: name, value: value)
          case 1: headers.add(name: name, value: value, indexing: .nonIndexable)
          default: headers.add(name: name, value: value, indexing: .neverIndexed)
          }
        }
        var block = ByteBuffer()
        try encoder.encode(headers: headers, to: &block)
        #expect(Self.pairs(try decoder.decode(block)) == Self.pairs(headers))
      }
    }
  }

  @Test("this encoder's blocks are read by NIOHPACK's decoder: static indexes, indexed names, new names")
  func encoderReadByNIOHPACK() throws {
    let headers = HPACKHeaders([
      (":status", "200"), (":status", "431"), ("content-type", "application/grpc"), ("grpc-status", "0"),
      ("grpc-message", String(repeating: "long message ", count: 20)), ("cunicu-build-bin", "AAEC"),
    ])
    var block = ByteBuffer()
    HeaderBlockEncoder.encode(headers, into: &block)
    // :status 200 is static index 8; content-type a literal on static name 31, never indexed.
    #expect(Array(block.readableBytesView.prefix(1)) == [0x88])
    var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
    #expect(Self.pairs(try decoder.decodeHeaders(from: &block)) == Self.pairs(headers))
  }

  @Test("malformed blocks are errors that say what is wrong, never a crash")
  func malformed() throws {
    let cases: [(String, HPACKError)] = [
      ("80", .indexZero),
      ("be", .indexOutOfRange(62)),
      ("ff", .truncated),  // an integer that needs more bytes
      ("ff ff ff ff ff ff 01", .integerTooLarge),
      ("40 0a 61", .stringTooLong(10)),
      ("3f e2 1f", .tableSizeUpdateAboveLimit(4096 + 1, limit: 4096)),
      ("82 20", .tableSizeUpdateAfterField),
      ("00 81 18 00", .huffmanInvalidPadding),
    ]
    for (hex, error) in cases {
      var decoder = HeaderBlockDecoder(maximumListSize: 16_384)
      #expect(throws: error, "\(hex)") { try decoder.decode(ByteBuffer(bytes: Self.bytes(hex))) }
    }
    // A list beyond the limit is refused once the block is read through: the table still follows.
    var decoder = HeaderBlockDecoder(maximumListSize: 40)
    #expect(throws: HPACKError.headerListTooLarge(limit: 40)) {
      try decoder.decode(ByteBuffer(bytes: Self.bytes("400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")))
    }
    #expect(decoder.table.count == 1)
  }

  @Test("a table size update evicts the oldest entries, and a field larger than the table empties it")
  func eviction() throws {
    var table = HeaderFieldTable(limit: 100)
    table.insert(name: "a", value: "1")  // 34 bytes
    table.insert(name: "b", value: "2")
    table.insert(name: "c", value: "3")  // 102 > 100: "a" goes
    #expect(table.count == 2 && table[2]! == ("b", "2"))
    try table.resize(to: 40)
    #expect(table.count == 1 && table[1]! == ("c", "3"))
    table.insert(name: String(repeating: "x", count: 20), value: "")
    #expect(table.count == 0 && table.size == 0)
    #expect(throws: HPACKError.tableSizeUpdateAboveLimit(101, limit: 100)) { try table.resize(to: 101) }
  }
}
