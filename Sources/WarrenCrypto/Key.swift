public import WarrenPrimitives

/// A Curve25519 key exactly as WireGuard uses it: 32 bytes, written as 44 characters of padded
/// standard base64 (`wg genkey`, `wg pubkey`).
///
/// A `Key` is just bytes; whether it is a private or a public key is up to the holder. ``PrivateKey``
/// pairs a private key with its derived public key.
public struct Key: Hashable, Sendable, Comparable {
  /// The number of bytes in a key.
  public static let byteCount = 32
  /// The number of characters in a key's base64 text.
  public static let base64Count = 44

  // Four words, so that a key is stored inline, hashes and compares quickly, and never allocates.
  private var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

  /// Wraps exactly 32 bytes.
  public init<Bytes: Collection<UInt8>>(bytes: Bytes) throws(WarrenCryptoError) {
    guard bytes.count == Key.byteCount else {
      throw WarrenCryptoError(.invalidKeyLength, "a key is \(Key.byteCount) bytes, got \(bytes.count)")
    }
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    withUnsafeMutableBytes(of: &words) { raw in
      for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    (w0, w1, w2, w3) = words
  }

  /// Parses the 44-character base64 form. The padding `=` is required and the unused low bits of
  /// the last digit must be zero, as `wg` requires, so that every key has exactly one text form.
  ///
  /// Decoding runs in constant time for valid input (no branches or table lookups on the digits),
  /// since the text may be a private key.
  public init(base64 text: some StringProtocol) throws(WarrenCryptoError) {
    let utf8 = Array(text.utf8)
    guard utf8.count == Key.base64Count else {
      throw WarrenCryptoError(
        .invalidKeyEncoding,
        "a key is \(Key.base64Count) base64 characters, got \(utf8.count)")
    }
    guard utf8[43] == UInt8(ascii: "=") else {
      throw WarrenCryptoError(.invalidKeyEncoding, "a key's base64 text must end in '='")
    }
    var bytes = [UInt8](repeating: 0, count: Key.byteCount)
    var invalid: Int32 = 0
    var paddingBits: Int32 = 0
    // Ten groups of four digits make 30 bytes; the last three digits make two bytes and two zero bits.
    for group in 0..<11 {
      var value: Int32 = 0
      for digit in 0..<4 {
        let index = group * 4 + digit
        let sextet = index < 43 ? Base64Digit.decode(utf8[index]) : 0
        invalid |= sextet >> 31
        value = (value << 6) | (sextet & 63)
      }
      if group < 10 {
        bytes[group * 3] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[group * 3 + 1] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[group * 3 + 2] = UInt8(truncatingIfNeeded: value)
      } else {
        bytes[30] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[31] = UInt8(truncatingIfNeeded: value >> 8)
        paddingBits = value & 0xff
      }
    }
    // Only invalid input branches from here on; the position scan may take its time.
    if invalid != 0 {
      let position = utf8.prefix(43).firstIndex { Base64Digit.decode($0) < 0 } ?? 0
      throw WarrenCryptoError(
        .invalidKeyEncoding,
        "character \(position + 1) of the key is not standard base64: \(Key.printable(utf8[position]))")
    }
    if paddingBits != 0 {
      throw WarrenCryptoError(
        .invalidKeyEncoding, "the key's last base64 digit has non-zero padding bits")
    }
    try self.init(bytes: bytes)
  }

  /// The 32 bytes.
  public var bytes: [UInt8] {
    withUnsafeBytes { Array($0) }
  }

  /// Calls `body` with the 32 bytes, without copying them.
  public func withUnsafeBytes<R, E>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    var words = (w0, w1, w2, w3)
    return try Swift.withUnsafeBytes(of: &words) { (raw) throws(E) -> R in try body(raw) }
  }

