public import WarrenPrimitives

/// Why the cluster cannot be used as asked: a `--cluster` URL that cannot be used, or a
/// notification on the bus's channel that is not a frame (the message says which part, and why).
public typealias ClusterError = WarrenError<ClusterErrorCodes>

/// The codes of ``ClusterError``.
public enum ClusterErrorCodes {}

extension ErrorCode where Domain == ClusterErrorCodes {
  /// Not a usable `postgres://` URL.
  public static var invalidURL: Self { Self("invalid cluster URL") }
  /// Not a frame of this version.
  public static var malformedFrame: Self { Self("malformed cluster bus frame") }
  /// A send on the bus did not finish in time; its connection was given up.
  public static var sendTimedOut: Self { Self("cluster bus send timed out") }
}
