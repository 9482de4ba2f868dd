import Testing
@testable import WarrenCrypto

@Suite("Poly1305")
struct Poly1305Tests {
  @Test("RFC 8439 section 2.5.2 example")
  func rfc8439() {
    let key = [UInt8](hex: "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    let message = Array("Cryptographic Forum Research Group".utf8)
    var tag = [UInt8](repeating: 0, count: 16)
    message.withUnsafeBytes { message in
      key.withUnsafeBytes { key in
        tag.withUnsafeMutableBytes { Poly1305.authenticate(message, key: key).store(into: $0) }
      }
    }
    #expect(tag.hex == "a8061dc1305136c6c22b8baf0c0127a9")
  }

  @Test("an accumulator that ends at or above 2^130 - 5 is fully reduced")
  func finalReduction() {
    // r = 2 (clamped value stays 2), s = 0; one chunk of all ones with the 2^128 bit:
    // h = (2^129 - 1) * 2 = 2^130 - 2 ≡ 3 (mod 2^130 - 5), so the tag is 3.
    var key = [UInt8](repeating: 0, count: 32)
    key[0] = 2
    let message = [UInt8](repeating: 0xff, count: 16)
    var tag = [UInt8](repeating: 0, count: 16)
    message.withUnsafeBytes { message in
      key.withUnsafeBytes { key in
        tag.withUnsafeMutableBytes { Poly1305.authenticate(message, key: key).store(into: $0) }
      }
    }
    #expect(tag == [3] + [UInt8](repeating: 0, count: 15))
  }

  @Test("tags compare in full")
  func tagComparison() {
    let tag = Poly1305.Tag(lo: 0x0123_4567_89ab_cdef, hi: 0xfedc_ba98_7654_3210)
    #expect(tag.constantTimeEquals(tag))
    for bit in 0..<64 {
      #expect(!tag.constantTimeEquals(Poly1305.Tag(lo: tag.lo ^ (1 << bit), hi: tag.hi)))
      #expect(!tag.constantTimeEquals(Poly1305.Tag(lo: tag.lo, hi: tag.hi ^ (1 << bit))))
    }
  }
}
