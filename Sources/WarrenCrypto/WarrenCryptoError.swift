public import WarrenPrimitives

/// The error every WarrenCrypto operation throws: a code to match on, and a message that names what
/// was wrong and with which value, where that value is safe to show.
public typealias WarrenCryptoError = WarrenError<WarrenCryptoErrorCodes>

/// The codes of ``WarrenCryptoError``.
public enum WarrenCryptoErrorCodes {}

extension ErrorCode where Domain == WarrenCryptoErrorCodes {
  /// A key is not exactly 32 bytes.
  public static var invalidKeyLength: Self { Self("invalid key length") }
  /// A key's text is not 44 characters of canonical, padded standard base64.
  public static var invalidKeyEncoding: Self { Self("invalid key encoding") }
  /// X25519 produced the all-zero shared secret: the public key is a low-order point.
  public static var invalidPublicKey: Self { Self("invalid public key") }
  /// An envelope's recipient is not the key it is being opened with.
  public static var recipientMismatch: Self { Self("recipient mismatch") }
  /// An envelope's nonce is not 24 bytes.
  public static var invalidNonceLength: Self { Self("invalid nonce length") }
  /// A box is shorter than its tag, or the Poly1305 tag does not verify.
  public static var authenticationFailed: Self { Self("authentication failed") }
  /// The box opened, but its plaintext is not a protobuf `Message`.
  public static var undecodablePlaintext: Self { Self("undecodable plaintext") }
  /// A proof of key possession has the wrong length, version or purpose.
  public static var malformedProof: Self { Self("malformed proof") }
}
