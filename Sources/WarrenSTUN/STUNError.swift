public import WarrenPrimitives

/// Why bytes are not a usable STUN message or attribute, or text not a STUN/TURN URI. Parsing
/// never traps and never reads out of bounds: every malformed input ends here.
public typealias STUNError = WarrenError<STUNErrorCodes>

/// The codes of ``STUNError``.
public enum STUNErrorCodes {}

extension ErrorCode where Domain == STUNErrorCodes {
  /// Not a STUN message: too short, top bits set, bad length or no magic cookie (RFC 8489 §6).
  public static var notSTUN: Self { Self("not STUN") }
  /// An attribute's header or value runs past the end of the message.
  public static var truncatedAttribute: Self { Self("truncated attribute") }
  /// An attribute's value has the wrong size or content for its type.
  public static var malformedAttribute: Self { Self("malformed attribute") }
  /// A value cannot be encoded (for example, a reason phrase that is too long).
  public static var unencodable: Self { Self("unencodable") }
  /// A STUN or TURN URI is malformed (RFC 7064, RFC 7065).
  public static var invalidURI: Self { Self("invalid URI") }
}
