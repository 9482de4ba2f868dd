public import WarrenPrimitives

/// Why Argon2id gave no hash.
public struct Argon2Error: CodedError, Hashable {
  public typealias Code = ErrorCode<Argon2Error>
  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }
}

extension ErrorCode where Domain == Argon2Error {
  /// libargon2 is not installed (or is not the reference implementation).
  public static var unavailable: Self { Self("argon2 unavailable") }
  /// The library refused the parameters or ran out of memory.
  public static var failed: Self { Self("argon2 failed") }
}
