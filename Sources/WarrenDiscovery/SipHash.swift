/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), with the 64-bit
/// output of the paper and the 128-bit output of its reference implementation (`v1 ^= 0xee` at
/// the start, `v2 ^= 0xee` then `v1 ^= 0xdd` for the second word at the end). Here for
/// ``KeyDerivedAddress`` only: cunicu derives an interface's addresses from its key with the
/// 128-bit form. Not a secret-keeping primitive; the key is a public constant there.
public struct SipHash24: Sendable {
  private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
  private let wide: Bool

  /// A 16-byte key, its two halves little-endian; `wide`: the 128-bit output.
  private init(key: [UInt8], wide: Bool) {
    precondition(key.count == 16, "a SipHash key is 16 bytes")
    let k0 = Self.littleEndian(key[0..<8]), k1 = Self.littleEndian(key[8..<16])
    v0 = k0 ^ 0x736f_6d65_7073_6575
    v1 = k1 ^ 0x646f_7261_6e64_6f6d
    v2 = k0 ^ 0x6c79_6765_6e65_7261
    v3 = k1 ^ 0x7465_6462_7974_6573
    self.wide = wide
    if wide { v1 ^= 0xee }
  }

  /// The 64-bit tag of `message` under `key` (16 bytes).
  public static func hash64(key: [UInt8], _ message: some Collection<UInt8>) -> UInt64 {
    var state = SipHash24(key: key, wide: false)
    state.absorb(Array(message))
    return state.finish()[0]
  }

  /// The 128-bit tag of `message` under `key` (16 bytes), as 16 bytes: each 64-bit word
  /// little-endian, the first word first (the reference implementation's byte order).
  public static func hash128(key: [UInt8], _ message: some Collection<UInt8>) -> [UInt8] {
    var state = SipHash24(key: key, wide: true)
    state.absorb(Array(message))
    return state.finish().flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
  }

  private mutating func absorb(_ message: [UInt8]) {
    let whole = message.count / 8 * 8
    for start in stride(from: 0, to: whole, by: 8) { compress(Self.littleEndian(message[start..<start + 8])) }
    // The last block: the remaining bytes, and the length (mod 256) in the top byte.
    compress(Self.littleEndian(message[whole...]) | UInt64(UInt8(truncatingIfNeeded: message.count)) << 56)
  }

  private mutating func compress(_ block: UInt64) {
    v3 ^= block
    round()
    round()
    v0 ^= block
  }

  private mutating func finish() -> [UInt64] {
    v2 ^= wide ? 0xee : 0xff
    for _ in 0..<4 { round() }
    let first = v0 ^ v1 ^ v2 ^ v3
    guard wide else { return [first] }
    v1 ^= 0xdd
    for _ in 0..<4 { round() }
    return [first, v0 ^ v1 ^ v2 ^ v3]
  }

  private mutating func round() {
    v0 &+= v1; v1 = v1.rotated(13); v1 ^= v0; v0 = v0.rotated(32)
    v2 &+= v3; v3 = v3.rotated(16); v3 ^= v2
    v0 &+= v3; v3 = v3.rotated(21); v3 ^= v0
    v2 &+= v1; v1 = v1.rotated(17); v1 ^= v2; v2 = v2.rotated(32)
  }

  /// Up to 8 bytes, the first the least significant.
  private static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << ($1.offset * 8) }
  }
}

extension UInt64 {
  fileprivate func rotated(_ bits: Int) -> UInt64 { self << bits | self >> (64 - bits) }
}
