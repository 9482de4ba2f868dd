public import WarrenPrimitives

/// Why bytes from a TURN server could not be used: a code to match on and a message naming the
/// problem (the same shape as every Warren error).
public typealias TURNError = WarrenError<TURNErrorCodes>

/// The codes of ``TURNError``.
public enum TURNErrorCodes {}

extension ErrorCode where Domain == TURNErrorCodes {
  /// Not a well-formed TURN message or ChannelData frame (RFC 8656 §12).
  public static var malformed: Self { Self("malformed TURN message") }
}
