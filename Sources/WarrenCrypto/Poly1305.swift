/// Poly1305, the one-time authenticator (D. J. Bernstein, "The Poly1305-AES message-authentication
/// code", 2005; the same function as RFC 8439 section 2.5), written from the definition:
///
///     tag = ((c₁·rᵠ + c₂·rᵠ⁻¹ + … + c_q·r) mod (2¹³⁰ − 5) + s) mod 2¹²⁸
///
/// where each cᵢ is a 16-byte chunk read little-endian with a 1 bit appended above its last byte,
/// and r (clamped) and s are the two halves of the one-time key.
///
/// The accumulator is held in five 26-bit limbs so that every limb product fits in 64 bits; the
/// final reduction selects with masks. No branch or memory access depends on the key or the data.
struct Poly1305 {
  private static let mask26: UInt64 = 0x3ff_ffff

  // r in 26-bit limbs, and 5·r₁…5·r₄ for the wrap-around terms (2¹³⁰ ≡ 5).
  private let r0, r1, r2, r3, r4: UInt64
  private let s1, s2, s3, s4: UInt64
  // s, the second key half, as two little-endian 64-bit words.
  private let pad0, pad1: UInt64
  // The accumulator h.
  private var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0, h4: UInt64 = 0

  /// Prepares for a message under a 32-byte one-time key (r ‖ s).
  init(key: UnsafeRawBufferPointer) {
    precondition(key.count == 32, "a Poly1305 key is 32 bytes")
    // Clamp r: clear the top four bits of bytes 3, 7, 11, 15 and the low two bits of 4, 8, 12.
    let lo = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) & 0x0fff_fffc_0fff_ffff
    let hi = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) & 0x0fff_fffc_0fff_fffc
    r0 = lo & Poly1305.mask26
    r1 = (lo >> 26) & Poly1305.mask26
    r2 = ((lo >> 52) | (hi << 12)) & Poly1305.mask26
    r3 = (hi >> 14) & Poly1305.mask26
    r4 = hi >> 40
    (s1, s2, s3, s4) = (r1 * 5, r2 * 5, r3 * 5, r4 * 5)
    pad0 = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
    pad1 = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
  }

  /// The tag of `message` under `key`, in one call.
  static func authenticate(_ message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Tag {
    var poly = Poly1305(key: key)
    poly.absorb(message)
    return poly.finalize()
  }

  /// A 16-byte tag as two little-endian words.
  struct Tag: Sendable {
    var lo: UInt64, hi: UInt64

    init(lo: UInt64, hi: UInt64) { (self.lo, self.hi) = (lo, hi) }

    init(_ bytes: UnsafeRawBufferPointer) {
      precondition(bytes.count == 16)
      lo = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
      hi = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    func store(into bytes: UnsafeMutableRawBufferPointer) {
      bytes.storeBytes(of: lo.littleEndian, toByteOffset: 0, as: UInt64.self)
      bytes.storeBytes(of: hi.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Compares in constant time: every bit is looked at, whatever differs.
    func constantTimeEquals(_ other: Tag) -> Bool {
      let difference = (lo ^ other.lo) | (hi ^ other.hi)
      // Fold to one bit without a data-dependent branch; only the final answer is public.
      return ((difference | (0 &- difference)) >> 63) == 0
    }
  }

  /// Absorbs a whole message: every full 16-byte chunk, then the padded tail. Call once.
  mutating func absorb(_ message: UnsafeRawBufferPointer) {
    var offset = 0
    let full = message.count & ~15
    while offset < full {
      let lo = UInt64(littleEndian: message.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
      let hi = UInt64(littleEndian: message.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
      chunk(lo: lo, hi: hi, topBit: 1 << 24)
      offset += 16
    }
    if offset < message.count {
      // The tail, followed by a single 1 byte and zeros; no bit above 2¹²⁸.
      var padded: (UInt64, UInt64) = (0, 0)
      withUnsafeMutableBytes(of: &padded) { raw in
        let tail = message.count - offset
        for index in 0..<tail { raw[index] = message[offset + index] }
        raw[tail] = 1
      }
      chunk(lo: UInt64(littleEndian: padded.0), hi: UInt64(littleEndian: padded.1), topBit: 0)
    }
  }

  /// h = (h + c) · r, partially reduced mod 2¹³⁰ − 5.
  @inline(__always)
  private mutating func chunk(lo: UInt64, hi: UInt64, topBit: UInt64) {
    let m = Poly1305.mask26
    h0 &+= lo & m
    h1 &+= (lo >> 26) & m
    h2 &+= ((lo >> 52) | (hi << 12)) & m
    h3 &+= (hi >> 14) & m
    h4 &+= (hi >> 40) | topBit

    // Schoolbook product; limbs that pass 2¹³⁰ come back multiplied by 5 (the s terms).
    let d0 = h0 &* r0 &+ h1 &* s4 &+ h2 &* s3 &+ h3 &* s2 &+ h4 &* s1
    var d1 = h0 &* r1 &+ h1 &* r0 &+ h2 &* s4 &+ h3 &* s3 &+ h4 &* s2
    var d2 = h0 &* r2 &+ h1 &* r1 &+ h2 &* r0 &+ h3 &* s4 &+ h4 &* s3
    var d3 = h0 &* r3 &+ h1 &* r2 &+ h2 &* r1 &+ h3 &* r0 &+ h4 &* s4
    var d4 = h0 &* r4 &+ h1 &* r3 &+ h2 &* r2 &+ h3 &* r1 &+ h4 &* r0

    // Carry back into 26-bit limbs (h4 may keep a few extra bits until the next round).
    d1 &+= d0 >> 26; h0 = d0 & m
    d2 &+= d1 >> 26; h1 = d1 & m
    d3 &+= d2 >> 26; h2 = d2 & m
    d4 &+= d3 >> 26; h3 = d3 & m
    h0 &+= (d4 >> 26) &* 5; h4 = d4 & m
    h1 &+= h0 >> 26; h0 &= m
  }

  /// The tag: h fully reduced mod 2¹³⁰ − 5, plus s, mod 2¹²⁸.
  func finalize() -> Tag {
    let m = Poly1305.mask26
    var (h0, h1, h2, h3, h4) = (self.h0, self.h1, self.h2, self.h3, self.h4)
    // Full carry, with the wrap of h4 folded back in once more.
    h2 &+= h1 >> 26; h1 &= m
    h3 &+= h2 >> 26; h2 &= m
    h4 &+= h3 >> 26; h3 &= m
    h0 &+= (h4 >> 26) &* 5; h4 &= m
    h1 &+= h0 >> 26; h0 &= m

    // g = h + 5 − 2¹³⁰; if that did not borrow, h ≥ p and g is the reduced value.
    var g0 = h0 &+ 5
    var g1 = h1 &+ (g0 >> 26); g0 &= m
    var g2 = h2 &+ (g1 >> 26); g1 &= m
    var g3 = h3 &+ (g2 >> 26); g2 &= m
    let g4 = h4 &+ (g3 >> 26) &- (1 << 26); g3 &= m
    // All ones when g4 did not go negative (select g), else zero (keep h).
    let selectG = (g4 >> 63) &- 1
    h0 = (h0 & ~selectG) | (g0 & selectG)
    h1 = (h1 & ~selectG) | (g1 & selectG)
    h2 = (h2 & ~selectG) | (g2 & selectG)
    h3 = (h3 & ~selectG) | (g3 & selectG)
    h4 = (h4 & ~selectG) | (g4 & selectG & m)

    // h mod 2¹²⁸ as two words, plus s with carry.
    let w0 = h0 | (h1 << 26) | (h2 << 52)
    let w1 = (h2 >> 12) | (h3 << 14) | (h4 << 40)
    let lo = w0 &+ pad0
    let carry = ((w0 & pad0) | ((w0 | pad0) & ~lo)) >> 63  // the carry out of bit 63, without a branch
    let hi = w1 &+ pad1 &+ carry
    return Tag(lo: lo, hi: hi)
  }
}
