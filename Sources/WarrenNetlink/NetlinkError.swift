public import WarrenPrimitives

/// A netlink datagram that does not parse, or a socket that cannot be opened.
public typealias NetlinkError = WarrenError<NetlinkErrorCodes>

/// The codes of ``NetlinkError``.
public enum NetlinkErrorCodes {}

extension ErrorCode where Domain == NetlinkErrorCodes {
  /// A length or an attribute runs past the end of the datagram.
  public static var malformed: Self { Self("malformed") }
  /// The kernel refused a request (no such interface, no permission), or the interface is gone.
  public static var refused: Self { Self("refused") }
  /// The rtnetlink socket cannot be opened or bound.
  public static var unavailable: Self { Self("unavailable") }
}
