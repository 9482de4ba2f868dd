/// Why bytes from a TURN server could not be used: a code to match on and a message naming the
/// problem (the same shape as every Warren error).
public struct TURNError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Not a well-formed TURN message or ChannelData frame (RFC 8656 §12).
    public static let malformed = Code("malformed TURN message")
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}
