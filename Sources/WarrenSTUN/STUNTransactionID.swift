/// The 96-bit transaction id of a STUN message (RFC 8489 §6), chosen uniformly at random by the
/// requester: the caller supplies the randomness.
public struct STUNTransactionID: Hashable, Sendable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init?(bytes: some Collection<UInt8>) {
    guard bytes.count == 12 else { return nil }
    self.bytes = Array(bytes)
  }

  /// Twelve bytes from `random`.
  public static func random(using random: inout some RandomNumberGenerator) -> STUNTransactionID {
    STUNTransactionID(bytes: (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &random) })!
  }

  public var description: String { bytes.map { String(format2: $0) }.joined() }
}

extension String {
  /// Two lowercase hex digits.
  init(format2 byte: UInt8) {
    let digits = Array("0123456789abcdef")
    self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
  }
}
