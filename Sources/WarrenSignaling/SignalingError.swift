public import WarrenPrimitives

/// The error signaling backends throw: a code to match on, a message naming what went wrong, and
/// the underlying errors where there are some.
public struct SignalingError: CodedError {
  public typealias Code = ErrorCode<SignalingError>

  public var code: Code
  public var message: String
  /// What caused this, if anything: for a multi-backend, one error per failed backend.
  public var causes: [any Error]

  public init(_ code: Code, _ message: String, causes: [any Error] = []) {
    self.code = code
    self.message = message
    self.causes = causes
  }
}

extension ErrorCode where Domain == SignalingError {
  /// The backend was closed; nothing more can be done with it.
  public static var closed: Self { Self("closed") }
  /// A backend URL has a scheme no backend handles.
  public static var unknownScheme: Self { Self("unknown scheme") }
  /// A backend URL is malformed or has a bad parameter.
  public static var invalidURL: Self { Self("invalid URL") }
  /// A message could not be sealed (for example, a low-order peer key).
  public static var sealingFailed: Self { Self("sealing failed") }
  /// Publishing failed on one or more backends.
  public static var publishFailed: Self { Self("publish failed") }
  /// Subscribing failed on every backend.
  public static var subscribeFailed: Self { Self("subscribe failed") }
  /// A backend's connection cannot be set up at all (TLS without trust roots, for example).
  public static var connectionSetupFailed: Self { Self("connection setup failed") }
}
