/// Why bytes are not a usable STUN message or attribute, or text not a STUN/TURN URI. Parsing
/// never traps and never reads out of bounds: every malformed input ends here.
public struct STUNError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Not a STUN message: too short, top bits set, bad length or no magic cookie (RFC 8489 §6).
    public static let notSTUN = Code("not STUN")
    /// An attribute's header or value runs past the end of the message.
    public static let truncatedAttribute = Code("truncated attribute")
    /// An attribute's value has the wrong size or content for its type.
    public static let malformedAttribute = Code("malformed attribute")
    /// A value cannot be encoded (for example, a reason phrase that is too long).
    public static let unencodable = Code("unencodable")
    /// A STUN or TURN URI is malformed (RFC 7064, RFC 7065).
    public static let invalidURI = Code("invalid URI")
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}
