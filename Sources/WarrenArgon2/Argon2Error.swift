public import WarrenPrimitives

/// Why Argon2id gave no hash.
public typealias Argon2Error = WarrenError<Argon2ErrorCodes>

/// The codes of ``Argon2Error``.
public enum Argon2ErrorCodes {}

extension ErrorCode where Domain == Argon2ErrorCodes {
  /// libargon2 is not installed (or is not the reference implementation).
  public static var unavailable: Self { Self("argon2 unavailable") }
  /// The library refused the parameters or ran out of memory.
  public static var failed: Self { Self("argon2 failed") }
}
