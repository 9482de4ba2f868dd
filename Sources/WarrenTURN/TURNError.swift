public import WarrenPrimitives

/// Why bytes from a TURN server could not be used: a code to match on and a message naming the
/// problem (the same shape as every Warren error).
public struct TURNError: CodedError, Hashable {
  public typealias Code = ErrorCode<TURNError>

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }
}

extension ErrorCode where Domain == TURNError {
  /// Not a well-formed TURN message or ChannelData frame (RFC 8656 §12).
  public static var malformed: Self { Self("malformed TURN message") }
}