  /// The 44-character padded base64 form, computed in constant time.
  public var base64: String {
    withUnsafeBytes { raw in
      var text = [UInt8]()
      text.reserveCapacity(Key.base64Count)
      for group in 0..<11 {
        let b0 = Int32(raw[group * 3])
        let b1 = Int32(raw[group * 3 + 1])
        let b2 = group < 10 ? Int32(raw[group * 3 + 2]) : 0
        let value = b0 << 16 | b1 << 8 | b2
        text.append(Base64Digit.encode((value >> 18) & 63))
        text.append(Base64Digit.encode((value >> 12) & 63))
        text.append(Base64Digit.encode((value >> 6) & 63))
        text.append(group < 10 ? Base64Digit.encode(value & 63) : UInt8(ascii: "="))
      }
      return String(decoding: text, as: UTF8.self)
    }
  }

  /// Whether these bytes are a canonical X25519 public key: a little-endian u-coordinate below
  /// 2²⁵⁵ − 19 (RFC 7748 section 5). X25519 ignores bit 255, so without this check a key with that
  /// bit flipped would stand for the same peer; no public key that X25519 computes has it set.
  public var isCanonicalPublicKey: Bool {
    withUnsafeBytes { raw in
      guard raw[31] & 0x80 == 0 else { return false }
      // The 19 values 2²⁵⁵ − 19 … 2²⁵⁵ − 1: 0x7f ff … ff then a low byte of 0xed … 0xff.
      guard raw[31] == 0x7f, raw[0] >= 0xed else { return true }
      for index in 1..<31 where raw[index] != 0xff { return true }
      return false
    }
  }

  /// Orders keys by their raw bytes, lexicographically: the smaller public key is the controlling
  /// ICE agent (session.md, "Roles").
  public static func < (lhs: Key, rhs: Key) -> Bool {
    lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in l.lexicographicallyPrecedes(r) } }
  }

  private static func printable(_ c: UInt8) -> String {
    (0x21...0x7e).contains(c) ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
  }
}

extension Key: CustomStringConvertible, LosslessStringConvertible {
  /// The base64 form, as `wg` prints keys.
  public var description: String { base64 }

  public init?(_ description: String) {
    guard let key = try? Key(base64: description) else { return nil }
    self = key
  }
}

/// Standard base64 digits (RFC 4648 section 4) converted with arithmetic instead of a table, so that
/// the time taken does not depend on the (possibly secret) value.
enum Base64Digit {
  /// The character for a 6-bit value.
  @inline(__always)
  static func encode(_ value: Int32) -> UInt8 {
    // Start at 'A' and add the distance to the next range whenever `value` passes a boundary;
    // `(n - value) >> 8` is all ones exactly when value > n.
    var c = value + 65
    c += ((25 - value) >> 8) & 6  // 26...51 -> 'a'...'z'
    c -= ((51 - value) >> 8) & 75  // 52...61 -> '0'...'9'
    c -= ((61 - value) >> 8) & 15  // 62 -> '+'
    c += ((62 - value) >> 8) & 3  // 63 -> '/'
    return UInt8(truncatingIfNeeded: c)
  }

  /// The 6-bit value of a character, or -1 if it is not a standard base64 digit.
  @inline(__always)
  static func decode(_ character: UInt8) -> Int32 {
    let c = Int32(character)
    var value: Int32 = -1
    // Each term is `offset` when `low < c < high` and zero otherwise.
    value += (((64 - c) & (c - 91)) >> 8) & (c - 64)  // 'A'...'Z' -> 0...25
    value += (((96 - c) & (c - 123)) >> 8) & (c - 70)  // 'a'...'z' -> 26...51
    value += (((47 - c) & (c - 58)) >> 8) & (c + 5)  // '0'...'9' -> 52...61
    value += (((42 - c) & (c - 44)) >> 8) & 63  // '+' -> 62
    value += (((46 - c) & (c - 48)) >> 8) & 64  // '/' -> 63
    return value
  }
}
