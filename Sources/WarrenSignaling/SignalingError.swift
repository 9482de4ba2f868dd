/// The error signaling backends throw: a code to match on, a message naming what went wrong, and
/// the underlying errors where there are some.
public struct SignalingError: Error, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The backend was closed; nothing more can be done with it.
    public static let closed = Code("closed")
    /// A backend URL has a scheme no backend handles.
    public static let unknownScheme = Code("unknown scheme")
    /// A backend URL is malformed or has a bad parameter.
    public static let invalidURL = Code("invalid URL")
    /// A message could not be sealed (for example, a low-order peer key).
    public static let sealingFailed = Code("sealing failed")
    /// Publishing failed on one or more backends.
    public static let publishFailed = Code("publish failed")
    /// Subscribing failed on every backend.
    public static let subscribeFailed = Code("subscribe failed")
  }

  public var code: Code
  public var message: String
  /// What caused this, if anything: for a multi-backend, one error per failed backend.
  public var causes: [any Error]

  public init(_ code: Code, _ message: String, causes: [any Error] = []) {
    self.code = code
    self.message = message
    self.causes = causes
  }

  public var description: String { "\(code): \(message)" }
}
